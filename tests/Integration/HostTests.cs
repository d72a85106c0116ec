using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Observe.TestSupport;

namespace Observe.Integration;

public class HostTests
{
    [Fact]
    public async Task Graphite_plaintext_passes_through_unaggregated_to_carbon_and_bad_lines_are_counted()
    {
        await using var carbon = new GraphiteLineRecorder();
        await using var app = await ObserveApp.StartAsync(c =>
        {
            c.Sinks.Carbon = [new() { Port = carbon.Port }];
            c.Collector.Statsd.Enabled = false;
        });
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(app.GraphiteEndpoint);
            var payload = "host.web1.cpu 12.5 1700000000\nbroken line\nhost.web1.mem;role=web;dc=ams 3 1700000010\nx nan 1700000000\n";
            await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes(payload));
        }
        // The carbon sink keeps one connection open; read what arrived so far through the batcher + sink.
        await Poll.UntilAsync(() => app.Stats.Sinks.Single(s => s.Name == "carbon").PointsWritten == 2, TimeSpan.FromSeconds(10), "two points written to carbon");
        Assert.Equal(4, app.Stats.Graphite.LinesReceived);
        Assert.Equal(2, app.Stats.Graphite.BadLines);
        await app.DisposeAsync(); // closes the carbon connection so the recorder completes it
        await Poll.UntilAsync(() => carbon.Flushes.Count == 1, TimeSpan.FromSeconds(10), "carbon connection closed");
        Assert.Equal(["host.web1.cpu 12.5 1700000000", "host.web1.mem;dc=ams;role=web 3 1700000010"], carbon.Flushes[0]);
    }

    [Fact]
    public async Task Stats_and_prometheus_metrics_are_served()
    {
        await using var app = await ObserveApp.StartAsync();
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        var stats = await http.GetFromJsonAsync<JsonElement>("/stats");
        Assert.Equal(app.Config.Collector.Statsd.Port, stats.GetProperty("collector").GetProperty("statsd").GetProperty("udpEndpoint").GetString()!.Split(':')[1] is var p ? int.Parse(p) : 0);
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("observe_statsd_packets_received_total", metrics);
        Assert.Contains("observe_graphite_bad_lines_total", metrics);
        Assert.Equal("ok\n", await http.GetStringAsync("/health"));
    }
    /// <summary>
    /// Issue 19: a total since start is a Prometheus counter, so rate() and increase() treat a restart as a reset; the
    /// collector's, the spools' and the limit counters used to be exported as gauges named <c>…_total</c>. (Fails on main.)
    /// </summary>
    [Fact]
    public async Task Totals_on_metrics_are_typed_counter_and_levels_gauge()
    {
        await using var app = await ObserveApp.StartAsync();
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        var types = (await http.GetStringAsync("/metrics")).Split('\n')
            .Where(l => l.StartsWith("# TYPE observe_", StringComparison.Ordinal)).Select(l => l.Split(' '))
            .ToDictionary(f => f[2], f => f[3]);
        Assert.Equal("counter", types["observe_statsd_packets_received_total"]);
        Assert.Equal("counter", types["observe_flushes_total"]);
        Assert.Equal("gauge", types["observe_statsd_active_keys"]);
        Assert.Empty(types.Where(t => t.Key.EndsWith("_total", StringComparison.Ordinal) && t.Value != "counter").Select(t => $"{t.Key} {t.Value}"));
        // /stats carries the same families, generated from the same lists.
        var metrics = (await http.GetFromJsonAsync<JsonElement>("/stats")).GetProperty("metrics");
        Assert.All(types.Keys.Where(k => k.StartsWith("observe_statsd_", StringComparison.Ordinal)), k => Assert.True(metrics.TryGetProperty(k, out _), k));
    }
}
