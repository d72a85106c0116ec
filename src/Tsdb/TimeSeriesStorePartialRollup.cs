namespace Observe.Storage.Tsdb;

/// <summary>
/// Partial rollups (docs/storage.md "Compaction"): a compaction seals head rows up to the finest archive's last complete
/// slot, so coarser slots are often still open. Whisper recomputes a coarse slot from the finer archive on every write;
/// here the next compaction does, reading the finer archive from its tail chunk (already read to be extended) plus the
/// points being sealed, outside the store lock. The head is thus released every compaction instead of holding every
/// flush since the coarsest archive's last boundary (10 minutes by default: 60 flushes per series).
/// </summary>
internal sealed partial class TimeSeriesStore
{
    /// <summary>Head rows whose newest point is older than this are sealed: the finest archive's current slot boundary.</summary>
    private long HeadCutoff(long now) => _finestStep == long.MaxValue ? now : AlignDown(now, _finestStep);

    /// <summary>
    /// True when, for every rollup slot from <paramref name="minTs"/> on that already holds sealed finer data, the finer
    /// archive's tail chunk alone holds that data (it is contiguous, starts at or before the slot and verifies).
    /// Caller holds the lock; <paramref name="blobs"/> are the tail chunks as stored.
    /// </summary>
    private static bool TailsCoverOpenSlots(SeriesState s, long minTs, byte[]?[] blobs)
    {
        var archives = s.Schema.Archives;
        for (int k = 1; k < archives.Length; k++)
        {
            long rFrom = AlignDown(minTs, archives[k].Step);
            if (rFrom > s.Arch(k - 1).SealedMax) continue;
            if (s.Arch(k - 1).Tail is not { Contiguous: true } tail || tail.MinTs > rFrom) return false;
            if (blobs[k - 1] is not { } blob || !Gorilla.TryValidate(blob, out _)) return false;
        }
        return true;
    }

    /// <summary>
    /// The finer archive's slots over [from, until): the stored tail chunk with the slots being sealed now
    /// (<paramref name="fresh"/> from <paramref name="freshFrom"/>) written over it, as the finer archive will read once
    /// this compaction commits.
    /// </summary>
    private static double?[] FromTail(TailPoints tail, long from, long until, long step, double?[] fresh, long freshFrom)
    {
        var fine = new double?[(until - from) / step];
        if (tail is { Ts: { } ts, Vs: { } vs })
        {
            for (int i = 0; i < ts.Length; i++)
                if (ts[i] >= from && ts[i] < until) fine[(ts[i] - from) / step] = vs[i];
        }
        int off = (int)((freshFrom - from) / step);
        for (int i = 0; i < fresh.Length && off + i < fine.Length; i++)
            if (fresh[i] is double d) fine[off + i] = d;
        return fine;
    }

    /// <summary>A tail chunk's points as stored, decoded once per seal; both null when there is no chunk or it does not verify.</summary>
    private sealed record TailPoints(long[]? Ts, double[]? Vs)
    {
        public static TailPoints Of(byte[]? blob)
        {
            if (blob == null || !Gorilla.TryValidate(blob, out _)) return new(null, null);
            var (ts, vs) = Gorilla.Decode(blob);
            return new(ts, vs);
        }
    }
}
