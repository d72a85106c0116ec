using Observe.Collector;
using Observe.Storage.Graphite;

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
