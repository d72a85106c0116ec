using Observe.Collector;
using Observe.Storage.Sinks.Prometheus;

namespace Observe.Storage.Tests.Sinks;

public class PrometheusMappingTests
{
    private static PrometheusNameMapper Mapper(params PrometheusMappingOptions[] rules) => new(rules);

    private static string Show(PrometheusSeries? s) =>
        s == null ? "(dropped)" : s.Name + "{" + string.Join(",", s.Labels.Select(l => $"{l.Key}={l.Value}")) + "}";

    [Theory]
    [InlineData("stats.api.requests", "stats_api_requests{}")]
    [InlineData("stats.timers.shop-api.GET /cart.upper_90", "stats_timers_shop_api_GET__cart_upper_90{}")]
    [InlineData("5xx.count", "_5xx_count{}")]
    [InlineData("stats_counts.api.hits;env=prod;host=web1", "stats_counts_api_hits{env=prod,host=web1}")]
    [InlineData("a.b;0day=x;__name__=evil;dc-name=eu", "a_b{_0day=x,dc_name=eu,tag__name__=evil}")]
    [InlineData("a.b;empty=", "a_b{}")]
    public void Unmapped_paths_are_sanitised_and_tags_become_labels(string path, string expected) =>
        Assert.Equal(expected, Show(PrometheusNameMapper.Unmapped.Map(path)));

    [Fact]
    public void Glob_star_captures_one_node_and_fills_name_and_labels()
    {
        var m = Mapper(new PrometheusMappingOptions
        {
            Match = "stats.timers.*.*.mean", Name = "timer_mean_${2}_seconds", Labels = { ["service"] = "$1", ["what"] = "${2}x" },
        });
        Assert.Equal("timer_mean_checkout_seconds{service=shop,what=checkoutx}", Show(m.Map("stats.timers.shop.checkout.mean")));
        // * never crosses a dot, and the glob is anchored at both ends.
        Assert.Equal("stats_timers_shop_web_checkout_mean{}", Show(m.Map("stats.timers.shop.web.checkout.mean")));
        Assert.Equal("stats_timers_shop_checkout_mean_x{}", Show(m.Map("stats.timers.shop.checkout.mean.x")));
    }

    [Fact]
    public void Globs_are_tried_before_regexes_and_the_first_match_wins()
    {
        var m = Mapper(
            new PrometheusMappingOptions { Match = "^stats\\.(.*)$", MatchType = "regex", Name = "regex_$1" },
            new PrometheusMappingOptions { Match = "stats.*.requests", Name = "first_glob", Labels = { ["svc"] = "$1" } },
            new PrometheusMappingOptions { Match = "stats.api.*", Name = "second_glob" },
            new PrometheusMappingOptions { Match = "stats.noise.*", Action = "drop" });
        Assert.Equal("first_glob{svc=api}", Show(m.Map("stats.api.requests")));
        Assert.Equal("second_glob{}", Show(m.Map("stats.api.errors")));
        Assert.Equal("regex_gauges_x{}", Show(m.Map("stats.gauges.x")));
        Assert.Equal("(dropped)", Show(m.Map("stats.noise.x")));
        Assert.Equal("other{}", Show(m.Map("other")));
    }

    [Fact]
    public void A_rule_label_wins_over_a_tag_of_the_same_name_and_placeholders_expand_like_Go()
    {
        var m = Mapper(new PrometheusMappingOptions { Match = "req.*", Name = "requests_$1_total", Labels = { ["env"] = "mapped" } });
        Assert.Equal("requests_get_total{env=mapped,host=a}", Show(m.Map("req.get;env=tag;host=a")));
        // $n takes every digit that follows ($10 = capture 10, absent here: empty); ${1}0 is capture 1 then "0".
        Assert.Equal("v{}", Show(Mapper(new PrometheusMappingOptions { Match = "x\\.(\\d)", MatchType = "regex", Name = "v$10" }).Map("x.1")));
        Assert.Equal("v10{}", Show(Mapper(new PrometheusMappingOptions { Match = "x\\.(\\d)", MatchType = "regex", Name = "v${1}0" }).Map("x.1")));
    }

    [Fact]
    public void Config_problems_name_the_rule_and_key()
    {
        var problems = PrometheusSinks.Validate(new PrometheusExpositionOptions
        {
            StaleAfterFlushes = 0,
            Mappings =
            [
                new() { Match = "a.*", Name = "ok" },
                new() { Match = "(", MatchType = "regex", Name = "x" },
                new() { Match = "b.*", MatchType = "wild" },
                new() { Match = "c.*", Labels = { ["__bad"] = "1", ["9x"] = "2" }, Name = "c" },
            ],
        });
        var keys = problems.Select(p => p.KeyPath).ToList();
        Assert.Equal(["prometheus.mappings[1].match", "prometheus.mappings[2].matchType", "prometheus.mappings[2].name",
            "prometheus.mappings[3].labels.__bad", "prometheus.mappings[3].labels.9x", "prometheus.staleAfterFlushes"], keys);
    }
}

public class PrometheusExpositionTests
{
    private static MetricBatch Batch(long ts, params (string Path, double Value)[] points) =>
        new(ts, points.Select(p => new MetricPoint(p.Path, p.Value, ts)).ToList());

    [Fact]
    public async Task Renders_the_latest_value_of_each_series_grouped_by_family_with_escaped_labels()
    {
        var e = new PrometheusExposition(PrometheusNameMapper.Unmapped, 3, TimeSpan.FromSeconds(10));
        await e.WriteAsync(Batch(100, ("b.x;k=v1", 1), ("a.y", 2), ("b.x;k=v0", 3), ("c;q=a\"b\\c\nd", double.NaN), ("d", double.PositiveInfinity)), default);
        await e.WriteAsync(Batch(110, ("a.y", 0.25)), default);
        Assert.Equal(
            "# TYPE a_y gauge\na_y 0.25\n" +
            "# TYPE b_x gauge\nb_x{k=\"v0\"} 3\nb_x{k=\"v1\"} 1\n" +
            "# TYPE c gauge\nc{q=\"a\\\"b\\\\c\\nd\"} NaN\n" +
            "# TYPE d gauge\nd +Inf\n", e.Render());
    }

    [Fact]
    public async Task A_series_absent_for_N_flushes_disappears_and_comes_back_when_sent_again()
    {
        var e = new PrometheusExposition(PrometheusNameMapper.Unmapped, 2, TimeSpan.FromSeconds(10));
        await e.WriteAsync(Batch(100, ("gone", 1), ("kept", 1)), default);
        await e.WriteAsync(Batch(110, ("kept", 2)), default);
        Assert.Contains("gone 1", e.Render()); // absent for one flush only
        await e.WriteAsync(Batch(120, ("kept", 3)), default);
        Assert.DoesNotContain("gone", e.Render());
        Assert.Equal(1, e.SeriesCount);
        await e.WriteAsync(Batch(130, ("gone", 4)), default);
        Assert.Contains("gone 4", e.Render());
    }

    [Fact]
    public async Task A_family_the_host_already_exports_is_left_out_and_counted()
    {
        var e = new PrometheusExposition(PrometheusNameMapper.Unmapped, 3, TimeSpan.FromSeconds(10));
        await e.WriteAsync(Batch(100, ("observe_flushes_total", 1), ("mine", 2)), default);
        Assert.Equal("# TYPE mine gauge\nmine 2\n", e.Render(new HashSet<string> { "observe_flushes_total" }));
        Assert.Equal(1, e.NameConflicts);
    }
}
