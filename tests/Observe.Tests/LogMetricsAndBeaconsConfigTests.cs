namespace Observe.Observe.Tests;

/// <summary><c>logs.metrics</c> and <c>collector.beacons</c> through the real binder: bound from YAML, problems named by key path and line.</summary>
public class LogMetricsAndBeaconsConfigTests
{
    [Fact]
    public void Rules_and_beacons_bind_from_yaml()
    {
        var (c, problems) = ConfigTests.LoadText("""
            collector:
              beacons:
                enabled: true
                port: 9001
                allowedOrigins: [https://shop.example]
                pageGroups: [{url: "^https://shop.example/p/", group: product}]
            logs:
              metrics:
                maxSeries: 50
                rules:
                  - {name: web.latency, service: web, level: warn, timer: ms, groupBy: [route], tags: [dc]}
                  - name: web.5xx
                    where: [{field: status, regex: "^5"}, {field: route, value: /pay}]
            """);
        Assert.Empty(problems);
        Assert.Equal((true, 9001, "product"), (c.Collector.Beacons.Enabled, c.Collector.Beacons.Port, c.Collector.Beacons.PageGroups[0].Group));
        Assert.Equal(50, c.Logs.Metrics.MaxSeries);
        Assert.Equal(["route"], c.Logs.Metrics.Rules[0].GroupBy);
        Assert.Equal(("status", "^5", "/pay"), (c.Logs.Metrics.Rules[1].Where[0].Field, c.Logs.Metrics.Rules[1].Where[0].Regex, c.Logs.Metrics.Rules[1].Where[1].Value));
    }

    [Fact]
    public void Bad_rules_and_beacon_settings_are_named_with_their_line()
    {
        var (_, problems) = ConfigTests.LoadText("""
            collector:
              statsd: {enabled: false}
              beacons:
                enabled: true
                allowedOrigins: [https://shop.example/path]
                pageGroups: [{url: "(", group: "a.b"}]
                maxRequestBytes: 10
            logs:
              metrics:
                rules:
                  - {name: "x y", level: loud, where: [{field: f, value: a, regex: b}]}
            """);
        var byKey = problems.Select(p => p.KeyPath).ToList();
        Assert.Contains("collector.beacons.allowedOrigins[0]", byKey);
        Assert.Contains("collector.beacons.pageGroups[0].url", byKey);
        Assert.Contains("collector.beacons.pageGroups[0].group", byKey);
        Assert.Contains("collector.beacons.maxRequestBytes", byKey);
        Assert.Contains("collector.beacons.enabled", byKey); // without the StatsD flush
        Assert.Contains("logs.metrics.rules", byKey);
        Assert.Contains(problems, p => p.KeyPath == "logs.metrics.rules[0].name" && p.Line == 11);
        Assert.Contains("logs.metrics.rules[0].level", byKey);
        Assert.Contains("logs.metrics.rules[0].where[0]", byKey);
    }
}
