using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Observe.Storage.Tsdb;

/// <summary>
/// Compaction's last step, once every sealed point is in a committed chunk: delete the sealed head rows, release the sealed
/// points from each series' head, apply retention and give free pages back. Issue 21: done in one hold of the store
/// lock, this stalled a flush for 44–59 s after the first compaction of 1.6 M new series; each part now takes the lock
/// in groups, letting a waiting flush in between (<see cref="YieldToWriters"/>), as the seal does.
/// </summary>
internal sealed partial class TimeSeriesStore
{
    /// <summary>A hold of the store lock longer than this is logged (a flush waiting that long, or compaction holding it).</summary>
    internal static readonly TimeSpan SlowLockHold = TimeSpan.FromSeconds(1);

    /// <summary>Series whose sealed points are released per hold of the store lock (≈ 10–50 ms at 8 points each).</summary>
    internal int ReleaseGroup { get; set; } = 50_000;

    /// <summary>Series whose expired chunks one retention <c>DELETE</c> looks at (a range of chunk row ids: series-major).</summary>
    internal int RetentionGroup { get; set; } = 50_000;

    /// <summary>Test seam: called after each group of the release, without the store lock, with the group's number.</summary>
    internal Action<int>? ReleaseGroupDone { get; set; }

    private void ReleaseSealed(SeriesState[] work, SealedRows sealedRows, long now, CompactionTimes times)
    {
        HoldLock(times, CompactionPhase.Delete, () =>
        {
            using (var tx = _conn.BeginTransaction())
            using (var del = _conn.CreateCommand())
            {
                del.Transaction = tx;
                del.CommandText = "DELETE FROM head WHERE seq = $s";
                var p = del.Parameters.Add(new SqliteParameter("$s", 0L));
                foreach (int slot in sealedRows.Slots) { p.Value = _headRows.SeqOf(slot); del.ExecuteNonQuery(); }
                tx.Commit();
            }
            // The rows are gone from the file; their slots stay taken until every series has let go of their points.
            _headRows.Deleted(sealedRows);
        });
        for (int g = 0, group = 0; g < work.Length; g += ReleaseGroup, group++)
        {
            // Between groups a series not yet released still holds points that are also in chunks (same values): reads
            // are unchanged by which one they take.
            int from = g;
            HoldLock(times, CompactionPhase.Release, () =>
            {
                foreach (var s in work.AsSpan(from, Math.Min(ReleaseGroup, work.Length - from))) ReleaseHead(s, sealedRows);
            });
            ReleaseGroupDone?.Invoke(group);
        }
        lock (_gate) _headRows.Free(sealedRows);
        // Last, so that a failing retention pass cannot leave released rows' slots taken.
        ApplyRetention(now, times);
    }

    /// <summary>
    /// One hold of the store lock by compaction's last step: a waiting flush goes first (<see cref="YieldToWriters"/>), the
    /// hold is timed for the compaction's log line.
    /// </summary>
    private void HoldLock(CompactionTimes times, CompactionPhase phase, Action body)
    {
        YieldToWriters();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            long held = Stopwatch.GetTimestamp();
            body();
            times.Held(phase, held);
        }
    }

    /// <summary>
    /// Retention runs at most this often (store time): its <c>DELETE</c> scans the whole chunk table (seconds at millions of
    /// chunks; in ranges of series now, each its own hold of the lock), and chunks expire on whole hours or days anyway; an
    /// expired chunk left a few minutes longer is outside every read window (a read picks the archive whose retention covers it).
    /// </summary>
    internal const long RetentionEverySeconds = 600;
    private long _lastRetention = long.MinValue;

    /// <summary>Deletes expired chunks (when due) in ranges of <see cref="RetentionGroup"/> series, then gives free pages back.</summary>
    private void ApplyRetention(long now, CompactionTimes times)
    {
        int series;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            bool due = _lastRetention == long.MinValue || now < _lastRetention || now - _lastRetention >= RetentionEverySeconds;
            series = due ? _nextId : 0;
            if (due) _lastRetention = now;
        }
        for (long lo = 0; lo < series; lo += RetentionGroup)
        {
            long first = lo;
            HoldLock(times, CompactionPhase.Retention, () =>
            {
                using var tx = _conn.BeginTransaction();
                using (var c = _conn.CreateCommand())
                {
                    c.Transaction = tx;
                    // The newest chunk of a series' archive stays until a newer one exists: sealing a rollup slot that straddles
                    // two compactions recomputes it from the finer archive, which must still hold the first part.
                    c.CommandText = $"DELETE FROM chunk WHERE id >= $lo AND id < $hi AND expires < $n AND EXISTS (SELECT 1 FROM chunk AS newer WHERE newer.id > chunk.id AND newer.id < ((chunk.id >> {ChunkNumberBits}) + 1) << {ChunkNumberBits})";
                    c.Parameters.AddWithValue("$lo", first << (ChunkNumberBits + LevelBits));
                    c.Parameters.AddWithValue("$hi", Math.Min(first + RetentionGroup, (long)int.MaxValue + 1) << (ChunkNumberBits + LevelBits));
                    c.Parameters.AddWithValue("$n", now);
                    c.ExecuteNonQuery();
                }
                tx.Commit();
            });
        }
        ReclaimFreePages(times);
    }

    internal enum CompactionPhase { Seal, Delete, Retention, Reclaim, Release }

    /// <summary>How long one compaction held the store lock, per phase (the sum and the longest hold), for its log line.</summary>
    internal sealed class CompactionTimes
    {
        private readonly long _start = Stopwatch.GetTimestamp();
        private readonly double[] _sumMs = new double[5], _maxMs = new double[5];

        /// <summary>Ends a hold that began at <paramref name="since"/> (a <see cref="Stopwatch.GetTimestamp"/>).</summary>
        public void Held(CompactionPhase phase, long since)
        {
            double ms = Stopwatch.GetElapsedTime(since).TotalMilliseconds;
            _sumMs[(int)phase] += ms;
            _maxMs[(int)phase] = Math.Max(_maxMs[(int)phase], ms);
        }

        public double LongestHoldMs => _maxMs.Max();

        /// <summary>A warning when one hold exceeded <see cref="SlowLockHold"/> (flushes waited that long), information when the compaction took over 5 s, else debug.</summary>
        public void Log(ILogger log, int rows, int series)
        {
            var level = LongestHoldMs > SlowLockHold.TotalMilliseconds ? LogLevel.Warning
                : Stopwatch.GetElapsedTime(_start) > TimeSpan.FromSeconds(5) ? LogLevel.Information : LogLevel.Debug;
            if (!log.IsEnabled(level)) return;
            log.Log(level, "tsdb: compaction of {Rows} head rows, {Series} series took {Ms:F0} ms; store lock held (sum / longest, ms): seal {SealSum:F0} / {SealMax:F0}, " +
                "delete head rows {DeleteSum:F0} / {DeleteMax:F0}, retention {RetentionSum:F0} / {RetentionMax:F0}, reclaim {ReclaimSum:F0} / {ReclaimMax:F0}, release heads {ReleaseSum:F0} / {ReleaseMax:F0}",
                rows, series, Stopwatch.GetElapsedTime(_start).TotalMilliseconds, _sumMs[0], _maxMs[0], _sumMs[1], _maxMs[1], _sumMs[2], _maxMs[2],
                _sumMs[3], _maxMs[3], _sumMs[4], _maxMs[4]);
        }
    }
}
