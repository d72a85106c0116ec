using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Observe.TestSupport;

namespace Observe.Integration;

public class DogStatsdEventTests
{
    [Fact]
    public async Task A_dogstatsd_event_becomes_a_graphite_event_for_grafana_annotations()
    {
        await using var app = await ObserveApp.StartAsync(c => c.Collector.Statsd.Events.Udp = true);
        using (var udp = new UdpClient())
        {
            var when = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60;
            var line = $"_e{{15,11}}:Deploy finished|shop v1.2.3|d:{when}|h:web1|t:success|#service:shop,env:prod";
            await udp.SendAsync(Encoding.UTF8.GetBytes(line), app.StatsdEndpoint);
        }
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        JsonElement events = default;
        await Poll.UntilAsync(async () =>
        {
            events = await http.GetFromJsonAsync<JsonElement>("/events/get_data?from=-1h&until=now&tags=dogstatsd");
            return events.GetArrayLength() == 1;
        }, TimeSpan.FromSeconds(10), "event stored");
        var e = events[0];
        Assert.Equal("Deploy finished", e.GetProperty("what").GetString());
        Assert.Equal("shop v1.2.3", e.GetProperty("data").GetString());
        var tags = e.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.Contains("service:shop", tags);
        Assert.Contains("success", tags);
        Assert.Equal(1, app.Stats.Statsd.EventsReceived);
    }

    /// <summary>
    /// Issue 15 finding 7: StatsD has no authentication, so a forged <c>_sc</c> must not turn a passive check CRITICAL nor
    /// a forged <c>_e</c> draw a deploy annotation unless the listener opts in — and then only from the configured sources.
    /// </summary>
    [Fact]
    public async Task Service_checks_and_events_over_statsd_are_refused_unless_the_listener_opts_in_and_the_sender_is_a_source()
    {
        const string forgedCheck = "_sc|backup.finished|2|h:web1|m:FORGED";
        const string forgedEvent = "_e{6,6}:forged|forged|#deploy";
        static void Checks(Observe.Host.Config.ObserveConfig c) => c.Checks.Hosts =
            [new Observe.Checks.HostOptions { Name = "web1", Checks = [new Observe.Checks.CheckOptions { Name = "backup", Kind = "passive", ServiceCheck = "backup.finished", MaxCheckAttempts = 1, CheckInterval = "1h" }] }];

        // Default: refused on UDP and TCP, counted; metrics in the same packet still count.
        await using (var app = await ObserveApp.StartAsync(Checks))
        {
            using var http = new HttpClient { BaseAddress = app.HttpBase };
            await SendUdp(app, $"{forgedCheck}\n{forgedEvent}\nforged.metric:1|c");
            await SendTcp(app, $"{forgedCheck}\n{forgedEvent}\n");
            await Poll.UntilAsync(() => app.Stats.Statsd.EventsRefused == 4 && app.Stats.Statsd.MetricsReceived >= 5, TimeSpan.FromSeconds(10), "four refusals counted");
            Assert.Equal(0, app.Stats.Statsd.EventsReceived);
            var check = await http.GetFromJsonAsync<JsonElement>("/api/checks/web1/backup");
            Assert.NotEqual("FORGED", check.GetProperty("output").GetString());
            Assert.Equal("ok", check.GetProperty("state").GetString()!.ToLowerInvariant());
            Assert.Equal(0, (await http.GetFromJsonAsync<JsonElement>("/events/get_data?from=-1h&until=now&tags=deploy")).GetArrayLength());
            Assert.Contains("observe_statsd_events_refused_total", await http.GetStringAsync("/metrics")); // the value is shared by every app in this test process
        }

        // Opted in from 10.0.0.0/8 and 127.0.0.1: the loopback sender is accepted. Then from 10.0.0.0/8 only: refused.
        await using (var app = await ObserveApp.StartAsync(c =>
        {
            Checks(c);
            c.Collector.Statsd.Events = new() { Udp = true, Tcp = true, Sources = ["10.0.0.0/8", "127.0.0.1"] };
        }))
        {
            using var http = new HttpClient { BaseAddress = app.HttpBase };
            await SendUdp(app, forgedCheck);
            await Poll.UntilAsync(() => app.Stats.Statsd.EventsReceived == 1, TimeSpan.FromSeconds(10), "the service check from a listed source");
            await Poll.UntilAsync(async () => (await http.GetFromJsonAsync<JsonElement>("/api/checks/web1/backup")).GetProperty("output").GetString() == "FORGED",
                TimeSpan.FromSeconds(10), "the check to take the allowed result");
        }
        await using (var app = await ObserveApp.StartAsync(c => { Checks(c); c.Collector.Statsd.Events = new() { Udp = true, Sources = ["10.0.0.0/8"] }; }))
        {
            await SendUdp(app, forgedCheck);
            await Poll.UntilAsync(() => app.Stats.Statsd.EventsRefused == 1, TimeSpan.FromSeconds(10), "loopback not in 10.0.0.0/8");
            Assert.Equal(0, app.Stats.Statsd.EventsReceived);
        }
    }

    private static async Task SendUdp(ObserveApp app, string text)
    {
        using var udp = new UdpClient();
        await udp.SendAsync(Encoding.UTF8.GetBytes(text), app.StatsdEndpoint);
    }

    private static async Task SendTcp(ObserveApp app, string text)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(app.StatsdEndpoint);
        await tcp.GetStream().WriteAsync(Encoding.UTF8.GetBytes(text));
    }
}
