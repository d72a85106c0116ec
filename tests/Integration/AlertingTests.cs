using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Alerting;
using Observe.Alerting.Notifiers;
using Observe.Checks;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>Alerting end to end with real peers: ngircd, aiosmtpd, a local PagerDuty Events v2 / webhook receiver, and a
/// real http check through the whole host.</summary>
[Collection("alerting peers")]
public class AlertingTests
{
    private const string RoutingKey = "R0UT1NGKEY0123456789abcdef012345";

    private static AlertingOptions Alerting(NgircdServer irc, SmtpSink smtp, HttpPeer http, string groupWait = "0s") => new()
    {
        Route = new RouteOptions { Receiver = "oncall", GroupBy = ["host"], GroupWait = groupWait, GroupInterval = "1s", RepeatInterval = "4h" },
        Receivers =
        [
            new ReceiverOptions
            {
                Name = "oncall",
                Irc = new() { Channel = irc.Channel },
                Email = new() { To = ["ops@example.com"] },
                Pagerduty = new() { RoutingKey = RoutingKey, Url = $"http://127.0.0.1:{http.Port}/v2/enqueue" },
                Webhook = new() { Url = $"http://127.0.0.1:{http.Port}/hook" },
            },
        ],
        Irc = new IrcOptions { Server = "127.0.0.1", Port = irc.Port, Nick = "observe", FloodInterval = "500ms", ReconnectMinDelay = "200ms", ReconnectMaxDelay = "1s" },
        Smtp = new SmtpOptions { Host = "127.0.0.1", Port = smtp.Port, Security = "none", From = "observe@example.com" },
        Delivery = new DeliveryOptions { InitialBackoff = "200ms", MaxBackoff = "1s" },
    };

    private static void Checks(Observe.Host.Config.ObserveConfig c, HttpPeer http, int count = 1)
    {
        c.Checks.Defaults = new CheckDefaults { CheckInterval = "1s", RetryInterval = "1s", MaxCheckAttempts = 2, Timeout = "2s" };
        c.Checks.Hosts =
        [
            new HostOptions
            {
                Name = "web1",
                Checks = [.. Enumerable.Range(0, count).Select(i => new CheckOptions { Name = count == 1 ? "http" : $"http{i:00}", Kind = "http", Url = $"http://127.0.0.1:{http.Port}/health" })],
            },
        ];
    }

    /// <summary>The three real peers and an IRC watcher already in the channel.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        public required NgircdServer Irc { get; init; }
        public required IrcWatcher Watcher { get; init; }
        public required SmtpSink Smtp { get; init; }
        public required HttpPeer Http { get; init; }

        public static async Task<Rig> StartAsync()
        {
            var irc = await NgircdServer.StartAsync();
            return new Rig { Irc = irc, Watcher = await IrcWatcher.JoinAsync(irc.Port, irc.Channel), Smtp = await SmtpSink.StartAsync(), Http = await HttpPeer.StartAsync() };
        }

        public AlertingOptions Alerting(string groupWait = "0s") => AlertingTests.Alerting(Irc, Smtp, Http, groupWait);

        public async ValueTask DisposeAsync()
        {
            await Watcher.DisposeAsync(); await Irc.DisposeAsync(); await Smtp.DisposeAsync(); await Http.DisposeAsync();
        }
    }

    private static async Task<JsonElement> Receivers(HttpClient api) => await api.GetFromJsonAsync<JsonElement>("/api/alerts/receivers");

    /// <summary>Nothing left to send: no alert in the pipeline, every queue empty, every IRC line confirmed by the server.</summary>
    private static Task QuiescentAsync(HttpClient api) => Poll.UntilAsync(async () =>
    {
        var alerts = await api.GetFromJsonAsync<JsonElement>("/api/alerts");
        var r = await Receivers(api);
        return alerts.GetArrayLength() == 0 && r.GetProperty("receivers").EnumerateArray().All(x => x.GetProperty("queued").GetInt32() == 0)
            && r.GetProperty("irc").GetProperty("queued").GetInt32() == 0;
    }, TimeSpan.FromSeconds(20), "alerting to have nothing left to send");

    [Fact]
    public async Task A_failing_endpoint_pages_irc_mail_and_pagerduty_once_and_its_recovery_resolves_each_once()
    {
        await using var rig = await Rig.StartAsync();
        var (watcher, smtp, http) = (rig.Watcher, rig.Smtp, rig.Http);
        await using var app = await ObserveApp.StartAsync(c => { Checks(c, http); c.Alerting = rig.Alerting(); });
        using var api = new HttpClient { BaseAddress = app.HttpBase };
        await Poll.UntilAsync(async () => (await Receivers(api)).GetProperty("irc").GetProperty("connected").GetBoolean(), TimeSpan.FromSeconds(20), "Observe to join IRC");
        await Poll.UntilAsync(async () => (await api.GetFromJsonAsync<JsonElement>("/api/checks/web1/http")).TryGetProperty("lastCheck", out _), TimeSpan.FromSeconds(20), "the first check");

        // Retry schedule: next check within check_interval (1 s), HARD after one retry (1 s); the bar is that + 2 s.
        var budget = TimeSpan.FromSeconds(1 + 1 + 2);
        var sw = Stopwatch.StartNew();
        http.Healthy = false;
        await Poll.UntilAsync(() => watcher.Texts("observe").Count >= 1 && smtp.Messages().Count >= 1 && http.Bodies("/v2/enqueue").Count >= 1,
            TimeSpan.FromSeconds(20), "IRC line, mail and PagerDuty trigger");
        var firingLatency = sw.Elapsed;
        Assert.True(firingLatency <= budget, $"notifications took {firingLatency.TotalSeconds:0.00} s, over the {budget.TotalSeconds} s budget");

        var line = Assert.Single(watcher.Texts("observe"));
        Assert.StartsWith("[FIRING] PROBLEM web1/http is CRITICAL", line);
        var mail = Assert.Single(smtp.Messages());
        Assert.Contains("Subject: [FIRING] host=web1", mail);
        Assert.Contains("To: ops@example.com", mail);
        Assert.Contains("text/html", mail);
        var trigger = Assert.Single(http.Bodies("/v2/enqueue"));
        Assert.Equal("trigger", trigger.GetProperty("event_action").GetString());
        Assert.Equal(RoutingKey, trigger.GetProperty("routing_key").GetString());
        var dedup = trigger.GetProperty("dedup_key").GetString();
        Assert.False(string.IsNullOrEmpty(dedup));
        Assert.Equal("critical", trigger.GetProperty("payload").GetProperty("severity").GetString());
        Assert.Equal("web1", trigger.GetProperty("payload").GetProperty("source").GetString());
        await Poll.UntilAsync(() => http.Bodies("/hook").Count == 1, TimeSpan.FromSeconds(5), "the webhook");
        Assert.Equal("firing", http.Bodies("/hook")[0].GetProperty("status").GetString());

        sw.Restart();
        http.Healthy = true;
        await Poll.UntilAsync(() => watcher.Texts("observe").Count >= 2 && smtp.Messages().Count >= 2 && http.Bodies("/v2/enqueue").Count >= 2 && http.Bodies("/hook").Count >= 2,
            TimeSpan.FromSeconds(20), "the resolves");
        var resolveLatency = sw.Elapsed;
        await QuiescentAsync(api);
        Assert.Equal(2, watcher.Texts("observe").Count);
        Assert.StartsWith("[RESOLVED] RECOVERY web1/http", watcher.Texts("observe")[1]);
        Assert.Equal(2, smtp.Messages().Count);
        Assert.Single(smtp.Messages(), m => m.Contains("Subject: [RESOLVED] host=web1"));
        var pd = http.Bodies("/v2/enqueue");
        Assert.Equal(2, pd.Count);
        Assert.Equal("resolve", pd[1].GetProperty("event_action").GetString());
        Assert.Equal(dedup, pd[1].GetProperty("dedup_key").GetString());
        Assert.Equal("resolved", http.Bodies("/hook")[1].GetProperty("status").GetString());
        var history = await api.GetFromJsonAsync<JsonElement>("/api/alerts/history?key=check/web1/http");
        Assert.Contains(history.EnumerateArray(), e => e.GetProperty("event").GetString() == "firing");
        Assert.Contains(history.EnumerateArray(), e => e.GetProperty("event").GetString() == "resolved");
        var metrics = await api.GetStringAsync("/metrics");
        foreach (var integration in new[] { "irc", "email", "pagerduty", "webhook" })
            Assert.Contains($"observe_alerting_notifications_sent_total{{receiver=\"oncall\",integration=\"{integration}\"}}", metrics);
        Assert.Contains("observe_alerting_irc_queue_depth 0", metrics);
        Console.WriteLine($"alerting e2e: firing delivered {firingLatency.TotalSeconds:0.00} s after the endpoint failed, resolve {resolveLatency.TotalSeconds:0.00} s after it recovered");
    }

    [Fact]
    public async Task Twenty_failing_services_on_one_host_make_one_notification_per_receiver()
    {
        await using var rig = await Rig.StartAsync();
        var (watcher, smtp, http) = (rig.Watcher, rig.Smtp, rig.Http);
        http.Healthy = false;
        await using var app = await ObserveApp.StartAsync(c => { Checks(c, http, 20); c.Alerting = rig.Alerting(groupWait: "5s"); });
        using var api = new HttpClient { BaseAddress = app.HttpBase };
        await Poll.UntilAsync(async () => (await api.GetFromJsonAsync<JsonElement>("/api/alerts")).GetArrayLength() == 20, TimeSpan.FromSeconds(20), "20 firing alerts");
        await Poll.UntilAsync(() => watcher.Texts("observe").Count >= 1 && smtp.Messages().Count >= 1 && http.Bodies("/v2/enqueue").Count >= 1 && http.Bodies("/hook").Count >= 1,
            TimeSpan.FromSeconds(20), "the grouped notifications");
        // Let further group_interval flushes (1 s) pass: nothing new may be sent.
        await Poll.UntilAsync(async () => (await api.GetFromJsonAsync<JsonElement>("/api/alerts/history?event=notify&limit=1000")).GetArrayLength() >= 1, TimeSpan.FromSeconds(5), "history");
        var until = DateTime.UtcNow.AddSeconds(3);
        await Poll.UntilAsync(() => DateTime.UtcNow > until, TimeSpan.FromSeconds(10), "three more group intervals");
        var text = Assert.Single(watcher.Texts("observe"));
        Assert.StartsWith("[FIRING:20] ", text);
        var mail = Assert.Single(smtp.Messages());
        for (var i = 0; i < 20; i++) Assert.Contains($"web1/http{i:00}", mail);
        Assert.Single(http.Bodies("/v2/enqueue"));
        Assert.Equal(20, Assert.Single(http.Bodies("/hook")).GetProperty("alerts").GetArrayLength());
    }

    private const string Injection = "\r\nQUIT :injected quit\r\nPRIVMSG #ops :INJECTED LINE\r\nBcc: victim@example.com\r\nX-Injected: yes\r\n.\r\nMAIL FROM:<evil@example.com>\0NUL";

    [Fact]
    public async Task Hostile_strings_in_host_names_check_output_and_deploy_descriptions_inject_nothing()
    {
        await using var rig = await Rig.StartAsync();
        var (watcher, smtp, http) = (rig.Watcher, rig.Smtp, rig.Http);
        await using var app = await ObserveApp.StartAsync(c =>
        {
            c.Checks.Defaults = new CheckDefaults { CheckInterval = "1h", RetryInterval = "1h", MaxCheckAttempts = 1, Timeout = "2s" };
            c.Checks.Hosts = [new HostOptions { Name = "web1", Checks = [new CheckOptions { Name = "passive", Kind = "passive", FreshnessThreshold = "1h" }] }];
            c.Alerting = rig.Alerting();
        });
        using var api = new HttpClient { BaseAddress = app.HttpBase };
        await Poll.UntilAsync(async () => (await Receivers(api)).GetProperty("irc").GetProperty("connected").GetBoolean(), TimeSpan.FromSeconds(20), "Observe to join IRC");

        // 1. Check output, through the whole host (passive result API → state machine → alert).
        var r = await api.PostAsJsonAsync("/api/checks/web1/passive/result", new { status = 2, output = "disk full" + Injection });
        Assert.Equal(202, (int)r.StatusCode);
        // 2. A host name (and labels, key) from a producer, and 3. a deploy description (an announcement), straight into the sink.
        var sink = app.App.Services.GetRequiredService<IAlertSink>();
        var evilHost = "evil" + Injection;
        await sink.SendAsync(new AlertEvent("checks", $"check/{evilHost}/http", AlertStatus.Firing, "critical", $"PROBLEM {evilHost}/http is CRITICAL", "details" + Injection,
            new Dictionary<string, string> { ["host"] = evilHost, ["check"] = "http" + Injection }, DateTimeOffset.UtcNow), default);
        await sink.SendAsync(new AlertEvent("deploy", "deploy/shop/prod", AlertStatus.Announcement, "info", "shop (abc123) is being deployed to prod by matt: " + Injection, Injection,
            new Dictionary<string, string> { ["service"] = "shop", ["env"] = "prod" + Injection }, DateTimeOffset.UtcNow), default);

        await Poll.UntilAsync(() => watcher.Texts("observe").Count >= 3 && smtp.Messages().Count >= 3 && http.Bodies("/hook").Count >= 3 && http.Bodies("/v2/enqueue").Count >= 2,
            TimeSpan.FromSeconds(30), "three notifications on every receiver");
        await Poll.UntilAsync(async () => (await Receivers(api)).GetProperty("irc").GetProperty("queued").GetInt32() == 0, TimeSpan.FromSeconds(20), "IRC queue to drain");

        // IRC: besides its JOIN, Observe sent only NOTICEs to #ops, each starting with the template's status; it did not quit or join elsewhere.
        var fromObserve = watcher.From("observe");
        Assert.Single(fromObserve, l => Regex.IsMatch(l, @"^:observe!\S+ JOIN :?#ops$"));
        var notices = fromObserve.Where(l => !l.Contains(" JOIN ")).ToList();
        Assert.True(notices.Count == 3, string.Join("\n", fromObserve));
        Assert.All(notices, l => Assert.Matches(@"^:observe!\S+ NOTICE #ops :\[(FIRING|ANNOUNCE)\] ", l));
        Assert.DoesNotContain(watcher.Lines, l => l.Contains("INJECTED LINE") && !l.Contains(" NOTICE #ops :["));
        Assert.True((await Receivers(api)).GetProperty("irc").GetProperty("connected").GetBoolean());
        Assert.Equal(1, (await Receivers(api)).GetProperty("irc").GetProperty("connects").GetInt64());

        // SMTP: exactly three messages, each with one recipient, no injected header, no second message smuggled in.
        var mails = smtp.Messages();
        Assert.Equal(3, mails.Count);
        foreach (var m in mails)
        {
            var headers = m.Replace("\r\n", "\n")[..m.Replace("\r\n", "\n").IndexOf("\n\n", StringComparison.Ordinal)];
            Assert.DoesNotMatch(@"(?im)^(Bcc|X-Injected):", headers);
            Assert.DoesNotMatch(@"(?im)^(QUIT|MAIL FROM|Bcc:|X-Injected:|\.$)", m);
            Assert.Single(headers.Split('\n'), h => h.StartsWith("To:", StringComparison.OrdinalIgnoreCase));
            Assert.DoesNotContain('\0', m);
        }

        // Webhook and PagerDuty: valid JSON whose strings carry no CR, LF or NUL.
        foreach (var body in http.Bodies("/hook").Concat(http.Bodies("/v2/enqueue"))) AssertNoControl(body);
        Assert.Equal(3, http.Bodies("/hook").Count);
        Assert.Equal(2, http.Bodies("/v2/enqueue").Count); // an announcement is not a page
    }

    private static void AssertNoControl(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                var s = e.GetString()!;
                Assert.False(s.IndexOfAny(['\r', '\n', '\0']) >= 0, $"control character in {s}");
                break;
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject()) { Assert.False(p.Name.IndexOfAny(['\r', '\n', '\0']) >= 0); AssertNoControl(p.Value); }
                break;
            case JsonValueKind.Array:
                foreach (var x in e.EnumerateArray()) AssertNoControl(x);
                break;
        }
    }

    [Fact]
    public async Task A_restart_of_the_irc_server_loses_no_message()
    {
        await using var irc = await NgircdServer.StartAsync();
        var watcher = await IrcWatcher.JoinAsync(irc.Port, irc.Channel);
        // The reconnect backoff runs on a hand-moved clock, so the watcher is back in the channel before Observe returns.
        var clock = new ManualTimeProvider();
        var client = new IrcClient(new IrcOptions { Server = "127.0.0.1", Port = irc.Port, Nick = "observe", FloodInterval = "0s", ReconnectMinDelay = "1s", ReconnectMaxDelay = "1s" },
            [irc.Channel], clock, NullLogger.Instance);
        await using (client)
        {
            client.Start();
            await Poll.UntilAsync(() => client.Registered, TimeSpan.FromSeconds(15), "the client to register");
            client.Post(irc.Channel, "before the restart");
            await Poll.UntilAsync(() => watcher.Texts("observe").Contains("before the restart") && client.QueueDepth == 0, TimeSpan.FromSeconds(15), "the first line");

            await irc.StopProcessAsync();
            await watcher.DisposeAsync();
            await Poll.UntilAsync(() => !client.Registered, TimeSpan.FromSeconds(15), "the client to notice the server is gone");
            for (var i = 1; i <= 5; i++) client.Post(irc.Channel, $"during the incident {i}");
            Assert.Equal(5, client.QueueDepth);

            await irc.StartProcessAsync();
            watcher = await IrcWatcher.JoinAsync(irc.Port, irc.Channel);
            await Poll.UntilAsync(() => { clock.Advance(TimeSpan.FromSeconds(1)); return client.Registered; }, TimeSpan.FromSeconds(20), "the client to reconnect");
            await Poll.UntilAsync(() => watcher.Texts("observe").Count >= 5 && client.QueueDepth == 0, TimeSpan.FromSeconds(20), "the queued lines after the reconnect");
            Assert.Equal(Enumerable.Range(1, 5).Select(i => $"during the incident {i}"), watcher.Texts("observe"));
            Assert.Equal(2, Interlocked.Read(ref client.Connects));
        }
        await watcher.DisposeAsync();
    }
}

[CollectionDefinition("alerting peers", DisableParallelization = true)]
public class AlertingPeersCollection;
