namespace Observe.Storage.Tsdb;

/// <summary>One archive's points of an imported whisper file (step in seconds; slots in any order; empty slots left out).</summary>
internal sealed record ImportArchive(long Step, long[] Ts, double[] Values);

/// <summary>
/// One series of an import request: <paramref name="FileSteps"/> are the steps of every archive the whisper file has
/// (so a level without an archive of its own knows whether one arrives in another request); <paramref name="Archives"/>
/// the archives (or time slices of them) carried in this request.
/// </summary>
internal sealed record ImportSeries(string Name, long[] FileSteps, IReadOnlyList<ImportArchive> Archives);

/// <summary>What an import request did: points received, slots written, slots that already held the same value, slots not taken (beyond retention, in the future, live head data there, series limit).</summary>
internal readonly record struct ImportOutcome(int Series, long Points, long Written, long Unchanged, long Skipped)
{
    public static ImportOutcome operator +(ImportOutcome a, ImportOutcome b) =>
        new(a.Series + b.Series, a.Points + b.Points, a.Written + b.Written, a.Unchanged + b.Unchanged, a.Skipped + b.Skipped);
}

/// <summary>
/// Whisper import (docs/storage.md "Import"): old points go straight into sealed chunks of the archive at their own
/// resolution, bypassing the head (a year of 10-minute slots is not a flush). Each whisper archive fills the level with the
/// same step; a level no archive matches is aggregated (with the series' aggregation rule) from the archives whose step
/// divides its own, finer ones winning where they have data. Only slots whose stored value differs are written, in new
/// chunks (higher row ids win on reads, as for late data), so importing the same file again writes nothing.
/// One transaction per request: a crash leaves the request entirely applied or not at all.
/// </summary>
internal sealed partial class TimeSeriesStore
{
    internal ImportOutcome Import(IReadOnlyList<ImportSeries> batch)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            long now = Now();
            var total = default(ImportOutcome);
            var applied = new List<(SeriesState S, int Level, List<ChunkWrite> Writes)>();
            List<SeriesState>? created = null;
            using var tx = _conn.BeginTransaction();
            _currentTx = tx;
            try
            {
                foreach (var item in batch)
                {
                    long points = 0;
                    foreach (var a in item.Archives) points += a.Ts.Length;
                    if (!_byName.TryGetValue(item.Name, out var s))
                    {
                        if (_byName.Count >= _maxSeries) { Interlocked.Add(ref _seriesDropped, points); total += new ImportOutcome(0, points, 0, 0, points); continue; }
                        s = CreateSeries(item.Name, ref created);
                    }
                    long written = 0, unchanged = 0;
                    for (int level = 0; level < s.Schema.Archives.Length; level++)
                    {
                        if (TargetSlots(s, level, item, now) is not { } slots) continue;
                        var (ts, vs, same) = Changed(s, level, slots);
                        unchanged += same;
                        if (ts.Length == 0) continue;
                        written += ts.Length;
                        var writes = new List<ChunkWrite>();
                        long retention = s.Schema.Archives[level].Retention;
                        for (int i = 0, number = s.Arch(level).NextChunk; i < ts.Length; i += MaxChunkPoints, number++)
                        {
                            if (number >= 1 << ChunkNumberBits) throw new InvalidOperationException($"series {s.Name}: archive {level} has no chunk numbers left");
                            int n = Math.Min(MaxChunkPoints, ts.Length - i);
                            var cts = ts.AsSpan(i, n);
                            var w = new ChunkWrite(ChunkId(s.Id, level, number), false, cts[0], cts[^1], cts[^1] + retention, Gorilla.Encode(cts, vs.AsSpan(i, n)));
                            ExecuteWrite(w, tx);
                            writes.Add(w);
                        }
                        applied.Add((s, level, writes));
                    }
                    total += new ImportOutcome(1, points, written, unchanged, points - written - unchanged);
                }
                InsertSeries(created, tx);
                tx.Commit();
            }
            catch
            {
                ForgetCreated(created);
                throw;
            }
            finally { _currentTx = null; }
            // Committed: now the in-memory view follows (new series, chunk numbers, the newest chunk of each archive).
            if (created != null) foreach (var s in created) Register(s);
            AddToTrieMeanwhile(created);
            foreach (var (s, level, writes) in applied)
            {
                ref var arch = ref s.Arch(level);
                arch.NextChunk += writes.Count;
                var last = writes[^1];
                // Contiguous as Load decides it: no older chunk of this archive holds a slot at or after the tail's start.
                long olderMax = arch.SealedMax;
                for (int i = 0; i < writes.Count - 1; i++) olderMax = Math.Max(olderMax, writes[i].MaxTs);
                arch.Tail = new TailChunk(SplitChunkId(last.Id).Number, last.MinTs, last.MaxTs,
                    Gorilla.TryValidate(last.Data, out int count) ? count : MaxChunkPoints, last.MinTs > olderMax);
                foreach (var w in writes) arch.SealedMax = Math.Max(arch.SealedMax, w.MaxTs);
            }
            return total;
        }
    }

    /// <summary>
    /// The slots level <paramref name="level"/> should hold from this request: from the archive with the level's step, else
    /// aggregated from the archives whose step divides it (coarsest first, finer ones override where they know the slot);
    /// only slots inside the level's retention, not in the future, and not where the live head decides the value.
    /// </summary>
    private (long[] Ts, double[] Vs)? TargetSlots(SeriesState s, int level, ImportSeries item, long now)
    {
        long step = s.Schema.Archives[level].Step;
        long oldest = now - s.Schema.Archives[level].Retention;
        long headFrom = level == 0 || !s.HasHead ? long.MaxValue : AlignDown(HeadMin(s), step);
        // Live head points win over imported ones (they are newer); level 0 reads them point by point.
        HashSet<long>? head = null;
        if (level == 0) foreach (ref readonly var p in HeadOf(s)) (head ??= []).Add(p.Ts);
        bool Keep(long t) => t > oldest && t <= now && t < headFrom && head?.Contains(t) != true;
        var ts = new List<long>();
        var vs = new List<double>();
        bool exact = false;
        foreach (var a in item.Archives)
        {
            if (a.Step != step) continue;
            exact = true;
            ts.EnsureCapacity(ts.Count + a.Ts.Length);
            vs.EnsureCapacity(vs.Count + a.Ts.Length);
            for (int i = 0; i < a.Ts.Length; i++)
            {
                long t = AlignDown(a.Ts[i], step);
                if (Keep(t)) { ts.Add(t); vs.Add(a.Values[i]); }
            }
        }
        if (!exact)
        {
            if (Array.IndexOf(item.FileSteps, step) >= 0) return null; // its own archive comes in another request
            foreach (var a in item.Archives.Where(a => step % a.Step == 0).OrderByDescending(a => a.Step))
            {
                int ratio = (int)(step / a.Step);
                var groups = new SortedDictionary<long, double?[]>();
                for (int i = 0; i < a.Ts.Length; i++)
                {
                    long t = AlignDown(a.Ts[i], step);
                    if (!Keep(t)) continue;
                    if (!groups.TryGetValue(t, out var fine)) groups[t] = fine = new double?[ratio];
                    fine[(AlignDown(a.Ts[i], a.Step) - t) / a.Step] = a.Values[i];
                }
                foreach (var (t, fine) in groups)
                    if (s.Agg.Aggregate(fine) is double v) { ts.Add(t); vs.Add(v); }
            }
        }
        if (ts.Count == 0) return null;
        bool ascending = true;
        for (int i = 1; i < ts.Count && ascending; i++) ascending = ts[i] > ts[i - 1];
        if (ascending) return ([.. ts], [.. vs]);
        // Rare (unsorted input, or finer archives overriding coarser): a stable sort, the last value of a slot wins.
        var slots = new SortedDictionary<long, double>();
        for (int i = 0; i < ts.Count; i++) slots[ts[i]] = vs[i];
        return ([.. slots.Keys], [.. slots.Values]);
    }

    /// <summary>The slots whose stored value (as a read sees it) differs bit for bit, ascending; and how many were the same.</summary>
    private (long[] Ts, double[] Vs, long Same) Changed(SeriesState s, int level, (long[] Ts, double[] Vs) slots)
    {
        long step = s.Schema.Archives[level].Step;
        long from = slots.Ts[0], until = slots.Ts[^1] + step;
        // A series with nothing sealed or in the head at this level has nothing to compare with.
        if (s.Arch(level).SealedMax == long.MinValue && !s.HasHead) return (slots.Ts, slots.Vs, 0);
        var stored = ReadLevel(s, level, from, until);
        var ts = new List<long>(slots.Ts.Length);
        var vs = new List<double>(slots.Ts.Length);
        long same = 0;
        for (int i = 0; i < slots.Ts.Length; i++)
        {
            long t = slots.Ts[i];
            double v = slots.Vs[i];
            if (stored[(t - from) / step] is double old && BitConverter.DoubleToInt64Bits(old) == BitConverter.DoubleToInt64Bits(v)) { same++; continue; }
            ts.Add(t); vs.Add(v);
        }
        return ([.. ts], [.. vs], same);
    }
}
