using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Observe.Storage.Tsdb;

/// <summary>
/// A clean stop seals the head (issue 21: restart to first /render): at SIGTERM, once the last flush is stored, every head
/// row is compacted into chunks (a forced compaction), so the next open replays nothing. The head rows stay the truth until
/// that compaction's last transaction deletes them: a seal cut short (its budget, or a SIGKILL during it) leaves chunks whose
/// points are still in head rows, and the next open replays those rows and seals them again with the same values (as after
/// a crash during any compaction). Without a clean stop, what the next open replays is what came after the last periodic
/// compaction (<c>storage.compactionIntervalSeconds</c>).
/// </summary>
internal sealed partial class TimeSeriesStore
{
    /// <summary>How long a clean stop may spend sealing the head (systemd's TimeoutStopSec is 30 s; the last flush comes first).</summary>
    internal static readonly TimeSpan ShutdownSealBudget = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Seals every head row into chunks within <paramref name="budget"/>; true when the head is empty afterwards. Beyond the
    /// budget the compaction is left to be stopped by <see cref="Dispose"/> (it stops at its next group; the head rows stay).
    /// Call only once nothing writes any more (the host's stages have stopped).
    /// </summary>
    public bool SealForShutdown(TimeSpan budget)
    {
        int rows, points;
        lock (_gate)
        {
            if (_disposed) return false;
            rows = _headRows.Count;
            points = 0;
            foreach (var s in _touched) points += s.HeadCount + (s.Backfill?.Count ?? 0);
        }
        if (rows == 0) return true;
        var watch = Stopwatch.StartNew();
        var seal = Task.Factory.StartNew(() => Compact(force: true), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            if (!seal.Wait(budget))
            {
                // Observed when it ends (ObjectDisposedException once the store is closed), so it is not reported as unobserved.
                _ = seal.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
                _log.LogWarning("tsdb: sealing the head at shutdown ({Points} points in {Rows} head rows) did not finish within {Budget:F0} s: the next open replays them",
                    points, rows, budget.TotalSeconds);
                return false;
            }
        }
        catch (AggregateException e)
        {
            _log.LogError("tsdb: sealing the head at shutdown failed ({Error}): the next open replays {Rows} head rows", e.InnerException?.Message, rows);
            return false;
        }
        _log.LogInformation("tsdb: sealed the head at shutdown: {Points} points of {Rows} head rows in {Ms:F0} ms (the next open replays none)",
            points, rows, watch.Elapsed.TotalMilliseconds);
        lock (_gate) return _headRows.Count == 0;
    }
}
