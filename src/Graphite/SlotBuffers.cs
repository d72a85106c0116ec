using System.Collections.Concurrent;

namespace Observe.Storage.Graphite;

/// <summary>
/// The slot buffers every fetch reads into (<see cref="ISeriesReader.FetchInto"/>), kept between requests: a fold reuses
/// one per batch slot, a plain fetch keeps one per series until its JSON is written (<see cref="TimeSeries.Fetched"/>).
/// A buffer grown past <see cref="PooledSlotsMax"/> slots is dropped, and at most <see cref="PoolMax"/> are kept, so the
/// pool stays ≲ 25 MB (12 bytes a slot).
/// </summary>
internal static class SlotBuffers
{
    private static readonly ConcurrentBag<SlotBuffer> Pool = [];
    private const int PoolMax = 128, PooledSlotsMax = 16_384;
    private static int _pooled;

    public static SlotBuffer Rent()
    {
        if (!Pool.TryTake(out var b)) return new SlotBuffer();
        Interlocked.Decrement(ref _pooled);
        return b;
    }

    public static void Return(SlotBuffer b)
    {
        if (b.Values.Length > PooledSlotsMax) return;
        // A counter, not Pool.Count: ConcurrentBag.Count takes every thread's lock.
        if (Interlocked.Increment(ref _pooled) > PoolMax) { Interlocked.Decrement(ref _pooled); return; }
        Pool.Add(b);
    }
}
