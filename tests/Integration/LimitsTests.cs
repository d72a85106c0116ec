using System.Net;
using System.Net.Sockets;
using System.Text;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>
/// A misbehaving client meets a limit, gets a clear 4xx or has its input counted as dropped, and Observe keeps
/// serving: an oversized body, 10 000 render targets, a render reading too many points, a 10 MB line over StatsD
/// and Graphite TCP, a metric with 1 000 tags.
/// </summary>
public class LimitsTests
{
    private static async Task AssertStillServing(ObserveApp app, HttpClient http)
    {
        Assert.Equal("ok\n", await http.GetStringAsync("/health"));
        using var ev = await http.PostAsync("/events/", new StringContent("""{"what":"after","tags":"t","data":"d"}""", Encoding.UTF8, "application/json"));
        Assert.True(ev.IsSuccessStatusCode, $"a normal POST /events/ afterwards: {ev.StatusCode}");
        using var render = await http.GetAsync("/render?target=limits.*&from=-1h&format=json");
        Assert.Equal(HttpStatusCode.OK, render.StatusCode);
        Assert.NotNull(app.Stats);
    }

    [Fact]
    public async Task An_oversized_body_is_a_413_on_json_and_form_endpoints()
    {
        await using var app = await ObserveApp.StartAsync(c => { c.Collector.Statsd.Enabled = false; c.Http.MaxRequestBodyBytes = 64 * 1024; });
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        var big = new string('x', 200 * 1024);
        using (var res = await http.PostAsync("/events/", new StringContent($$"""{"what":"big","tags":"t","data":"{{big}}"}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, res.StatusCode);
            Assert.Contains("too large", await res.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        }
        using (var res = await http.PostAsync("/render", new FormUrlEncodedContent([new("target", "a.b"), new("junk", big)])))
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, res.StatusCode);
        using (var res = await http.PostAsync("/api/checks/none/none/result", new StringContent($$"""{"status":0,"output":"{{big}}"}""", Encoding.UTF8, "application/json")))
            Assert.True((int)res.StatusCode is 413 or 404, $"passive result with a big body: {res.StatusCode}");
        await AssertStillServing(app, http);
    }

    [Fact]
    public async Task Ten_thousand_render_targets_and_a_render_reading_too_many_points_are_400s()
    {
        await using var app = await ObserveApp.StartAsync(c => { c.Collector.Statsd.Enabled = false; c.Storage.Render.MaxPoints = 1000; c.Storage.Render.MaxPointsRead = 1500; });
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        // A series with data, so that the point budget is spent on real fetches.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await SendTcp(app.GraphiteEndpoint, Encoding.ASCII.GetBytes($"limits.points 1 {now - 60}\n"));
        await Poll.UntilAsync(async () => (await http.GetStringAsync("/metrics/find?query=limits.*")).Contains("limits.points"), TimeSpan.FromSeconds(10), "series stored");

        static FormUrlEncodedContent Targets(int n) =>
            new(Enumerable.Range(0, n).Select(i => new KeyValuePair<string, string>("target", $"limits.t{i}")));
        // 10 000 form values stop at the form's value count limit before any target is parsed.
        using (var res = await http.PostAsync("/render", Targets(10_000)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
            Assert.Contains("value count limit", await res.Content.ReadAsStringAsync());
        }
        using (var res = await http.PostAsync("/render", Targets(600)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
            Assert.Contains("600 targets in one request; at most 500", await res.Content.ReadAsStringAsync());
        }
        // 10 s steps over 7 days: 60 480 points in one series, over the 1 000-point budget.
        using (var res = await http.GetAsync("/render?target=limits.points&from=-7d&format=json"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
            Assert.Contains("(storage.render.maxPoints)", await res.Content.ReadAsStringAsync());
        }
        using (var res = await http.GetAsync("/render?target=limits.points&from=-2h&format=json"))
            Assert.Equal(HttpStatusCode.OK, res.StatusCode); // 720 points: within the budget
        // A sum streams (holds one series at a time: 720 points), so only the points it decodes bound it: 3 × 720 > 1 500.
        using (var res = await http.GetAsync("/render?target=sumSeries(limits.points,limits.points,limits.points)&from=-2h&format=json"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
            Assert.Contains("storage.render.maxPointsRead", await res.Content.ReadAsStringAsync());
        }
        Assert.Contains("observe_limit_hits_total{limit=\"storage.render.maxPointsRead\"} 1", await http.GetStringAsync("/metrics"));
        await AssertStillServing(app, http);
    }

    [Fact]
    public async Task A_10_MB_line_over_statsd_and_graphite_tcp_is_one_bad_line_and_the_next_line_counts()
    {
        await using var app = await ObserveApp.StartAsync();
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        var huge = new byte[10 * 1024 * 1024];
        Array.Fill(huge, (byte)'x');
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        // StatsD: the tail of the huge line ends like a valid line; it must not become a metric of its own.
        await SendTcp(app.StatsdEndpoint, huge, Encoding.ASCII.GetBytes(":1|c\nlimits.after:1|c\n"));
        // Lines are counted when parsed, keys when aggregated a moment later: wait for both.
        await Poll.UntilAsync(() => app.Stats.Statsd is { MetricsReceived: 2, ActiveKeys: 1 }, TimeSpan.FromSeconds(20), "two StatsD lines, one key");
        Assert.Equal(1, app.Stats.Statsd.BadLinesSeen);

        await SendTcp(app.GraphiteEndpoint, huge, Encoding.ASCII.GetBytes($" 1 {now}\nlimits.graphite.after 1 {now}\n"));
        await Poll.UntilAsync(() => app.Stats.Graphite.LinesReceived + app.Stats.Graphite.BadLines >= 2, TimeSpan.FromSeconds(20), "two Graphite lines");
        await Poll.UntilAsync(async () => (await http.GetStringAsync("/metrics/find?query=limits.graphite.*")).Contains("limits.graphite.after"),
            TimeSpan.FromSeconds(10), "the line after the huge one stored");
        Assert.Equal(1, app.Stats.Graphite.BadLines);
        Assert.Equal(1, app.Stats.Graphite.LinesReceived);
        await AssertStillServing(app, http);
    }

    [Fact]
    public async Task A_metric_with_1000_tags_or_an_overlong_tag_is_dropped_and_counted()
    {
        await using var app = await ObserveApp.StartAsync();
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var dogTags = string.Join(",", Enumerable.Range(0, 1000).Select(i => $"t{i}:v"));
        using (var udp = new UdpClient())
        {
            udp.Connect(app.StatsdEndpoint);
            foreach (var line in new[] { $"limits.tags:1|c|#{dogTags}", $"limits.longtag:1|c|#k:{new string('v', 300)}", "limits.fine:1|c|#env:prod,dc:ams" })
                await udp.SendAsync(Encoding.ASCII.GetBytes(line));
        }
        // Lines are counted when parsed, keys when aggregated a moment later: wait for both.
        await Poll.UntilAsync(() => app.Stats.Statsd is { MetricsReceived: 3, ActiveKeys: 1 }, TimeSpan.FromSeconds(10), "three StatsD lines, one key");
        Assert.Equal(2, app.Stats.Statsd.TagLimitDrops); // only limits.fine;env=prod;dc=ams became a key
        Assert.Equal(0, app.Stats.Statsd.BadLinesSeen);

        var graphiteTags = string.Join(";", Enumerable.Range(0, 1000).Select(i => $"t{i}=v"));
        await SendTcp(app.GraphiteEndpoint, Encoding.ASCII.GetBytes(
            $"limits.gtags;{graphiteTags} 1 {now}\nlimits.glong;k={new string('v', 300)} 1 {now}\nlimits.gfine;dc=ams 1 {now}\n"));
        await Poll.UntilAsync(() => app.Stats.Graphite.TagLimitDrops == 2, TimeSpan.FromSeconds(10), "two Graphite points dropped");
        await Poll.UntilAsync(async () => (await http.GetStringAsync("/tags/findSeries?expr=name=limits.gfine")).Contains("limits.gfine"),
            TimeSpan.FromSeconds(10), "the fine tagged point stored");
        Assert.DoesNotContain("limits.gtags", await http.GetStringAsync("/tags/findSeries?expr=name=~limits"));
        // Exported for Prometheus (its value is not asserted: the default registry is shared by every app in this test process).
        Assert.Contains("observe_tag_limit_drops_total{protocol=\"statsd\"}", await http.GetStringAsync("/metrics"));
        await AssertStillServing(app, http);
    }

    private static async Task SendTcp(IPEndPoint endpoint, params byte[][] parts)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endpoint);
        var stream = client.GetStream();
        foreach (var part in parts) await stream.WriteAsync(part);
        client.Client.Shutdown(SocketShutdown.Send);
    }
}
