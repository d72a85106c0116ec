using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Observe.Storage.Tsdb;

/// <summary>
/// A clean stop checkpoints the head (issue 21: restart to first /render): at SIGTERM, once the last flush is stored, the head's
/// points are written in one blob (TimeSeriesStoreCheckpoint.cs) and the next open loads them instead of replaying the head
/// rows. It replaced sealing the head into chunks at shutdown, which costs per series (each one's tail chunks read, merged and
/// rewritten): 1.2 M head points over 100 000 series did not seal within 15 s at load 43–64, while the checkpoint of that head
/// is one sequential write (docs/benchmarks.md "Head checkpoint"). The head rows stay the truth: a checkpoint that fails or is
/// cut by a SIGKILL leaves the previous one (still right row by row) or none, and the next open replays the rows.
/// </summary>
internal sealed partial class TimeSeriesStore
{
    /// <summary>Writes the head checkpoint and logs what it cost; false when it failed (the next open replays the head rows). Call once nothing writes any more.</summary>
    public bool CheckpointForShutdown()
    {
        var watch = Stopwatch.StartNew();
        // The background check of every chunk after open (a stop soon after a start finds it running) stops now rather than
        // share the CPU with the checkpoint; the next open checks again.
        _stopValidating = true;
        try
        {
            var (rows, points, bytes) = WriteHeadCheckpoint();
            if (rows > 0)
                _log.LogInformation("tsdb: wrote the head checkpoint at shutdown: {Points} points of {Rows} head rows, {Bytes} bytes, in {Ms:F0} ms (the next open loads it instead of replaying them)",
                    points, rows, bytes, watch.Elapsed.TotalMilliseconds);
            return true;
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or InvalidOperationException)
        {
            _log.LogError("tsdb: writing the head checkpoint at shutdown failed ({Error}): the next open replays the head rows", e.Message);
            return false;
        }
    }
}
