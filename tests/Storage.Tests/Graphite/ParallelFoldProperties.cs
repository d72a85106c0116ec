using FsCheck.Xunit;
using Observe.Storage.Graphite;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests.Graphite;

/// <summary>
/// Issue 21: over the embedded store a streamed aggregate fetches its inputs on all cores (chunks decoded outside the
/// store lock into pooled slot buffers) and folds them in name order. For random fleets — gaps (None), NaN, ±0, ±inf,
/// huge and tiny values, series in sealed chunks, in the head, rewritten, and more series than one fetch batch — it
/// gives the very bits of the sequential evaluation: the store behind a plain ISeriesReader, fetched one series at a time
/// with Fetch, and group() making the evaluator hold every series; also when a batch's values are folded by slot ranges on all cores. Windows in the 10 s archive and in the 1 m one.
/// </summary>
public class ParallelFoldProperties
{
    private const long Start = 1_800_000_000 - 1_800_000_000 % 3600;

    [Property(MaxTest = 12)]
    public void Parallel_fold_equals_sequential_evaluation(int seed)
    {
        Evaluator.ParallelMinPoints = 0; // every fetch of more than one series goes parallel here (the results must not change)
        Evaluator.ParallelFoldMinPoints = 0; // and every batch is folded by slot ranges on all cores
        var rnd = new Random(seed);
        int series = rnd.Next(1, 90), slots = rnd.Next(30, 360);
        double[] odd = [double.NaN, -0.0, 0.0, double.PositiveInfinity, double.NegativeInfinity, 1e300, -1e300, 1e-300, 0.1];
        var time = ManualTimeProvider.AtUnixSeconds(Start);
        // 10 s kept for 10 min: a window of 50 min reads the 1 m archive, whose head region is rolled up at read time.
        using var store = TimeSeriesStore.Open(TestStore.Options(retentions: "10s:10m,1m:2h,10m:1d"), time);
        var sequentialReader = new PlainReader(store);
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
        foreach (var window in new long[] { 5 * 60, 50 * 60 })
        {
            // The plain fetch: every series' slots from FetchInto (batched, parallel) equal Fetch's.
            var fetched = Render(store, "fleet.*.req", now, window);
            var plain = Render(sequentialReader, "fleet.*.req", now, window);
            Assert.Equal(plain.Count, fetched.Count);
            for (int i = 0; i < plain.Count; i++)
            {
                Assert.Equal((plain[i].Name, plain[i].Start, plain[i].Step), (fetched[i].Name, fetched[i].Start, fetched[i].Step));
                Assert.Equal(plain[i].Values.Select(Bits), fetched[i].Values.Select(Bits));
            }
            foreach (var f in new[] { "sumSeries", "averageSeries", "minSeries", "maxSeries", "multiplySeries" })
            {
                var a = Assert.Single(Render(store, $"{f}(fleet.*.req)", now, window));
                var b = Assert.Single(Render(sequentialReader, $"{f}(group(fleet.*.req))", now, window));
                Assert.Equal((b.Start, b.End, b.Step), (a.Start, a.End, a.Step));
                Assert.Equal(b.Values.Select(Bits), a.Values.Select(Bits));
            }
        }
    }

    private static List<TimeSeries> Render(ISeriesReader reader, string target, long now, long window)
    {
        var req = new GraphiteApi.RenderRequest([target], now - window, now, now, "json", null, false, 0, null);
        return GraphiteApi.Evaluate(req, reader, null, new RenderLimitOptions());
    }

    /// <summary>The store seen only through <see cref="ISeriesReader"/>: the evaluator fetches one series at a time with <see cref="ISeriesReader.Fetch"/>.</summary>
    private sealed class PlainReader(ISeriesReader inner) : ISeriesReader
    {
        public IReadOnlyList<MetricNode> Find(string pattern) => inner.Find(pattern);
        public IReadOnlyList<string> TaggedSeries() => inner.TaggedSeries();
        public SeriesWindow? Fetch(string series, long from, long until) => inner.Fetch(series, from, until);
    }

    private static long? Bits(double? v) => v is { } d ? BitConverter.DoubleToInt64Bits(d) : null;
}
