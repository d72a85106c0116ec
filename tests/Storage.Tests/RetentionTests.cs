using Observe.Storage.Tsdb;

namespace Observe.Storage.Tests;

public class RetentionTests
{
    [Fact]
    public void Parses_graphite_retentions()
    {
        var s = Schema.Parse("x", "10s:6h,1m:7d,10m:5y");
        Assert.Equal([new Archive(10, 21600), new Archive(60, 604800), new Archive(600, 5 * 31536000L)], s.Archives);
        Assert.Equal(2160, s.Archives[0].Points);
        Assert.Equal([new Archive(60, 60 * 1440)], Schema.Parse("y", "60:1440").Archives);
        Assert.Throws<FormatException>(() => Schema.Parse("bad", "10s:6h,15s:7d"));   // 15 not a multiple of 10
        Assert.Throws<FormatException>(() => Schema.Parse("bad", "10s:7d,1m:6h"));    // coarser retains less
    }

    // Hand-checked against whisper.__propagate: 6 fine slots per coarse slot.
    [Theory]
    [InlineData("average", 0.5, new double[] { 1, 2, 3 }, 2.0)]          // 3/6 known >= 0.5
    [InlineData("average", 0.51, new double[] { 1, 2, 3 }, null)]        // 3/6 < 0.51: not propagated
    [InlineData("sum", 0, new double[] { 1, 2, 3 }, 6.0)]
    [InlineData("sum", 0, new double[] { }, null)]                        // no known values: never propagated
    [InlineData("min", 0.1, new double[] { 4, -2, 3 }, -2.0)]
    [InlineData("max", 0.1, new double[] { 4, -2, 3 }, 4.0)]
    [InlineData("last", 0, new double[] { 4, -2, 3 }, 3.0)]
    [InlineData("average", 1.0, new double[] { 1, 1, 1, 1, 1, 7 }, 2.0)]
    public void AggregatesLikeWhisper(string method, double xff, double[] known, double? expected)
    {
        var agg = new Aggregation(Aggregation.ParseMethod(method), xff);
        var fine = new double?[6];
        for (int i = 0; i < known.Length; i++) fine[i] = known[i];
        Assert.Equal(expected, agg.Aggregate(fine));
    }

    [Fact]
    public void Rule_set_first_match_wins_with_statsd_defaults()
    {
        var rules = new RuleSet(new StorageOptions
        {
            Schemas = [new() { Pattern = "^stats\\.fast", Retentions = "1s:1h" }, new() { Pattern = ".*", Retentions = "10s:6h,1m:7d" }],
        });
        Assert.Equal(1, rules.SchemaFor("stats.fast.x").Archives[0].Step);
        Assert.Equal(10, rules.SchemaFor("stats.slow.x").Archives[0].Step);
        Assert.Equal(new Aggregation(AggMethod.Min, 0.1), rules.AggregationFor("stats.timers.a.lower"));
        Assert.Equal(new Aggregation(AggMethod.Max, 0.1), rules.AggregationFor("stats.timers.a.upper_90"));
        Assert.Equal(new Aggregation(AggMethod.Sum, 0), rules.AggregationFor("stats.timers.a.count"));
        Assert.Equal(new Aggregation(AggMethod.Sum, 0), rules.AggregationFor("stats_counts.a"));
        Assert.Equal(new Aggregation(AggMethod.Last, 0), rules.AggregationFor("stats.gauges.a"));
        Assert.Equal(new Aggregation(AggMethod.Average, 0.3), rules.AggregationFor("stats.timers.a.mean"));
        // sparse series keep every point in rollups: deploy markers are counted, verdict waits and check states kept at their worst
        Assert.Equal(new Aggregation(AggMethod.Sum, 0), rules.AggregationFor("deploys.shop.prod.started"));
        Assert.Equal(new Aggregation(AggMethod.Sum, 0), rules.AggregationFor("deploys.shop.prod.verdict.pass"));
        Assert.Equal(new Aggregation(AggMethod.Max, 0), rules.AggregationFor("deploys.shop.prod.time_to_verdict_seconds"));
        Assert.Equal(new Aggregation(AggMethod.Max, 0), rules.AggregationFor("checks.web1.http.state"));
        Assert.Equal(new Aggregation(AggMethod.Average, 0), rules.AggregationFor("checks.web1.http.time"));
        Assert.Equal(new Aggregation(AggMethod.Average, 0.3), rules.AggregationFor("observe.flush.duration_seconds"));
    }
}
