using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Observe.Storage;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>
/// Issue 15 finding 6 through the whole application: a flood of unique Graphite plaintext names stops at
/// storage.maxSeries (the rest dropped and counted in /stats), series already stored keep being written, and
/// /metrics/find refuses a pattern matching more than storage.maxFindResults nodes with a 400 that is counted. ~3 s.
/// </summary>
public class CardinalityLimitsTests
{
    [Fact]
    public async Task Unique_plaintext_names_stop_at_maxSeries_and_big_finds_are_refused_and_counted()
    {
        await using var app = await ObserveApp.StartAsync(c =>
        {
            c.Collector.Statsd.Enabled = false;
            c.Storage.MaxSeries = 100;
            c.Storage.MaxFindResults = 50;
        });
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var lines = new StringBuilder();
        for (var i = 0; i < 1000; i++) lines.Append($"pl.n{i:0000} {i} {now - 30}\n");
        await Send(app.GraphiteEndpoint, lines.ToString());
        StorageStats Storage() => app.App.Services.GetRequiredService<Func<StorageStats>>()();
        await Poll.UntilAsync(() => Storage().SeriesDroppedByLimit == 900, TimeSpan.FromSeconds(20), "900 points dropped by storage.maxSeries");
        Assert.Equal(100, Storage().Series);

        // A known series keeps being written at the limit.
        await Send(app.GraphiteEndpoint, $"pl.n0000 42 {now - 10}\npl.new 1 {now - 10}\n");
        await Poll.UntilAsync(() => Storage().SeriesDroppedByLimit == 901, TimeSpan.FromSeconds(20), "the new name dropped");
        await Poll.UntilAsync(async () => (await http.GetStringAsync("/render?target=pl.n0000&from=-1min&format=json")).Contains("[42.0,"),
            TimeSpan.FromSeconds(10), "the known series written");

        using (var res = await http.GetAsync("/metrics/find?query=pl.*"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
            Assert.Contains("storage.maxFindResults", await res.Content.ReadAsStringAsync());
        }
        using (var res = await http.GetAsync("/metrics/find?query=pl.n000*"))
            Assert.Equal(HttpStatusCode.OK, res.StatusCode); // 100 stored, 10 of them match
        // Many patterns in one /metrics/expand are bounded together: 6 × 10 paths.
        var six = string.Join("&", Enumerable.Range(0, 6).Select(i => $"query=pl.n00{i}*"));
        using (var res = await http.GetAsync("/metrics/expand?" + six))
        {
            Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
            Assert.Contains("match more than 50 paths together", await res.Content.ReadAsStringAsync());
        }
        using var stats = JsonDocument.Parse(await http.GetStringAsync("/stats"));
        var storage = stats.RootElement.GetProperty("storage");
        Assert.Equal(901, storage.GetProperty("seriesDroppedByLimit").GetInt64());
        Assert.Equal(2, storage.GetProperty("limitHits").GetProperty("storage.maxFindResults").GetInt64());
    }

    private static async Task Send(IPEndPoint endpoint, string text)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endpoint);
        await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(text));
        client.Client.Shutdown(SocketShutdown.Send);
    }
}
