namespace Observe.Storage.Tsdb;

/// <summary>
/// Giving free pages back (issue 21): compaction deletes sealed head rows and retention deletes expired chunks; SQLite
/// reuses their pages for new rows but never shrinks the file, so a backlog (a head of millions of points) left a file
/// that was mostly free pages. Databases created since format 3 use <c>auto_vacuum=INCREMENTAL</c>; after each
/// compaction and retention pass the free pages beyond a reserve (what the next flushes will reuse) are released, a
/// bounded number per pass. Older files (auto_vacuum NONE, which only a full VACUUM can change) keep working and keep
/// reusing their free pages; they just do not shrink.
/// </summary>
internal sealed partial class TimeSeriesStore
{
    /// <summary>Pages one pass releases at most (64 MB at 16 KiB pages): the work a pass adds to the WAL is bounded.</summary>
    internal const int MaxVacuumPagesPerPass = 4096;

    private bool _incrementalVacuum;
    private long _pagesReclaimed;

    /// <summary>Free pages given back to the file system by incremental vacuum since open.</summary>
    public long PagesReclaimed => Interlocked.Read(ref _pagesReclaimed);

    /// <summary>Pages released per hold of the store lock (8 MB at 16 KiB pages): moving pages is slow under load, flushes go between.</summary>
    internal const int VacuumPagesPerHold = 512;

    /// <summary>Releases free pages beyond a reserve of 1/16 of the pages in use (reused by the next flushes), a few hundred per hold of the lock.</summary>
    private void ReclaimFreePages(CompactionTimes times)
    {
        if (!_incrementalVacuum) return;
        long release = 0;
        // Commands are created and disposed under the lock: the connection keeps a list of them.
        HoldLock(times, CompactionPhase.Reclaim, () =>
        {
            using var c = _conn.CreateCommand();
            c.CommandText = "PRAGMA freelist_count";
            long free = (long)c.ExecuteScalar()!;
            c.CommandText = "PRAGMA page_count";
            long pages = (long)c.ExecuteScalar()!;
            release = Math.Min(free - (pages - free) / 16, MaxVacuumPagesPerPass);
        });
        while (release > 0)
        {
            long step = Math.Min(release, VacuumPagesPerHold);
            HoldLock(times, CompactionPhase.Reclaim, () =>
            {
                using var c = _conn.CreateCommand();
                // The pragma frees one page per step of its statement: read it to the end, or only the first page goes.
                c.CommandText = $"PRAGMA incremental_vacuum({step})";
                using var r = c.ExecuteReader();
                while (r.Read()) { }
            });
            Interlocked.Add(ref _pagesReclaimed, step);
            release -= step;
        }
    }
}
