namespace Observe.Storage.Tsdb;

/// <summary>Phase-one scratch of <see cref="TimeSeriesStore.FetchInto"/>, kept in <see cref="SlotBuffer.ReaderScratch"/> and reused across series.</summary>
internal sealed class FetchScratch
{
    public readonly List<(long Id, byte[]? Blob, long[]? Ts, double[]? V)> Chunks = [];
    public readonly List<(long Ts, double V)> Overlay = [];
    public readonly List<(long Id, long[] Ts, double[] V)> Decoded = [];

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

    /// <summary>The chunk rows of archive <paramref name="level"/> overlapping [from, until), by ascending row id. Caller holds the lock.</summary>
    private Microsoft.Data.Sqlite.SqliteDataReader SelectChunks(SeriesState s, int level, long from, long until)
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
        long epoch;
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
            using (var r = SelectChunks(s, k, a, b))
                while (r.Read())
                {
                    long id = r.GetInt64(0);
                    if (_badChunks.Contains(id)) continue;
                    if (_decoded.TryGetValue(id, out var hit)) scratch.Chunks.Add((id, null, hit.Ts, hit.Values));
                    else scratch.Chunks.Add((id, r.GetValue(1) as byte[] ?? [], null, null));
                }
            if (k == 0)
            {
                foreach (ref readonly var p in s.Head.AsSpan(0, s.HeadCount))
                    if (p.Ts >= a && p.Ts < b) scratch.Overlay.Add((p.Ts, p.Value));
            }
            else if (s.HasHead)
            {
                // As ReadLevel: the head region of a coarser archive is rolled up on the fly (a few slots, under the lock).
                long rs = Math.Max(a, AlignDown(s.HeadMin, step));
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
        foreach (var (id, blob, cachedTs, cachedV) in scratch.Chunks)
        {
            long[] ts; double[] v;
            if (blob == null) (ts, v) = (cachedTs!, cachedV!);
            else
            {
                try { (ts, v) = Gorilla.Decode(blob); }
                catch (InvalidDataException)
                {
                    // Fetch marks and counts the corrupt chunk under the lock and skips it.
                    if (Fetch(series, from, until) is { } w) buf.CopyFrom(w);
                    return true;
                }
                scratch.Decoded.Add((id, ts, v));
            }
            for (int i = 0; i < ts.Length; i++)
                if (ts[i] >= start && ts[i] < end) buf.Set((int)((ts[i] - start) / st), v[i]);
        }
        foreach (var (t, v) in scratch.Overlay) buf.Set((int)((t - start) / st), v);

        if (scratch.Decoded.Count > 0)
            lock (_gate)
            {
                if (_disposed || epoch != _decodedEpoch) return true;
                foreach (var (id, ts, v) in scratch.Decoded)
                {
                    if (_decoded.ContainsKey(id)) continue;
                    if (_decodedPoints + ts.Length > DecodedCacheMaxPoints) { _decoded.Clear(); _decodedPoints = 0; }
                    _decoded[id] = (ts, v);
                    _decodedPoints += ts.Length;
                }
            }
        return true;
    }
}
