using System.Runtime.ExceptionServices;

namespace Observe.Storage.Graphite;

/// <summary>
/// Feeds a streaming aggregate (issue 21): series are fetched in batches — on all cores when the reader is the embedded
/// store, whose <see cref="ISeriesReader.FetchInto"/> decodes outside its lock (<see cref="ISeriesReader.ParallelFetch"/>) — into pooled slot buffers, then folded
/// one by one in name order on the request's thread. Only the fetching is parallel: the fold adds in exactly the order of
/// the sequential evaluation, so sums are bit-identical (floating-point addition does not reassociate).
/// </summary>
internal static partial class Evaluator
{
    private static readonly int FoldBatch = Math.Min(64, 16 * Environment.ProcessorCount);
    /// <summary>Points a fetch must read before it goes parallel (0 in tests: results are the same either way).</summary>
    internal static long ParallelMinPoints = 1_000_000;
    /// <summary>Points a fetched batch must hold before an aggregate folds its values on all cores (0 in tests).</summary>
    internal static long ParallelFoldMinPoints = 32 * 1024;

    private static bool FoldAll(RenderContext ctx, List<(string Name, string Expr)> names, Accumulator acc) =>
        FetchBatches(ctx, names.Count, i => names[i].Name, (lo, m, bufs, found) =>
        {
            for (int j = 0; j < m; j++)
            {
                if (!found[j]) continue;
                // Counted one series at a time, as when each was folded on its own (the batch's buffers are the fetch's).
                ctx.Budget?.Take(bufs[j].Length);
                ctx.Budget?.Release(bufs[j].Length);
                if (!acc.AddShape(names[lo + j].Name, names[lo + j].Expr, bufs[j])) return false;
            }
            acc.FoldValues(bufs, found, m);
            return true;
        });

    /// <summary>
    /// Fetches <paramref name="count"/> series in batches (on all cores when the reader is the embedded store) and hands
    /// each non-empty window to <paramref name="visit"/> in order on this thread; false as soon as a visit is.
    /// The buffer is reused after the visit returns, unless <paramref name="keep"/>: then the visitor owns it.
    /// </summary>
    private static bool FetchEach(RenderContext ctx, int count, Func<int, string> nameAt, Func<int, SlotBuffer, bool> visit, bool keep = false) =>
        FetchBatches(ctx, count, nameAt, (lo, m, bufs, found) =>
        {
            for (int j = 0; j < m; j++)
            {
                if (!found[j]) continue;
                if (!visit(lo + j, bufs[j])) return false;
                if (keep) bufs[j] = SlotBuffers.Rent();
            }
            return true;
        });

    /// <summary>
    /// <see cref="FetchEach"/> a batch at a time: <paramref name="visit"/> gets the index of the batch's first series, the
    /// batch's size m, the buffers and which of them hold a non-empty window (found[j] for series lo + j, j &lt; m).
    /// </summary>
    private static bool FetchBatches(RenderContext ctx, int count, Func<int, string> nameAt, Func<int, int, List<SlotBuffer>, bool[], bool> visit)
    {
        bool canParallel = ctx.Reader.ParallelFetch;
        var bufs = new List<SlotBuffer> { SlotBuffers.Rent() };
        var found = new bool[FoldBatch];
        bool parallel = false;
        try
        {
            for (int lo = 0; lo < count;)
            {
                int m = parallel ? Math.Min(bufs.Count, count - lo) : 1;
                if (m > 1)
                {
                    try { Parallel.For(0, m, i => found[i] = Read(ctx, nameAt(lo + i), bufs[i])); }
                    catch (AggregateException e) when (e.InnerExceptions.Count >= 1) { ExceptionDispatchInfo.Throw(e.InnerExceptions[0]); }
                }
                else found[0] = Read(ctx, nameAt(lo), bufs[0]);
                // whisper returns None for a window wholly in the future or beyond retention: graphite-web drops the series.
                for (int i = 0; i < m; i++) found[i] &= bufs[i].Length > 0;
                if (!visit(lo, m, bufs, found)) return false;
                // Parallel only where it pays: the first window tells what the whole fetch reads. A dashboard's 100 series
                // x 1 440 points stay on the request's thread (handing them to the pool cost more in p95 than it saved).
                if (lo == 0 && canParallel && Environment.ProcessorCount > 1 && (long)bufs[0].Length * count >= ParallelMinPoints)
                {
                    parallel = true;
                    while (bufs.Count < Math.Min(FoldBatch, count)) bufs.Add(SlotBuffers.Rent());
                }
                lo += m;
            }
            return true;
        }
        finally
        {
            foreach (var b in bufs) SlotBuffers.Return(b);
        }
    }

    /// <summary>
    /// The series of <paramref name="names"/> as graphite-web fetches them, each holding its pooled window until a function
    /// reads its values (<see cref="TimeSeries.Fetched"/>): a plain <c>/render</c> copies no values.
    /// </summary>
    private static List<TimeSeries> FetchNames(RenderContext ctx, SortedSet<string> names, string pathExpr)
    {
        var sorted = new string[names.Count];
        names.CopyTo(sorted);
        var result = new List<TimeSeries>(sorted.Length);
        FetchEach(ctx, sorted.Length, i => sorted[i], (i, buf) =>
        {
            ctx.Budget?.Take(buf.Length);
            result.Add(new TimeSeries(sorted[i], buf, ctx.XFilesFactor, pathExpr));
            return true;
        }, keep: true);
        return result;
    }

    private static bool Read(RenderContext ctx, string name, SlotBuffer buf) =>
        ctx.Reader.FetchInto(name, ctx.StartTime, ctx.EndTime, buf);
}
