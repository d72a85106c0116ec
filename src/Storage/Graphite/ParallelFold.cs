using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Observe.Storage.Tsdb;

namespace Observe.Storage.Graphite;

/// <summary>
/// Feeds a streaming aggregate (issue 21): series are fetched in batches — on all cores when the reader is the embedded
/// store, whose <see cref="TimeSeriesStore.FetchInto"/> decodes outside its lock — into pooled slot buffers, then folded
/// one by one in name order on the request's thread. Only the fetching is parallel: the fold adds in exactly the order of
/// the sequential evaluation, so sums are bit-identical (floating-point addition does not reassociate).
/// </summary>
internal static partial class Evaluator
{
    private static readonly int FoldBatch = Math.Min(64, 16 * Environment.ProcessorCount);
    /// <summary>Buffers kept between requests; a buffer grown past <see cref="PooledSlotsMax"/> slots is dropped, so the pool stays ≲ 25 MB.</summary>
    private static readonly ConcurrentBag<SlotBuffer> SlotPool = [];
    private const int SlotPoolMax = 128, PooledSlotsMax = 16_384;

    private static bool FoldAll(RenderContext ctx, List<(string Name, string Expr)> names, Accumulator acc)
    {
        var store = ctx.Reader as TimeSeriesStore;
        bool parallel = store != null && Environment.ProcessorCount > 1 && names.Count > 1;
        int batch = parallel ? Math.Min(names.Count, FoldBatch) : 1;
        var bufs = new SlotBuffer[batch];
        var found = new bool[batch];
        for (int i = 0; i < batch; i++) bufs[i] = SlotPool.TryTake(out var b) ? b : new SlotBuffer();
        try
        {
            for (int lo = 0; lo < names.Count; lo += batch)
            {
                int m = Math.Min(batch, names.Count - lo);
                if (m > 1)
                {
                    try { Parallel.For(0, m, i => found[i] = Read(ctx, store, names[lo + i].Name, bufs[i])); }
                    catch (AggregateException e) when (e.InnerExceptions.Count >= 1) { ExceptionDispatchInfo.Throw(e.InnerExceptions[0]); }
                }
                else found[0] = Read(ctx, store, names[lo].Name, bufs[0]);
                for (int i = 0; i < m; i++)
                {
                    // whisper returns None for a window wholly in the future or beyond retention: graphite-web drops the series.
                    int n = bufs[i].Length;
                    if (!found[i] || n == 0) continue;
                    ctx.Budget?.Take(n);
                    bool folded = acc.Add(names[lo + i].Name, names[lo + i].Expr, bufs[i]);
                    ctx.Budget?.Release(n);
                    if (!folded) return false;
                }
            }
            return true;
        }
        finally
        {
            foreach (var b in bufs)
                if (b.Values.Length <= PooledSlotsMax && SlotPool.Count < SlotPoolMax) SlotPool.Add(b);
        }
    }

    private static bool Read(RenderContext ctx, TimeSeriesStore? store, string name, SlotBuffer buf)
    {
        if (store != null) return store.FetchInto(name, ctx.StartTime, ctx.EndTime, buf);
        if (ctx.Reader.Fetch(name, ctx.StartTime, ctx.EndTime) is not { } w) return false;
        buf.CopyFrom(w);
        return true;
    }
}
