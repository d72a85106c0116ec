using Observe.Collector.Statsd;

namespace Observe.Collector.Tests.Statsd;

/// <summary>Ports of Etsy statsd 0.9.0's helpers_tests.js, process_metrics_tests.js and set_tests.js.</summary>
public sealed class StatsdReferenceTests
{
    // helpers_tests.js: is_valid_packet(fields) → a line "k:" + fields.join('|') is good or bad.
    [Theory]
    [InlineData("foo", false)]                 // no type
    [InlineData("0,345345|ms", false)]
    [InlineData("345345|ms|0,456456", false)]
    [InlineData("|c", false)]
    [InlineData("+10e1|c", true)]
    [InlineData("+10|c", true)]
    [InlineData("-10|c", true)]
    [InlineData("-1|ms", false)]
    [InlineData("-1.0|ms", false)]
    [InlineData("+1|ms", true)]
    [InlineData("1.0|ms", true)]
    [InlineData("+1.0|ms", true)]
    [InlineData("+0.0|ms", true)]
    [InlineData("-0.0|ms", true)]
    [InlineData("0.0|ms", true)]
    [InlineData("0|ms", true)]
    [InlineData("|g", false)]
    [InlineData("10|g", true)]
    [InlineData("+10|g", true)]
    [InlineData("10.0|g", true)]
    [InlineData("+10.0|g", true)]
    [InlineData("-10|g", true)]
    [InlineData("-10.0|g", true)]
    [InlineData("foo|s", true)]
    [InlineData("123456|s", true)]
    [InlineData("345345|ms|", false)]
    [InlineData("345345|ms|b", false)]
    [InlineData("345345|ms|blah", false)]
    [InlineData("345345|ms|@", false)]
    [InlineData("345345|ms|@blah", false)]
    [InlineData("345345|ms|@.", false)]
    [InlineData("345345|ms|@.1.", false)]
    [InlineData("345345|ms|@.1.2.3", false)]
    [InlineData("345345|ms|@-1.0", false)]
    [InlineData("345345|ms|@2", true)]
    [InlineData("345345|ms|@.2", true)]
    [InlineData("345345|ms|@0.2", true)]
    [InlineData("345345|ms|@2e-1", true)]
    [InlineData("345345|ms|@1.0", true)]
    [InlineData("100|ms|@0.1", true)]
    [InlineData("1.0|c|@0.1", true)]
    public void Validation_matches_helpers_tests(string fields, bool valid)
    {
        var a = StatsdTest.Aggregator();
        a.Send("k:" + fields);
        Assert.Equal(valid ? 0 : 1, a.Totals.BadLinesSeen);
    }

    [Fact]
    public void Counters_have_count_and_rate()
    {
        var a = StatsdTest.Aggregator(o => o.FlushInterval = 100);
        a.Send("a:2|c");
        var d = a.FlushDict();
        Assert.Equal(2, d["stats_counts.a"]);
        Assert.Equal(20, d["stats.a"]);
    }

    [Fact]
    public void Timer_single_time()
    {
        var t = StatsdTest.Timer(["a:100|ms"], o => o.FlushInterval = 100);
        Assert.Equal(0, t["std"]); Assert.Equal(100, t["upper"]); Assert.Equal(100, t["lower"]);
        Assert.Equal(1, t["count"]); Assert.Equal(10, t["count_ps"]); Assert.Equal(100, t["sum"]);
        Assert.Equal(100 * 100, t["sum_squares"]); Assert.Equal(100, t["mean"]); Assert.Equal(100, t["median"]);
        Assert.Equal(100, t["mean_90"]); Assert.Equal(100, t["upper_90"]); Assert.Equal(1, t["count_90"]);
    }

    [Fact]
    public void Timer_single_time_with_one_filter()
    {
        var t = StatsdTest.Timer(["a:100|ms"], o =>
        {
            o.FlushInterval = 100; o.PercentThreshold = [];
            o.CalculatedTimerMetrics = ["upper", "lower", "count", "count_ps", "sum", "sum_squares", "mean", "median"];
        });
        Assert.Equal(8, t.Count);
        Assert.False(t.ContainsKey("std"));
    }

    [Fact]
    public void Timer_single_time_multiple_filter()
    {
        var t = StatsdTest.Timer(["a:100|ms"], o =>
        {
            o.FlushInterval = 100; o.PercentThreshold = [];
            o.CalculatedTimerMetrics = ["upper", "lower", "count_ps", "sum_squares"];
        });
        Assert.Equal(["count_ps", "lower", "sum_squares", "upper"], t.Keys.Order());
    }

    [Fact]
    public void Timer_multiple_times()
    {
        var t = StatsdTest.Timer(["a:100|ms", "a:200|ms", "a:300|ms"], o => o.FlushInterval = 100);
        Assert.Equal(81.64965809277261, t["std"]); Assert.Equal(300, t["upper"]); Assert.Equal(100, t["lower"]);
        Assert.Equal(3, t["count"]); Assert.Equal(30, t["count_ps"]); Assert.Equal(600, t["sum"]);
        Assert.Equal(140000, t["sum_squares"]); Assert.Equal(200, t["mean"]); Assert.Equal(200, t["median"]);
    }

    [Fact]
    public void Timer_percentiles_with_calculated_metrics_filter()
    {
        var t = StatsdTest.Timer(["a:100|ms"], o => { o.PercentThreshold = [90]; o.CalculatedTimerMetrics = ["upper_percent", "sum_squares_percent"]; });
        Assert.Equal(["sum_squares_90", "upper_90"], t.Keys.Order());
    }

    [Theory]
    // values, pct, count_P, mean_P, upper_P, sum_P
    [InlineData(new double[] { 100, 200, 300 }, 90, 3, 200, 300, 600)]
    [InlineData(new double[] { 100, 200, 300 }, 80, 2, 150, 200, 300)]
    [InlineData(new double[] { 100 }, 80, 1, 100, 100, 100)]
    public void Timer_percentiles(double[] values, double pct, double count, double mean, double upper, double sum)
    {
        var t = StatsdTest.Timer([.. values.Select(v => $"a:{v}|ms")], o => o.PercentThreshold = [pct]);
        var p = TimerStatistics.CleanPct(pct);
        Assert.Equal(count, t["count_" + p]); Assert.Equal(mean, t["mean_" + p]);
        Assert.Equal(upper, t["upper_" + p]); Assert.Equal(sum, t["sum_" + p]);
    }

    [Fact]
    public void Timer_top_percentiles()
    {
        var t = StatsdTest.Timer(["a:100|ms", "a:200|ms", "a:300|ms"], o => o.PercentThreshold = [-10, -66]);
        Assert.False(t.ContainsKey("count_top10")); // round(0.3) = 0 → skipped
        Assert.Equal(2, t["count_top66"]); Assert.Equal(250, t["mean_top66"]);
        Assert.Equal(200, t["lower_top66"]); Assert.Equal(500, t["sum_top66"]);
        Assert.Equal(200 * 200 + 300 * 300, t["sum_squares_top66"]);
    }

    [Fact]
    public void Timer_fractional_percentile_name()
    {
        var t = StatsdTest.Timer(["a:1|ms", "a:2|ms"], o => o.PercentThreshold = [99.9]);
        Assert.Equal(2, t["upper_99_9"]);
    }

    [Fact]
    public void Timer_sampled_counts_scale_only_count()
    {
        var t = StatsdTest.Timer(["a:100|ms|@0.1"], o => o.FlushInterval = 200);
        Assert.Equal(10, t["count"]); Assert.Equal(50, t["count_ps"]); Assert.Equal(100, t["mean"]);
    }

    [Fact]
    public void Timer_even_count_median_averages_middle()
    {
        var t = StatsdTest.Timer(["a:100|ms", "a:200|ms", "a:300|ms", "a:400|ms"]);
        Assert.Equal(250, t["median"]);
    }

    [Fact]
    public void Histograms_first_substring_match_bins_and_inf()
    {
        var t = StatsdTest.Timer(["abcd:1|ms", "abcd:2|ms", "abcd:30|ms", "abcd:300|ms", "abcd:5000|ms"], o => o.Histogram =
        [
            new HistogramOptions { Metric = "abc", Bins = ["1.5", "100", "inf"] },
            new HistogramOptions { Metric = "abcd", Bins = ["1"] },
        ], "abcd");
        Assert.Equal(1, t["histogram.bin_1_5"]);
        Assert.Equal(2, t["histogram.bin_100"]);
        Assert.Equal(2, t["histogram.bin_inf"]);
        var t2 = StatsdTest.Timer(["x:1|ms", "x:500|ms"], o => o.Histogram = [new HistogramOptions { Metric = "x", Bins = ["10", "100"] }], "x");
        Assert.Equal(1, t2["histogram.bin_10"]);
        Assert.Equal(0, t2["histogram.bin_100"]); // above the last bin: dropped
    }

    [Fact]
    public void Idle_timer_sends_only_zero_counts()
    {
        var a = StatsdTest.Aggregator();
        a.Send("a:5|ms");
        a.FlushDict();
        var d = a.FlushDict().Where(kv => kv.Key.StartsWith("stats.timers.a.")).ToDictionary();
        Assert.Equal(new Dictionary<string, double> { ["stats.timers.a.count"] = 0, ["stats.timers.a.count_ps"] = 0 }, d);
    }

    // set_tests.js
    [Fact]
    public void Sets_count_unique_members_per_flush()
    {
        var a = StatsdTest.Aggregator();
        a.Send("s:foo|s", "s:bar|s", "s:foo|s", "s:|s");
        Assert.Equal(3, a.FlushDict()["stats.sets.s.count"]);
        Assert.Equal(0, a.FlushDict()["stats.sets.s.count"]);
    }
}
