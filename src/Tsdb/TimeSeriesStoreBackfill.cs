namespace Observe.Storage.Tsdb;

/// <summary>
/// Back-filled points (docs/storage.md "Back-fill"): a point older than the finest archive's retention is written into
/// the finest archive that still covers it, as whisper's file_update does, instead of into the head of archive 0 (where
/// rolling it up with xFilesFactor would lose a lone point); a point older than every archive is refused and counted.
/// </summary>
internal sealed partial class TimeSeriesStore
{
    /// <summary>
    /// Puts one written point into the head: archive 0, or the archive that covers its age at <paramref name="batchTs"/>
    /// (the batch's own time, so a restart that replays head rows decides the same). False when no archive covers it, or
    /// when it lies beyond what a head point holds (<see cref="HeadPoint.Fits"/>: ± 17 000 years).
    /// </summary>
    private bool Place(SeriesState s, long batchTs, long ts, double v, int row)
    {
        var archives = s.Schema.Archives;
        if (!HeadPoint.Fits(ts)) return false;
        long age = batchTs - ts;
        if (age <= archives[0].Retention)
        {
            long slot = AlignDown(ts, archives[0].Step);
            if (!HeadPoint.Fits(slot)) return false;
            AppendHead(s, slot, v, row);
            return true;
        }
        // whisper: "Timestamp not covered by any archives in this database" when the age reaches the longest retention.
        if (age >= s.Schema.MaxRetention) return false;
        int k = 1;
        while (archives[k].Retention < age) k++;
        s.AppendBackfill(k, AlignDown(ts, archives[k].Step), v, row);
        return true;
    }

    /// <summary>Back-filled points of archive <paramref name="level"/> in [from, until) win over what is stored there (as a whisper write does).</summary>
    private static void OverlayBackfill(SeriesState s, int level, long from, long until, double?[] vals)
    {
        if (s.Backfill == null) return;
        long step = s.Schema.Archives[level].Step;
        foreach (var b in s.Backfill)
            if (b.Level == level && b.Ts >= from && b.Ts < until) vals[(b.Ts - from) / step] = b.Value;
    }

    private static bool HasSealedBackfill(SeriesState s, SealedRows sealedRows)
    {
        if (s.Backfill == null) return false;
        foreach (var b in s.Backfill) if (sealedRows.Contains(b.Row)) return true;
        return false;
    }

    /// <summary>The sealed back-filled points of one archive, ascending by slot (later writes win); null if none.</summary>
    private static (long[] Ts, double[] Vs)? SealedBackfill(SeriesState s, int level, SealedRows sealedRows)
    {
        if (s.Backfill == null) return null;
        SortedDictionary<long, double>? slots = null;
        foreach (var b in s.Backfill)
            if (b.Level == level && sealedRows.Contains(b.Row)) (slots ??= [])[b.Ts] = b.Value;
        return slots == null ? null : ([.. slots.Keys], [.. slots.Values]);
    }
}
