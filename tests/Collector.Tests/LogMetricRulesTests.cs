using Observe.Collector.Logs;
using Observe.Collector.Tests.Statsd;

namespace Observe.Collector.Tests;

public class LogMetricRulesTests
{
    private static LogEvent Event(string service, string level, params (string K, string V)[] fields) =>
        new(DateTimeOffset.UnixEpoch, level, "h", service, "m", fields.ToDictionary(f => f.K, f => f.V));

    private static (LogMetricRules Rules, Observe.Collector.Statsd.StatsdAggregator Aggregator) Make(LogMetricsOptions o)
    {
        var a = StatsdTest.Aggregator();
        return (new LogMetricRules(o, a, keyNameSanitize: true), a);
    }

    [Fact]
    public void A_timer_rule_flushes_exactly_what_the_same_samples_sent_as_statsd_lines_flush()
    {
        var (rules, a) = Make(new LogMetricsOptions { Rules = [new() { Name = "web.latency", Timer = "latency_ms", GroupBy = ["route"] }] });
        double[] values = [12, 3.5, 40, 7, 7, 1000, 0];
        foreach (var v in values) rules.Apply(Event("web", "info", ("route", "/pay"), ("latency_ms", v.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        var fromLogs = a.FlushDict().Where(kv => kv.Key.StartsWith("stats.timers.")).ToDictionary();
        var fromLines = StatsdTest.Timer([.. values.Select(v => $"web.latency._pay:{v.ToString(System.Globalization.CultureInfo.InvariantCulture)}|ms")], key: "web.latency._pay");
        Assert.Equal(fromLines.Count, fromLogs.Count);
        foreach (var (k, v) in fromLines) Assert.Equal(v, fromLogs["stats.timers.web.latency._pay." + k]);
        Assert.Equal(1000, fromLines["upper"]);
    }

    [Fact]
    public void Series_beyond_maxSeries_are_dropped_and_counted_and_long_values_cut()
    {
        var (rules, a) = Make(new LogMetricsOptions { MaxSeries = 3, MaxValueLength = 8, Rules = [new() { Name = "req", GroupBy = ["user"] }] });
        for (var i = 0; i < 100; i++) rules.Apply(Event("web", "info", ("user", $"u{i % 10}")));
        rules.Apply(Event("web", "info", ("user", new string('x', 5000))));
        var counts = a.FlushDict().Where(kv => kv.Key.StartsWith("stats_counts.req.")).ToDictionary();
        Assert.Equal(["stats_counts.req.u0", "stats_counts.req.u1", "stats_counts.req.u2"], counts.Keys.Order());
        Assert.All(counts.Values, v => Assert.Equal(10, v));
        Assert.Equal(71, rules.Drops()["series_limit"]); // 70 of u3…u9 and the long one (cut to 8 characters, still a new series)
    }

    [Fact]
    public void Conditions_levels_and_tags_select_and_name_the_series()
    {
        var (rules, a) = Make(new LogMetricsOptions
        {
            Rules =
            [
                new() { Name = "pay.errors", Service = "checkout", Level = "ERROR", Where = [new() { Field = "status", Regex = "^5" }, new() { Field = "route", Value = "/pay" }], Tags = ["dc"] },
                new() { Name = "pay.slow", Timer = "ms", Where = [new() { Field = "message", Regex = "^(a+)+$" }] },
            ],
        });
        rules.Apply(Event("checkout", "error", ("status", "502"), ("route", "/pay"), ("dc", "eu 1")));
        rules.Apply(Event("checkout", "warn", ("status", "502"), ("route", "/pay"), ("dc", "eu 1")));
        rules.Apply(Event("checkout", "error", ("status", "404"), ("route", "/pay"), ("dc", "eu 1")));
        rules.Apply(Event("cart", "error", ("status", "502"), ("route", "/pay")));
        // A pattern that backtracks exponentially elsewhere is linear here: a long hostile message matches quickly, no timeout.
        var hostile = new LogEvent(DateTimeOffset.UnixEpoch, "info", null, "x", new string('a', 50_000) + "!", new Dictionary<string, string> { ["ms"] = "1" });
        var t = System.Diagnostics.Stopwatch.StartNew();
        rules.Apply(hostile);
        Assert.True(t.ElapsedMilliseconds < 2000, $"{t.ElapsedMilliseconds} ms");
        var flushed = a.FlushDict();
        Assert.True(flushed.TryGetValue("stats_counts.pay.errors;dc=eu_1", out var errors), string.Join(", ", flushed.Keys));
        Assert.Equal(1, errors);
        Assert.DoesNotContain(flushed.Keys, k => k.Contains("pay.slow"));
    }

    [Fact]
    public void Validation_names_each_bad_key()
    {
        var o = new LogMetricsOptions
        {
            MaxSeries = 0,
            Rules =
            [
                new() { Name = "ok", Level = "loud", Where = [new() { Field = "f" }, new() { Field = "g", Regex = "(" }], GroupBy = ["a.b"] },
                new() { Name = "ok" },
                new() { Name = "bad name" },
            ],
        };
        var problems = o.Validate().Select(p => p.KeyPath).ToList();
        Assert.Equal(["logs.metrics.maxSeries", "logs.metrics.rules[0].level", "logs.metrics.rules[0].where[0]", "logs.metrics.rules[0].where[1].regex",
            "logs.metrics.rules[0].groupBy[0]", "logs.metrics.rules[1].name", "logs.metrics.rules[2].name"], problems);
    }
}
