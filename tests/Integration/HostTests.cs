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
}
