using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Observe.Storage.Tsdb;

/// <summary>
/// Compaction (docs/storage.md): seals head rows into Gorilla chunks and the rollup archives. Split from
/// TimeSeriesStore.cs along its seam: the write/read side only appends head points, this side releases them.
/// </summary>
internal sealed partial class TimeSeriesStore
{
    // ---- compaction ----

    private void BackgroundCompact()
    {
        try { Compact(); }
        catch (ObjectDisposedException) { }
        catch (Exception e) { _log.LogError("tsdb: compaction failed: {Error}", e.Message); }
    }

    /// <summary>
    /// Seals head rows into Gorilla chunks and rollup archives and applies retention. Without
    /// <paramref name="force"/> head rows whose newest point is older than the current finest-step boundary are sealed
    /// (rollup slots still open are sealed with what they hold so far and recomputed as they fill, as whisper
    /// propagates on every write), so the head holds only the flushes since the last compaction; with it, all head rows.
    /// </summary>
    public void Compact(bool force = false)
    {
        // One compaction at a time; the store lock is taken per group of series, so writes and reads interleave.
        lock (_compactGate)
        {
            SealedRows sealedRows;
            SeriesState[] work = [];
            long now;
            var times = new CompactionTimes();
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                long held = Stopwatch.GetTimestamp();
                now = Now();
                ForgetIdle();
                long cutoff = force ? long.MaxValue : HeadCutoff(now);
                sealedRows = _headRows.Select(cutoff);
                if (sealedRows.Count > 0) work = [.. _touched];
                times.Held(CompactionPhase.Seal, held);
            }
            if (sealedRows.Count == 0)
            {
                ApplyRetention(now, times);
                times.Log(_log, 0, 0);
                return;
            }
            // Seal CompactionGroup series per transaction. A crash between groups leaves chunks whose points are
            // still in head rows; after restart they are sealed again (same values: reads let later chunks win,
            // rollups of already sealed slots are merged), so nothing is lost or changed, only stored twice.
            for (int g = 0; g < work.Length; g += CompactionGroup)
            {
                // 1. Under the lock: copy each series' sealed points and read its tail chunks (fast SQLite reads).
                //    Series with late data (rollup slots already sealed) need reads of the finer archive as it is
                //    being rewritten: they are sealed entirely under the lock in step 3.
                var fast = new List<(SeriesState S, long[] Ts, double[] Vs, byte[]?[] TailBlobs)>();
                var late = new List<SeriesState>();
                YieldToWriters();
                lock (_gate)
                {
                    ObjectDisposedException.ThrowIf(_disposed, this);
                    long held = Stopwatch.GetTimestamp();
                    foreach (var s in work.AsSpan(g, Math.Min(CompactionGroup, work.Length - g)))
                    {
                        if (HasSealedBackfill(s, sealedRows)) { late.Add(s); continue; } // written into coarser archives: reads them
                        if (SealedPoints(s, sealedRows) is not var (ts, vs)) continue;
                        var blobs = new byte[]?[s.ArchiveCount];
                        for (int k = 0; k < blobs.Length; k++) blobs[k] = ReadTailBlob(s, k, s.Arch(k).Tail, null);
                        // Rollup slots still open (sealed partly by the last compaction) are recomputed from the finer
                        // archive's tail chunk read here; only when that is not the whole archive there, under the lock.
                        if (NeedsFinerArchive(s, ts[0]) && !TailsCoverOpenSlots(s, ts[0], blobs)) { late.Add(s); continue; }
                        fast.Add((s, ts, vs, blobs));
                    }
                    times.Held(CompactionPhase.Seal, held);
                }
                // 2. Without the lock (only the compactor touches chunks, tails and chunk numbers): merge and encode,
                //    the CPU-heavy part, while flushes and reads go on.
                var planned = new List<(SeriesState S, long[] NewMax, TailChunk?[] Tails, List<ChunkWrite> Writes)>(fast.Count);
                foreach (var (s, ts, vs, blobs) in fast)
                {
                    var tails = s.CopyTails();
                    var writes = new List<ChunkWrite>();
                    var newMax = PlanSeal(s, 0, ts, vs, tails, k => blobs[k], writes.Add, null);
                    planned.Add((s, newMax, tails, writes));
                }
                // 3. Under the lock: one transaction writes the planned chunks and seals the late series.
                YieldToWriters();
                lock (_gate)
                {
                    ObjectDisposedException.ThrowIf(_disposed, this);
                    long held = Stopwatch.GetTimestamp();
                    var updates = new List<(SeriesState S, long[] NewMax, TailChunk?[] Tails)>();
                    using var tx = _conn.BeginTransaction();
                    _currentTx = tx;
                    try
                    {
                        foreach (var (s, newMax, tails, writes) in planned)
                        {
                            foreach (var w in writes) ExecuteWrite(w, tx);
                            updates.Add((s, newMax, tails));
                        }
                        foreach (var s in late)
                        {
                            var tails = s.CopyTails();
                            var newMax = Enumerable.Repeat(long.MinValue, tails.Length).ToArray();
                            for (int level = 0; level < tails.Length; level++)
                            {
                                var points = level == 0 ? SealedPoints(s, sealedRows) : SealedBackfill(s, level, sealedRows);
                                if (points is not var (ts, vs)) continue;
                                var max = PlanSeal(s, level, ts, vs, tails, k => ReadTailBlob(s, k, tails[k], tx), w => ExecuteWrite(w, tx), (k, f, u) => ReadLevel(s, k, f, u));
                                for (int k = 0; k < max.Length; k++) newMax[k] = Math.Max(newMax[k], max[k]);
                            }
                            updates.Add((s, newMax, tails));
                        }
                        tx.Commit();
                    }
                    finally { _currentTx = null; }
                    foreach (var (s, newMax, tails) in updates)
                    {
                        for (int k = 0; k < newMax.Length; k++)
                        {
                            ref var arch = ref s.Arch(k);
                            arch.SealedMax = Math.Max(arch.SealedMax, newMax[k]);
                            arch.Tail = tails[k];
                        }
                    }
                    times.Held(CompactionPhase.Seal, held);
                }
            }
            ReleaseSealed(work, sealedRows, now, times);
            times.Log(_log, sealedRows.Count, work.Length);
        }
    }

    /// <summary>
    /// Drops the series that got no point since the last compaction from <see cref="_touched"/> (and gives back the list's own
    /// memory once it shrank a lot). Caller holds the lock.
    /// </summary>
    private void ForgetIdle()
    {
        int before = _touched.Count;
        _touched.RemoveAll(s =>
        {
            if (s.HasHead) return false;
            s.Touched = false;
            return true;
        });
        if (_touched.Count < before / 4) _touched = [.. _touched];
    }

    private void Touch(SeriesState s)
    {
        if (s.Touched) return;
        s.Touched = true;
        _touched.Add(s);
    }

    private int _writersWaiting;

    /// <summary>
    /// Before compaction takes the store lock again, a flush waiting for it goes first: Monitor is not fair, and a compactor
    /// re-entering between groups kept a flush waiting for the whole compaction (issue 21: 18–75 s flushes at 1.6 M series).
    /// Bounded, so a stream of writes cannot stall compaction for good.
    /// </summary>
    private void YieldToWriters()
    {
        if (Volatile.Read(ref _writersWaiting) == 0) return;
        long deadline = Environment.TickCount64 + 2000;
        var spin = new SpinWait();
        while (Volatile.Read(ref _writersWaiting) > 0 && Environment.TickCount64 < deadline) spin.SpinOnce(sleep1Threshold: 20);
    }

    /// <summary>Head rows beyond which a write starts a compaction at once instead of waiting for the timer (a backlog, a burst).</summary>
    internal const int CompactSoonerRows = 24;
    private int _compactQueued;

    /// <summary>
    /// Under a backlog (batches arriving faster than the compaction interval) the head would grow with every batch until the
    /// timer fires: past <see cref="CompactSoonerRows"/> head rows one compaction is started in the background. Only when
    /// background compaction is on (<c>storage.compactionIntervalSeconds</c> &gt; 0). Caller holds the lock.
    /// </summary>
    private void CompactSoonerIfBehind()
    {
        if (_timer == null || _disposed || _headRows.Count < CompactSoonerRows) return;
        long cutoff = HeadCutoff(Now());
        if (!_headRows.AnyBefore(cutoff) || Interlocked.CompareExchange(ref _compactQueued, 1, 0) != 0) return;
        ThreadPool.QueueUserWorkItem(_ =>
        {
            try { BackgroundCompact(); }
            finally { Volatile.Write(ref _compactQueued, 0); }
            // Rows written while it ran may be sealable already: the backlog is worked off without waiting for a write.
            lock (_gate) CompactSoonerIfBehind();
        });
    }

    /// <summary>Series sealed per transaction (and per hold of the store lock) during compaction.</summary>
    public const int CompactionGroup = 2000;
    private readonly object _compactGate = new();

    /// <summary>The series' head points in sealed rows, ascending by slot (later writes to a slot win, as whisper); null if none. Caller holds the lock.</summary>
    private (long[] Ts, double[] Vs)? SealedPoints(SeriesState s, SealedRows sealedRows)
    {
        bool ordered = true;
        long last = long.MinValue;
        int n = 0;
        var head = HeadOf(s);
        foreach (ref readonly var p in head)
        {
            if (!sealedRows.Contains(p.Row)) continue;
            n++;
            if (p.Ts <= last) ordered = false;
            last = Math.Max(last, p.Ts);
        }
        if (n == 0) return null;
        if (ordered)
        {
            var ts = new long[n]; var vs = new double[n];
            int w = 0;
            foreach (ref readonly var p in head)
                if (sealedRows.Contains(p.Row)) { ts[w] = p.Ts; vs[w] = p.Value; w++; }
            return (ts, vs);
        }
        var slots = new SortedDictionary<long, double>();
        foreach (ref readonly var p in head)
            if (sealedRows.Contains(p.Row)) slots[p.Ts] = p.Value;
        return ([.. slots.Keys], [.. slots.Values]);
    }

    /// <summary>True when a rollup slot touched by points from <paramref name="minTs"/> on already holds sealed finer data (late data).</summary>
    private static bool NeedsFinerArchive(SeriesState s, long minTs)
    {
        var archives = s.Schema.Archives;
        for (int k = 1; k < archives.Length; k++)
            if (AlignDown(minTs, archives[k].Step) <= s.Arch(k - 1).SealedMax) return true;
        return false;
    }

    /// <summary>A chunk row compaction writes: a new row, or a replacement of the tail chunk's row.</summary>
    private sealed record ChunkWrite(long Id, bool Update, long MinTs, long MaxTs, long Expires, byte[] Data);

    /// <summary>
    /// Plans the chunk of archive <paramref name="first"/> (0, or the archive back-filled points were written into) and the
    /// rollup chunks of the coarser archives for one series' sealed points; returns the new per-level max.
    /// <paramref name="readFiner"/> (late data only, under the lock) reads an archive as written so far.
    /// </summary>
    private long[] PlanSeal(SeriesState s, int first, long[] ts, double[] vs, TailChunk?[] tails, Func<int, byte[]?> tailBlob,
        Action<ChunkWrite> emit, Func<int, long, long, double?[]>? readFiner)
    {
        var archives = s.Schema.Archives;
        var newMax = Enumerable.Repeat(long.MinValue, archives.Length).ToArray();
        long minTs = ts[0], maxTs = ts[^1];
        // Each tail chunk is decoded at most once: extending archive k and recomputing archive k + 1's open slots
        // both read it (with partial rollups every compaction does both for every active series).
        var decoded = new TailPoints?[archives.Length];
        TailPoints TailOf(int k) => decoded[k] ??= TailPoints.Of(tailBlob(k));
        PlanChunk(s, first, ts, vs, archives[first].Retention, tails, () => TailOf(first), emit);
        newMax[first] = maxTs;

        long prevStep = archives[first].Step;
        long prevFrom = minTs;
        var prev = new double?[(maxTs - minTs) / prevStep + 1];
        for (int i = 0; i < ts.Length; i++) prev[(ts[i] - minTs) / prevStep] = vs[i];

        for (int k = first + 1; k < archives.Length; k++)
        {
            long step = archives[k].Step;
            long rFrom = AlignDown(minTs, step), rUntil = AlignDown(maxTs, step) + step;
            double?[] fine;
            if (rFrom > s.Arch(k - 1).SealedMax)
            {
                fine = new double?[(rUntil - rFrom) / prevStep];
                int off = (int)((prevFrom - rFrom) / prevStep);
                Array.Copy(prev, 0, fine, off, Math.Min(prev.Length, fine.Length - off));
            }
            else if (readFiner != null) fine = readFiner(k - 1, rFrom, rUntil);
            else fine = FromTail(TailOf(k - 1), rFrom, rUntil, prevStep, prev, prevFrom); // vetted by TailsCoverOpenSlots
            var coarse = s.Agg.Rollup(fine, prevStep, step);
            var cts = new List<long>(); var cvs = new List<double>();
            for (int j = 0; j < coarse.Length; j++)
                if (coarse[j] is double d) { cts.Add(rFrom + j * step); cvs.Add(d); }
            if (cts.Count > 0)
            {
                PlanChunk(s, k, [.. cts], [.. cvs], archives[k].Retention, tails, () => TailOf(k), emit);
                newMax[k] = cts[^1];
            }
            prev = coarse; prevFrom = rFrom; prevStep = step;
        }
        return newMax;
    }

    /// <summary>The stored blob of a tail chunk (null if none or known corrupt). Caller holds the lock.</summary>
    private byte[]? ReadTailBlob(SeriesState s, int level, TailChunk? tail, SqliteTransaction? tx)
    {
        if (tail is not { } t) return null;
        long id = ChunkId(s.Id, level, t.Number);
        if (_badChunks.Contains(id)) return null;
        _selectChunkById.Transaction = tx;
        _selectChunkById.Parameters[0].Value = id;
        return _selectChunkById.ExecuteScalar() as byte[];
    }

    /// <summary>
    /// Extends the series' newest chunk of this archive when the new slots do not start before it and the union fits
    /// in <see cref="MaxChunkPoints"/> (merged, new values win, re-encoded, replacing the row), else plans new chunks of
    /// at most that many points each (which, having higher ids, win over older chunks on reads; a backlog sealed at once
    /// used to become one chunk of thousands of points). Late data that falls into the tail's slots (a rollup slot
    /// recomputed) is thus merged instead of stored twice; bigger chunks amortise the per-chunk overhead.
    /// </summary>
    private static void PlanChunk(SeriesState s, int level, long[] ts, double[] vs, long retention, TailChunk?[] tails, Func<TailPoints> stored,
        Action<ChunkWrite> emit)
    {
        var tail = tails[level];
        if (tail is { } t && ts[0] >= t.MinTs && t.Count < MaxChunkPoints && stored() is { Ts: { } ots, Vs: { } ovs })
        {
            var (nts, nvs) = MergeSorted(ots, ovs, ts, vs);
            if (nts.Length <= MaxChunkPoints)
            {
                tails[level] = new TailChunk(t.Number, nts[0], nts[^1], nts.Length, t.Contiguous);
                emit(new ChunkWrite(ChunkId(s.Id, level, t.Number), true, nts[0], nts[^1], nts[^1] + retention, Gorilla.Encode(nts, nvs)));
                return;
            }
        }
        for (int i = 0; i < ts.Length; i += MaxChunkPoints)
        {
            int n = Math.Min(MaxChunkPoints, ts.Length - i), last = i + n - 1;
            int number = s.Arch(level).NextChunk++;
            if (number >= 1 << ChunkNumberBits) throw new InvalidOperationException($"series {s.Name}: archive {level} has no chunk numbers left");
            long id = ChunkId(s.Id, level, number);
            tails[level] = new TailChunk(number, ts[i], ts[last], n, ts[i] > Math.Max(s.Arch(level).SealedMax, tail?.MaxTs ?? long.MinValue));
            tail = tails[level];
            emit(new ChunkWrite(id, false, ts[i], ts[last], ts[last] + retention, Gorilla.Encode(ts.AsSpan(i, n), vs.AsSpan(i, n))));
        }
    }

    /// <summary>Writes a planned chunk row in the compaction transaction. Caller holds the lock.</summary>
    private void ExecuteWrite(ChunkWrite w, SqliteTransaction tx)
    {
        var c = w.Update ? _updateChunk : _insertChunk;
        if (w.Update) { _decoded.Remove(w.Id); _decodedEpoch++; }
        c.Transaction = tx;
        if (w.Update)
        {
            c.Parameters[0].Value = w.MinTs; c.Parameters[1].Value = w.MaxTs; c.Parameters[2].Value = w.Expires;
            c.Parameters[3].Value = w.Data; c.Parameters[4].Value = w.Id;
        }
        else
        {
            c.Parameters[0].Value = w.Id; c.Parameters[1].Value = w.MinTs; c.Parameters[2].Value = w.MaxTs;
            c.Parameters[3].Value = w.Expires; c.Parameters[4].Value = w.Data;
        }
        if (c.ExecuteNonQuery() != 1) throw new InvalidOperationException($"chunk {w.Id} was not written");
    }

    /// <summary>Union of two ascending slot lists; on equal timestamps the second (newer) value wins.</summary>
    private static (long[] Ts, double[] Values) MergeSorted(long[] ats, double[] avs, long[] bts, double[] bvs)
    {
        if (ats.Length == 0 || bts[0] > ats[^1]) return ([.. ats, .. bts], [.. avs, .. bvs]);
        var ts = new List<long>(ats.Length + bts.Length);
        var vs = new List<double>(ats.Length + bts.Length);
        int i = 0, j = 0;
        while (i < ats.Length || j < bts.Length)
        {
            if (j == bts.Length || (i < ats.Length && ats[i] < bts[j])) { ts.Add(ats[i]); vs.Add(avs[i]); i++; }
            else
            {
                if (i < ats.Length && ats[i] == bts[j]) i++;
                ts.Add(bts[j]); vs.Add(bvs[j]); j++;
            }
        }
        return ([.. ts], [.. vs]);
    }
}
