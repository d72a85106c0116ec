using System.Net.Sockets;
using System.Text;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// logs.metrics end to end: the real `observe` process takes a log stream over UDP JSON and GELF (the npm client gelf-pro)
/// and its rules turn it into StatsD counters and timers, read back through /render under Etsy's names.
/// </summary>
public class LogMetricsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Log_events_over_udp_json_and_gelf_become_counters_and_timers_in_render()
    {
        var dir = Repo.TempDir("log-metrics");
        int statsd = FreePort.Get(), udpJson = FreePort.Get(), gelf = FreePort.Get();
        await using var observe = await ObserveProcess.StartAsync(new ObserveSetup(dir)
        {
            Environment = new Dictionary<string, string> { ["OBSERVE__Logs__Udp__Port"] = $"{udpJson}", ["OBSERVE__Logs__Gelf__Port"] = $"{gelf}" },
            Config = s => $$"""
            http: {port: {{s.HttpPort}}}
            collector:
              statsd: {port: {{statsd}}, flushInterval: 1000, flushOnStop: immediate}
              graphite: {enabled: false}
            logs:
              udp: {port: {{udpJson}}}
              gelf: {port: {{gelf}}, tcp: false}
              metrics:
                rules:
                  - {name: checkout.latency, service: checkout, timer: latency_ms, groupBy: [route]}
                  - {name: checkout.by_region, service: checkout, timer: latency_ms, tags: [region]}
                  - name: checkout.server_errors
                    service: checkout
                    where: [{field: status, regex: "^5[0-9][0-9]$"}, {field: route, value: /pay}]
                  - {name: errors, level: error, groupBy: [service]}
            storage:
              dataDir: {{dir}}/data
              schemas:
                - {name: all, pattern: ".*", retentions: "1s:1h"}
            """,
        });
        var client = observe.Client;
        var start = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 2;

        using (var json = new UdpClient())
        {
            json.Connect("127.0.0.1", udpJson);
            foreach (var (latency, status, level, region) in new[] { (10, 200, "info", "eu"), (20, 500, "error", "eu"), (30, 503, "error", "us"), (40, 200, "info", "us") })
                await json.SendAsync(Encoding.UTF8.GetBytes(
                    $$"""{"message":"GET /pay","service":"checkout","level":"{{level}}","route":"/pay","status":"{{status}}","latency_ms":{{latency}},"region":"{{region}}"}"""));
            // Another route, and another service with a latency that no checkout rule may take.
            await json.SendAsync(Encoding.UTF8.GetBytes("""{"message":"GET /","service":"checkout","level":"info","route":"/","status":"500","latency_ms":5,"region":"eu"}"""));
            await json.SendAsync(Encoding.UTF8.GetBytes("""{"message":"x","service":"search","level":"error","route":"/pay","status":"500","latency_ms":999}"""));
            // Not a number: matched, counted as a drop, no sample.
            await json.SendAsync(Encoding.UTF8.GetBytes("""{"message":"x","service":"checkout","level":"info","route":"/pay","latency_ms":"slow","region":"eu"}"""));
        }
        // GELF additional fields (_route, _latency_ms) through gelf-pro: an error of checkout on /pay taking 100 ms.
        await LogsEndToEndTests.GelfPro(output, "udp", gelf, "gelf-pro checkout",
            "{ route: '/pay', status: '502', latency_ms: 100, region: 'eu' }", service: "checkout");

        async Task Sum(string target, double expected) =>
            await Poll.UntilAsync(async () => (await RenderJson.PointsAsync(client, target, start)).Values.Sum() == expected,
                TimeSpan.FromSeconds(15), $"sum of {target} = {expected}");
        async Task Extreme(string target, Func<IEnumerable<double>, double> f, double expected) =>
            await Poll.UntilAsync(async () => (await RenderJson.PointsAsync(client, target, start)).Values is { Count: > 0 } v && f(v) == expected,
                TimeSpan.FromSeconds(15), $"{target} = {expected}");

        // A timer per route: 10, 20, 30, 40 (UDP JSON) and 100 (GELF) on /pay; 5 on /. The flush may split them across
        // intervals, so what is asserted is what no split changes: counts and sums add up, upper and lower are the extremes.
        await Sum("stats.timers.checkout.latency._pay.count", 5);
        await Sum("stats.timers.checkout.latency._pay.sum", 200);
        await Extreme("stats.timers.checkout.latency._pay.upper", v => v.Max(), 100);
        await Extreme("stats.timers.checkout.latency._pay.lower", v => v.Min(), 10);
        await Sum("stats.timers.checkout.latency._.count", 1);
        // Tags: region as a Graphite tag on every timer series.
        await Sum("seriesByTag('name=stats.timers.checkout.by_region.count','region=eu')", 4);
        await Sum("seriesByTag('name=stats.timers.checkout.by_region.sum','region=us')", 70);
        // Counters: 500, 503 and 502 on /pay (the 500 on / and the search 500 do not match).
        await Sum("stats_counts.checkout.server_errors", 3);
        await Sum("stats_counts.errors.checkout", 3);
        await Sum("stats_counts.errors.search", 1);
        // One mean for one interval, computed as StatsD computes it: mean = sum / count in every interval.
        var means = await RenderJson.PointsAsync(client, "stats.timers.checkout.latency._pay.mean", start);
        var sums = await RenderJson.PointsAsync(client, "stats.timers.checkout.latency._pay.sum", start);
        var counts = await RenderJson.PointsAsync(client, "stats.timers.checkout.latency._pay.count", start);
        foreach (var (ts, c) in counts.Where(kv => kv.Value > 0)) Assert.Equal(sums[ts] / c, means[ts], 9);

        var metrics = await client.GetStringAsync("/metrics");
        Assert.Contains("observe_log_rule_drops_total{reason=\"not_numeric\"} 2", metrics); // the "slow" event, for both timer rules
        Assert.True(await observe.Process.TerminateAsync(TimeSpan.FromSeconds(20)), "observe did not stop on SIGTERM");
    }
}
