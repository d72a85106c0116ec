using Microsoft.Data.Sqlite;
using Observe.Collector;

namespace Observe.Storage.Tsdb;

/// <summary>Phase-one scratch of <see cref="TimeSeriesStore.FetchInto"/>, kept in <see cref="SlotBuffer.ReaderScratch"/> and reused across series.</summary>
internal sealed class FetchScratch
{
    public readonly List<(long Id, byte[]? Blob, DecodedChunk? Hit)> Chunks = [];
    public readonly List<(long Ts, double V)> Overlay = [];
    public readonly List<(long Id, DecodedChunk Chunk)> Decoded = [];
    public readonly ChunkScratch Chunk = new();

    public static FetchScratch Of(SlotBuffer buf)
    {
        if (buf.ReaderScratch is not FetchScratch s) buf.ReaderScratch = s = new FetchScratch();
        s.Chunks.Clear(); s.Overlay.Clear(); s.Decoded.Clear();
        return s;
    }
}

/// <summary>
/// <see cref="FetchInto"/>: <see cref="Fetch"/> for folds over many series. Under the store lock only the chunk rows are
/// selected (blobs, or the decoded-chunk cache's arrays) and the head and back-filled points of the window copied; chunks
/// are decoded outside the lock, so several cores can fetch at once, straight into a reused <see cref="SlotBuffer"/>.
/// The slots are the ones <see cref="Fetch"/> returns: chunks by ascending row id, then the head, then back-fill.
/// </summary>
internal sealed partial class TimeSeriesStore
{
    /// <summary>Bumped whenever a cached chunk is evicted because its row changed: a chunk decoded from an older blob is then not cached.</summary>
    private long _decodedEpoch;

    /// <summary>Decoded chunks by row id (<c>storage.chunkCacheBytes</c>): a dashboard re-reads the same sealed chunks on every refresh.</summary>
    private readonly DecodedChunkCache _decoded;

    private long _chunksDecoded;
    /// <summary>Chunks decoded since open (not served by the cache).</summary>
    internal long ChunksDecoded => Interlocked.Read(ref _chunksDecoded);
    internal (long Bytes, int Chunks, long Refused) ChunkCacheStats { get { lock (_gate) return (_decoded.Bytes, _decoded.Count, _decoded.Refused); } }

    /// <summary>Decode buffers of the reads made under the lock (<see cref="ReadLevel"/>).</summary>
    private readonly ChunkScratch _lockedScratch = new();

    /// <summary>Whether a chunk decoded now may be cached: not while the memory budget asks the stages to give memory back.</summary>
    private bool CacheAdmits(long now) => Pressure is not { Level: >= MemoryPressure.Relieve } && _decoded.MayAdmit(now);

    /// <summary>
    /// Writes the points of chunk <paramref name="id"/> (the current row of <paramref name="r"/>) to <paramref name="sink"/>,
    /// from the cache or decoded (and then cached, when committed: compaction reads its own uncommitted writes); false when
    /// the chunk is corrupt (marked, counted and logged). Caller holds the lock.
    /// </summary>
    private bool PlaceChunk<TSink>(SqliteDataReader r, long id, SeriesState s, TSink sink, long from, long until, long step) where TSink : struct, ISlotSink
    {
        long now = _decoded.Now();
        if (_currentTx == null && _decoded.TryGet(id, now, out var hit))
        {
            ChunkPlacement.Place(sink, from, until, step, hit);
            return true;
        }
        var blob = r.GetValue(1) as byte[] ?? [];
        Interlocked.Increment(ref _chunksDecoded);
        try { Gorilla.DecodeInto(blob, _lockedScratch); }
        catch (InvalidDataException)
        {
            _badChunks.Add(id);
            Interlocked.Increment(ref _corruptChunks);
            LogCorruptChunk(id, s, r.GetInt64(2), r.GetInt64(3));
            return false;
        }
        ChunkPlacement.Place(sink, from, until, step, _lockedScratch);
        if (_currentTx == null && CacheAdmits(now)) _decoded.Add(id, _lockedScratch.ToChunk(), now);
        _lockedScratch.TrimExcess();
        return true;
    }

    /// <summary>The chunk rows of archive <paramref name="level"/> overlapping [from, until), by ascending row id. Caller holds the lock.</summary>
    private SqliteDataReader SelectChunks(SeriesState s, int level, long from, long until)
    {
        _selectChunks.Transaction = _currentTx;
        _selectChunks.Parameters[0].Value = ChunkId(s.Id, level, 0);
        _selectChunks.Parameters[1].Value = ChunkId(s.Id, level, (1 << ChunkNumberBits) - 1);
        _selectChunks.Parameters[2].Value = from;
        _selectChunks.Parameters[3].Value = until;
        return _selectChunks.ExecuteReader();
    }

    /// <summary>False when the series does not exist (as <see cref="Fetch"/> returns null).</summary>
    internal bool FetchInto(string series, long from, long until, SlotBuffer buf)
    {
        long epoch, now;
        bool admit;
        var scratch = FetchScratch.Of(buf);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_byName.TryGetValue(series, out var s)) return false;
            var (k, a, b, step) = Window(s.Schema, from, until);
            int n = k < 0 ? 0 : (int)Math.Max(0, (b - a) / step);
            buf.Reset(a, b, step, n);
            if (n == 0) return true;
            if (_currentTx != null)
            {
                var vals = ReadLevel(s, k, a, b);
                for (int i = 0; i < vals.Length; i++) if (vals[i] is { } v) buf.Set(i, v);
                return true;
            }
            now = _decoded.Now();
            admit = CacheAdmits(now);
            using (var r = SelectChunks(s, k, a, b))
                while (r.Read())
                {
                    long id = r.GetInt64(0);
                    if (_badChunks.Contains(id)) continue;
                    if (_decoded.TryGet(id, now, out var hit)) scratch.Chunks.Add((id, null, hit));
                    else scratch.Chunks.Add((id, r.GetValue(1) as byte[] ?? [], null));
                }
            if (k == 0)
            {
                foreach (ref readonly var p in HeadOf(s))
                    if (p.Ts >= a && p.Ts < b) scratch.Overlay.Add((p.Ts, p.Value));
            }
            else if (s.HasHead)
            {
                // As ReadLevel: the head region of a coarser archive is rolled up on the fly (a few slots, under the lock).
                long rs = Math.Max(a, AlignDown(HeadMin(s), step));
                if (rs < b)
                {
                    var coarse = s.Agg.Rollup(ReadLevel(s, k - 1, rs, b), s.Schema.Archives[k - 1].Step, step);
                    for (int j = 0; j < coarse.Length; j++) if (coarse[j] is double d) scratch.Overlay.Add((rs + j * step, d));
                }
            }
            if (s.Backfill != null)
                foreach (var p in s.Backfill)
                    if (p.Level == k && p.Ts >= a && p.Ts < b) scratch.Overlay.Add((p.Ts, p.Value));
            epoch = _decodedEpoch;
        }

        long start = buf.Start, end = buf.End, st = buf.Step;
        var sink = new SlotBufferSink(buf);
        var cs = scratch.Chunk;
        foreach (var (id, blob, hit) in scratch.Chunks)
        {
            if (hit != null) { ChunkPlacement.Place(sink, start, end, st, hit); continue; }
            Interlocked.Increment(ref _chunksDecoded);
            try { Gorilla.DecodeInto(blob!, cs); }
            catch (InvalidDataException)
            {
                // Fetch marks and counts the corrupt chunk under the lock and skips it.
                if (Fetch(series, from, until) is { } w) buf.CopyFrom(w);
                return true;
            }
            ChunkPlacement.Place(sink, start, end, st, cs);
            if (admit) scratch.Decoded.Add((id, cs.ToChunk()));
        }
        cs.TrimExcess();
        foreach (var (t, v) in scratch.Overlay) buf.Set((int)((t - start) / st), v);

        if (scratch.Decoded.Count > 0)
            lock (_gate)
            {
                if (_disposed || epoch != _decodedEpoch) return true;
                foreach (var (id, c) in scratch.Decoded) _decoded.Add(id, c, now);
            }
        return true;
    }
}
