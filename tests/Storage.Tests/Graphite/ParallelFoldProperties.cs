using FsCheck.Xunit;
using Observe.Storage.Graphite;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests.Graphite;

/// <summary>
/// Issue 21: over the embedded store a streamed aggregate fetches its inputs on all cores (chunks decoded outside the
/// store lock into pooled slot buffers) and folds them in name order. For random fleets — gaps (None), NaN, ±0, ±inf,
/// huge and tiny values, series in sealed chunks, in the head, rewritten, and more series than one fetch batch — it
/// gives the very bits of the sequential evaluation (group() makes the evaluator fetch and hold every series, one at a time).
/// </summary>
public class ParallelFoldProperties
{
    private const long Start = 1_800_000_000 - 1_800_000_000 % 3600;

    [Property(MaxTest = 12)]
    public void Parallel_fold_equals_sequential_evaluation(int seed)
    {
        var rnd = new Random(seed);
        int series = rnd.Next(1, 90), slots = rnd.Next(30, 360);
        double[] odd = [double.NaN, -0.0, 0.0, double.PositiveInfinity, double.NegativeInfinity, 1e300, -1e300, 1e-300, 0.1];
        var time = ManualTimeProvider.AtUnixSeconds(Start);
        using var store = TimeSeriesStore.Open(TestStore.Options(), time);
        for (int t = 0; t < slots; t++)
        {
            long ts = Start + 10 * t;
            var points = new List<(string, double, long)>();
            for (int h = 0; h < series; h++)
            {
                if (rnd.NextDouble() < 0.25) continue; // a gap: None in this slot
                double v = rnd.NextDouble() < 0.05 ? odd[rnd.Next(odd.Length)] : Math.Round(rnd.NextDouble() * 2e3 - 1e3, rnd.Next(0, 4));
                points.Add(($"fleet.h{h:D3}.req", v, ts));
                if (rnd.NextDouble() < 0.02) points.Add(($"fleet.h{h:D3}.req", v * 3, ts)); // rewritten: the later point wins
            }
            time.UnixSeconds = ts + 10;
            TestStore.Write(store, ts, [.. points]);
            if (rnd.NextDouble() < 0.02) store.Compact(); // some slots sealed in chunks, the newest still in the head
        }
        long now = time.UnixSeconds;
        foreach (var f in new[] { "sumSeries", "averageSeries", "minSeries", "maxSeries", "multiplySeries" })
        {
            var parallel = Render(store, $"{f}(fleet.*.req)", now);
            var sequential = Render(store, $"{f}(group(fleet.*.req))", now);
            var a = Assert.Single(parallel);
            var b = Assert.Single(sequential);
            Assert.Equal((b.Start, b.End, b.Step), (a.Start, a.End, a.Step));
            Assert.Equal(b.Values.Select(Bits), a.Values.Select(Bits));
        }
    }

    private static List<TimeSeries> Render(TimeSeriesStore store, string target, long now)
    {
        var req = new GraphiteApi.RenderRequest([target], now - 3600, now, now, "json", null, false, 0, null);
        return GraphiteApi.Evaluate(req, store, null, new RenderLimitOptions());
    }

    private static long? Bits(double? v) => v is { } d ? BitConverter.DoubleToInt64Bits(d) : null;
}
