namespace Observe.Storage.Tsdb;

/// <summary>A sealed chunk decoded once (immutable): point i is at <c>Ts0 + i·Step</c> when Step &gt; 0, else at Ts[i].</summary>
internal sealed class DecodedChunk(long ts0, long step, long[]? ts, double[] values)
{
    public readonly long Ts0 = ts0, Step = step;
    public readonly long[] Ts = ts ?? [];
    public readonly double[] Values = values;
    /// <summary><see cref="TimeProvider.GetTimestamp"/> of the last read (written under the store's lock).</summary>
    public long LastUse;

    public int Count => Values.Length;

    /// <summary>Memory held: the arrays, the object and its dictionary entry.</summary>
    public long Bytes => 96 + 8L * Values.Length + (Ts.Length == 0 ? 0 : 24 + 8L * Ts.Length);
}

/// <summary>Where <see cref="ChunkPlacement.Place"/> writes a point that falls in the window.</summary>
internal interface ISlotSink
{
    void Set(int slot, double value);
}

internal readonly struct SlotBufferSink(SlotBuffer buf) : ISlotSink
{
    public void Set(int slot, double value) => buf.Set(slot, value);
}

internal readonly struct WindowSink(double?[] values) : ISlotSink
{
    public void Set(int slot, double value) => values[slot] = value;
}

internal static class ChunkPlacement
{
    /// <summary>Timestamps beyond ±2^61 are not placed as a run (the run arithmetic below must not overflow).</summary>
    private const long RunLimit = 1L << 61;

    /// <summary>
    /// Writes each point with <c>start ≤ ts &lt; end</c> to slot <c>(ts − start) / step</c>. A chunk stored at the window's
    /// step is one run of consecutive slots: its bounds are computed once instead of testing and dividing per point.
    /// </summary>
    public static void Place<TSink>(TSink sink, long start, long end, long step, int count, long ts0, long chunkStep, long[] ts, double[] v)
        where TSink : struct, ISlotSink
    {
        if (count == 0) return;
        if (chunkStep == step && step > 0 && Math.Abs(ts0) < RunLimit && (long)count * step < RunLimit && Math.Abs(start) < RunLimit && Math.Abs(end) < RunLimit)
        {
            long i0 = ts0 >= start ? 0 : (start - ts0 + step - 1) / step;
            long i1 = ts0 >= end ? 0 : Math.Min(count, (end - ts0 + step - 1) / step);
            int slot = (int)((ts0 + i0 * step - start) / step);
            for (long i = i0; i < i1; i++) sink.Set(slot++, v[i]);
            return;
        }
        for (int i = 0; i < count; i++)
        {
            long t = chunkStep > 0 ? unchecked(ts0 + i * chunkStep) : ts[i];
            if (t >= start && t < end) sink.Set((int)((t - start) / step), v[i]);
        }
    }

    public static void Place<TSink>(TSink sink, long start, long end, long step, DecodedChunk c) where TSink : struct, ISlotSink =>
        Place(sink, start, end, step, c.Count, c.Ts0, c.Step, c.Ts, c.Values);

    public static void Place<TSink>(TSink sink, long start, long end, long step, ChunkScratch c) where TSink : struct, ISlotSink =>
        Place(sink, start, end, step, c.Count, c.Ts0, c.Step, c.Ts, c.Values);
}

/// <summary>
/// Decoded sealed chunks by row id, bounded in bytes (<c>storage.chunkCacheBytes</c>, emptied first under the memory
/// budget, docs/limits.md): a dashboard's repeated sum over a fleet reads its chunks without decoding them again. A chunk's
/// blob changes only when compaction extends it (the store evicts it then) and ids are never reused within a process.
/// When full, chunks idle for <see cref="IdleAfter"/> are swept (at most once a second); if there is still no room the new
/// chunk is not cached, so a fetch larger than the cache keeps hitting the part that fits on every repetition instead of
/// evicting it as it goes (what emptying when full, or LRU, do to a repeated scan). Not thread-safe: used under the store's lock.
/// </summary>
internal sealed class DecodedChunkCache(long maxBytes, TimeProvider time)
{
    internal static readonly TimeSpan IdleAfter = TimeSpan.FromMinutes(2), SweepEvery = TimeSpan.FromSeconds(1);
    private readonly Dictionary<long, DecodedChunk> _map = [];
    private long _bytes, _lastSweep = long.MinValue;

    public long MaxBytes => maxBytes;
    public long Bytes => Volatile.Read(ref _bytes);
    public int Count => _map.Count;
    /// <summary>Chunks not cached because it was full of chunks read recently.</summary>
    public long Refused { get; private set; }

    public long Now() => time.GetTimestamp();

    public bool TryGet(long id, long now, out DecodedChunk chunk)
    {
        if (!_map.TryGetValue(id, out chunk!)) return false;
        chunk.LastUse = now;
        return true;
    }

    /// <summary>Whether <see cref="Add"/> may take a chunk now (read without the lock: a hint that saves copying one that would be refused).</summary>
    public bool MayAdmit(long now) =>
        maxBytes > 0 && (Volatile.Read(ref _bytes) < maxBytes || Volatile.Read(ref _lastSweep) == long.MinValue || time.GetElapsedTime(Volatile.Read(ref _lastSweep), now) >= SweepEvery);

    public void Add(long id, DecodedChunk chunk, long now)
    {
        long b = chunk.Bytes;
        if (b > maxBytes || _map.ContainsKey(id)) return;
        if (_bytes + b > maxBytes && (_lastSweep == long.MinValue || time.GetElapsedTime(_lastSweep, now) >= SweepEvery))
        {
            Volatile.Write(ref _lastSweep, now);
            var idle = new List<long>();
            foreach (var (k, c) in _map) if (time.GetElapsedTime(c.LastUse, now) >= IdleAfter) idle.Add(k);
            foreach (var k in idle) Remove(k);
        }
        if (_bytes + b > maxBytes) { Refused++; return; }
        chunk.LastUse = now;
        _map[id] = chunk;
        Volatile.Write(ref _bytes, _bytes + b);
    }

    public void Remove(long id)
    {
        if (_map.Remove(id, out var c)) Volatile.Write(ref _bytes, _bytes - c.Bytes);
    }

    public void Clear()
    {
        _map.Clear();
        Volatile.Write(ref _bytes, 0);
    }
}
