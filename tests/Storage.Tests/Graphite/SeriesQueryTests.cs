using Observe.Collector;
using Observe.Storage.Graphite;
using Observe.TestSupport;

namespace Observe.Storage.Tests.Graphite;

/// <summary>ISeriesQuery: targets with functions, as /render evaluates them, for DeployMarkers' SLIs.</summary>
public class SeriesQueryTests
{
    [Fact]
    public async Task Evaluates_functions_over_the_window_and_reports_bad_targets()
    {
        const long t0 = 1_800_000_000;
        var store = new MemorySeriesStore("10s:1d", () => t0 + 100);
        for (var i = 0; i < 5; i++)
            await store.WriteAsync(new MetricBatch(t0 + i * 10, [new MetricPoint("api.errors", i, t0 + i * 10), new MetricPoint("api.requests", 10, t0 + i * 10)]), default);
        ISeriesQuery query = new GraphiteSeriesQuery(store, null);

        var s = Assert.Single(query.Evaluate("divideSeries(api.errors, api.requests)", t0, t0 + 40));
        Assert.Equal("divideSeries(api.errors,api.requests)", s.Name);
        Assert.Equal(10, s.Step);
        Assert.Equal(t0 + 10, s.Start); // whisper: the slot at exactly `from` is not part of the window
        Assert.Equal([0.1, 0.2, 0.3, 0.4], s.Values.Take(4).Select(v => v!.Value).ToArray());
        Assert.Empty(query.Evaluate("no.such.series", t0, t0 + 40));
        Assert.Throws<FormatException>(() => query.Evaluate("divideSeries(api.errors", t0, t0 + 40));
        Assert.Throws<FormatException>(() => query.Evaluate("noSuchFunction(api.errors)", t0, t0 + 40));
        Assert.Null(SeriesQueries.TargetProblem("sumSeries(a.*.b)"));
        Assert.NotNull(SeriesQueries.TargetProblem("sumSeries(a.*.b"));
    }
}

/// <summary>Issue 14: an error counter appears only with the first error; until then it counted nothing, it is not "no data".</summary>
public class AbsentCounterTests
{
    [Fact]
    public void An_absent_or_not_yet_started_statsd_counter_reads_as_zero_for_an_sli()
    {
        const long t0 = 1_800_000_000;
        var time = ManualTimeProvider.AtUnixSeconds(t0 + 300);
        using var store = Observe.Storage.Tsdb.TimeSeriesStore.Open(TestStore.Options(retentions: "10s:1d"), time);
        for (var i = 1; i <= 30; i++)
        {
            var ts = t0 + i * 10;
            var points = new List<(string, double, long)> { ("stats_counts.shop.requests", 50, ts) };
            if (i > 20) points.Add(("stats_counts.shop.errors", 15, ts)); // the first error at slot 21
            TestStore.Write(store, ts, [.. points]);
        }
        ISeriesQuery query = new GraphiteSeriesQuery(store, null);
        Func<string, bool> counters = Observe.Collector.StatsdCounterNames.Matcher(new StatsdOptions());
        const string sli = "divideSeries(stats_counts.shop.errors,stats_counts.shop.requests)";

        // before the first error: the baseline is zero errors, not an empty window
        var baseline = Assert.Single(query.Evaluate(sli, t0, t0 + 200, counters));
        Assert.Equal(20, baseline.Values.Count(v => v == 0));
        var after = Assert.Single(query.Evaluate(sli, t0 + 200, t0 + 300, counters));
        Assert.All(after.Values.Where(v => v != null), v => Assert.Equal(0.3, v!.Value, 6));
        // a counter that never existed is all zeros; a gauge or timer that does not exist stays absent
        Assert.All(Assert.Single(query.Evaluate("divideSeries(stats_counts.shop.timeouts,stats_counts.shop.requests)", t0, t0 + 200, counters)).Values.Where(v => v != null),
            v => Assert.Equal(0, v!.Value));
        Assert.Empty(query.Evaluate("stats.timers.shop.latency.upper_90", t0, t0 + 200, counters));
        Assert.Empty(query.Evaluate("stats.gauges.shop.queue", t0, t0 + 200, counters));
        // as /render: without the counter rule nothing changes (no points before the first error)
        Assert.All(Assert.Single(query.Evaluate(sli, t0, t0 + 200)).Values, v => Assert.Null(v));
        Assert.True(counters("stats.shop.errors"));
        Assert.False(counters("stats.statsd.numStats"));
        Assert.True(Observe.Collector.StatsdCounterNames.Matcher(new StatsdOptions { LegacyNamespace = false })("stats.counters.shop.errors.count"));
        Assert.False(Observe.Collector.StatsdCounterNames.Matcher(new StatsdOptions { LegacyNamespace = false })("stats.gauges.shop.errors"));
    }
}
