using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// The console (issue 22) in Debian's chromium against the real binary with real checks: a tcp check against a closed
/// port goes CRITICAL, a check_dummy check prints hostile markup, and the page must show both as text within 5 s.
/// </summary>
public partial class ConsoleTests(ITestOutputHelper output)
{
    private const string Dummy = "/usr/lib/nagios/plugins/check_dummy";
    // Would run (set window.__pwned) if any of it were parsed as markup instead of set as text.
    internal const string Hostile = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\"> it's \"quoted\" & <b>bold</b>";
    private const string ReadToken = "read-token-0123456789";
    private const string AlertsToken = "alerts-token-0123456789";

    private static string Yaml(int http, string data, int closedPort, bool tokens, string? tls, string extra, int? graphite) => $$"""
        http: {port: {{http}}{{(tls != null ? $", tls: {tls}" : "")}}}
        collector:
          statsd: {enabled: false, flushInterval: 1000}
          graphite: {{(graphite is { } g ? $"{{port: {g}, pickle: {{port: 0}}}}" : "{enabled: false}")}}
        storage: {dataDir: {{data}}}
        logs: {enabled: true}
        logging: {level: warning}
        console:
          status:
            title: Shop status
            components:
              - {name: Storefront, description: Browsing and checkout, checks: [web1/shop-port]}
              - {name: Search, checks: [web1/hostile]}
              - {name: Payments, checks: [web1/fine]}
        {{(tokens ? $$"""
        auth:
          readRequiresToken: true
          tokens:
            - {name: viewer, token: {{ReadToken}}, scopes: [read]}
            - {name: oncall, token: {{AlertsToken}}, scopes: [read, alerts]}
        """ : "")}}
        checks:
          defaults: {checkInterval: 1s, retryInterval: 1s, maxCheckAttempts: 2, timeout: 2s}
          hosts:
            - name: web1
              address: 127.0.0.1
              checks:
                - {name: shop-port, kind: tcp, port: {{closedPort}}}
                - {name: hostile, kind: command, command: [{{Dummy}}, "1", {{JsonSerializer.Serialize(Hostile)}}]}
                - {name: fine, kind: command, command: [{{Dummy}}, "0", "all good | conns=15;10;20;0;100"]}
        deploys:
          window: 4s
          baseline: 10s
          evaluateInterval: 1s
          minPoints: 2
          services:
            - name: shop
              slis:
                - {name: steady, target: "constantLine(5)", maxRatio: 2}
            - name: cart
              autoRollback: true
              slis:
                - {name: errors, target: stats_counts.cart.errors, maxRatio: 2}
              rollback: {command: [/bin/true]}
        {{extra}}
        """;

    /// <param name="https">serve over HTTPS with a self-signed certificate made here (the browser accepts it).</param>
    /// <param name="extraYaml">more top-level sections (e.g. <c>alerting:</c>).</param>
    /// <param name="graphite">a free port for Graphite plaintext; null: the listener is off.</param>
    /// <param name="tokens">read needs a token; the client sends the on-call's (read, alerts).</param>
    private static async Task<ObserveProcess> StartAsync(string name, bool tokens = false, bool https = false, string extraYaml = "", IDictionary<string, string>? env = null, int? graphite = null)
    {
        var dir = Repo.TempDir(name);
        string? tls = null;
        if (https)
        {
            using var cert = TestCertificate.Create();
            TestCertificate.WritePem(cert, Path.Combine(dir, "cert.pem"), Path.Combine(dir, "key.pem"));
            tls = $"{{certPath: {Path.Combine(dir, "cert.pem")}, keyPath: {Path.Combine(dir, "key.pem")}}}";
        }
        var closedPort = FreePort.Get();
        var observe = await ObserveProcess.StartAsync(new ObserveSetup(dir)
        {
            Https = https,
            Environment = env,
            Config = s => Yaml(s.HttpPort, Path.Combine(dir, "data"), closedPort, tokens, tls, extraYaml, graphite),
        });
        if (tokens) observe.Client.DefaultRequestHeaders.Authorization = new("Bearer", AlertsToken); // /health is anonymous
        return observe;
    }

    private static async Task<JsonElement> Check(HttpClient client, string check) =>
        await client.GetFromJsonAsync<JsonElement>($"/api/checks/web1/{check}");

    /// <summary>Run over plain HTTP (writing the screenshots) and again over HTTPS with a self-signed certificate.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Problems_shows_a_failing_check_within_5s_of_HARD_and_plugin_output_only_as_text(bool https)
    {
        await using var run = await StartAsync(https ? "console-problems-https" : "console-problems", https: https);
        Task Screenshot(ConsoleBrowser b, string name) => https ? Task.CompletedTask : b.ScreenshotAsync(name);
        var root = await run.Client.GetAsync("/");
        Assert.Equal("text/html; charset=utf-8", root.Content.Headers.ContentType?.ToString());
        var csp = string.Join(";", root.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.Equal("nosniff", root.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(https, root.Headers.Contains("Strict-Transport-Security"));

        await using var browser = await ConsoleBrowser.OpenAsync(run.Setup.BaseUrl);
        await browser.Page.GotoAsync("/");
        await browser.Page.GetByRole(AriaRole.Heading, new() { Name = "Problems" }).WaitForAsync();

        // The moment the API says HARD CRITICAL, the page has 5 s to show it.
        var sw = Stopwatch.StartNew();
        await Poll.UntilAsync(async () => (await Check(run.Client, "shop-port")) is var c
            && c.GetProperty("state").GetString() == "critical" && c.GetProperty("stateType").GetString() == "hard", TimeSpan.FromSeconds(20), "shop-port HARD CRITICAL");
        var hardAt = sw.Elapsed;
        var row = browser.Page.Locator("table[data-group=unhandled] tr[data-key='web1/shop-port']");
        await row.WaitForAsync(new() { Timeout = 5000 });
        output.WriteLine($"shown {(sw.Elapsed - hardAt).TotalMilliseconds:0} ms after the API said HARD");
        Assert.Contains("CRITICAL", await row.InnerTextAsync());

        var hostile = browser.Page.Locator("table[data-group=unhandled] tr[data-key='web1/hostile'] td.output");
        await hostile.WaitForAsync(new() { Timeout = 5000 });
        Assert.Equal("WARNING: " + Hostile, await hostile.InnerTextAsync());
        Assert.Equal(0, await browser.Page.Locator("main img, main b, main script").CountAsync());
        Assert.Equal("undefined", await browser.Page.EvaluateAsync<string>("() => typeof window.__pwned"));
        await Screenshot(browser, "problems");

        // The checks grid, filtered through the URL, and a phone-sized problems page.
        await browser.Page.GotoAsync("/#/checks?state=problems");
        await browser.Page.Locator("table.grid tr[data-key='web1/shop-port']").WaitForAsync();
        Assert.Equal(0, await browser.Page.Locator("table.grid tr[data-key='web1/fine']").CountAsync());
        await Screenshot(browser, "checks");
        await browser.Page.SetViewportSizeAsync(390, 844);
        await browser.Page.GotoAsync("/#/");
        await row.WaitForAsync();
        await Screenshot(browser, "problems-phone");
        Assert.Equal("undefined", await browser.Page.EvaluateAsync<string>("() => typeof window.__pwned"));
        browser.AssertNoErrors();

        // The public status page: no token, component statuses only, no plugin output or host names.
        await browser.Page.GotoAsync("/status");
        await browser.Page.Locator("li.component.st-outage").Filter(new() { HasText = "Storefront" }).WaitForAsync();
        await browser.Page.Locator("li.component.st-degraded").Filter(new() { HasText = "Search" }).WaitForAsync();
        Assert.Equal("Some systems are down", await browser.Page.Locator("#overall").InnerTextAsync());
        // 90 daily uptime bars per component from the stored timeline: today is an outage for Storefront, fine for Payments.
        var storefront = browser.Page.Locator("li.component").Filter(new() { HasText = "Storefront" });
        Assert.Equal(90, await storefront.Locator(".bars .bar").CountAsync());
        Assert.Contains("day-outage", await storefront.Locator(".bars .bar").Last.GetAttributeAsync("class"));
        Assert.Contains("day-operational", await browser.Page.Locator("li.component").Filter(new() { HasText = "Payments" }).Locator(".bars .bar").Last.GetAttributeAsync("class"));
        Assert.Contains("day-nodata", await storefront.Locator(".bars .bar").First.GetAttributeAsync("class"));
        Assert.StartsWith("90-day uptime of Storefront:", await storefront.Locator(".bars").GetAttributeAsync("aria-label"));
        // Incidents from the alerts: Storefront's and Search's are ongoing; Payments has none.
        var incidents = browser.Page.Locator("ul.incidents li.incident.ongoing");
        await incidents.Filter(new() { HasText = "Storefront" }).WaitForAsync();
        await incidents.Filter(new() { HasText = "Search" }).WaitForAsync();
        Assert.Equal(0, await incidents.Filter(new() { HasText = "Payments" }).CountAsync());
        var publicText = await browser.Page.Locator("body").InnerTextAsync();
        var publicJson = await run.Client.GetStringAsync("/status.json");
        foreach (var text in new[] { publicText, publicJson })
            foreach (var secret in new[] { "web1", "shop-port", "Connection refused", "127.0.0.1", "pwned" })
                Assert.DoesNotContain(secret, text);
        await Screenshot(browser, "status");
        browser.AssertNoErrors();

        // The server goes away: the page says so within a refresh or two (the failed requests are expected errors now).
        await browser.Page.GotoAsync("/#/");
        await row.WaitForAsync();
        Assert.True(await run.Process.TerminateAsync(TimeSpan.FromSeconds(30)), "observe did not stop");
        await browser.Page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "Lost the server" }).WaitForAsync(new() { Timeout = 10_000 });
    }

    /// <summary>The ack made in the page is in /api/checks and its ACK line reaches a real ngircd channel through Alerting.</summary>
    [Fact]
    public async Task Check_page_acknowledges_and_schedules_downtime_through_the_api()
    {
        await using var ngircd = await NgircdServer.StartAsync();
        await using var watcher = await IrcWatcher.JoinAsync(ngircd.Port, ngircd.Channel);
        await using var run = await StartAsync("console-ack", extraYaml: $$$"""
            alerting:
              route: {receiver: ops, groupWait: 0s, groupInterval: 1s}
              receivers:
                - {name: ops, irc: {channel: "{{{ngircd.Channel}}}"}}
              irc: {server: 127.0.0.1, port: {{{ngircd.Port}}}, nick: observe, floodInterval: 200ms}
            """);
        await Poll.UntilAsync(async () => (await Check(run.Client, "shop-port")).GetProperty("stateType").GetString() == "hard"
            && (await Check(run.Client, "shop-port")).GetProperty("state").GetString() == "critical", TimeSpan.FromSeconds(20), "HARD CRITICAL");
        await using var browser = await ConsoleBrowser.OpenAsync(run.Setup.BaseUrl);
        var page = browser.Page;
        await page.GotoAsync("/#/check/web1/shop-port");
        await page.GetByLabel("Comment").First.FillAsync("looking <img src=x onerror=\"window.__pwned=3\">");
        await page.GetByLabel("Sticky", new() { Exact = false }).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Acknowledge" }).ClickAsync();
        await Poll.UntilAsync(async () => (await Check(run.Client, "shop-port")).TryGetProperty("acknowledgement", out var a) && a.GetProperty("sticky").GetBoolean(),
            TimeSpan.FromSeconds(10), "the ack in /api/checks");
        await page.GetByRole(AriaRole.Button, new() { Name = "Remove acknowledgement" }).WaitForAsync();
        Assert.Contains("looking <img", await page.Locator("dl.status").InnerTextAsync());
        // Nagios' ACKNOWLEDGEMENT notification, once (the check's ack acknowledges its alert too, without a second line).
        static bool IsAck(string t) => t.Contains("ACKNOWLEDGEMENT web1/shop-port: acknowledged by console (sticky): looking <img", StringComparison.Ordinal);
        await Poll.UntilAsync(() => watcher.Texts("observe").Any(IsAck), TimeSpan.FromSeconds(15), "the ACK line on IRC");
        output.WriteLine(watcher.Texts("observe").First(IsAck));

        await page.Locator("#dt-comment").FillAsync("maintenance");
        await page.Locator("#dt-duration").FillAsync("2h");
        await page.GetByRole(AriaRole.Button, new() { Name = "Schedule downtime" }).ClickAsync();
        await Poll.UntilAsync(async () => (await Check(run.Client, "shop-port")).GetProperty("inDowntime").GetBoolean(), TimeSpan.FromSeconds(10), "downtime in /api/checks");
        await page.Locator(".cancel-downtime").WaitForAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Re-check now" }).ClickAsync();
        await page.GetByText("Re-check requested.").WaitForAsync();
        await browser.ScreenshotAsync("check");

        // On Problems it is now under "In downtime", not unhandled.
        await page.GotoAsync("/#/");
        await page.Locator("table[data-group=downtime] tr[data-key='web1/shop-port']").WaitForAsync(new() { Timeout = 5000 });
        Assert.Single(watcher.Texts("observe"), IsAck);
        Assert.Equal("undefined", await page.EvaluateAsync<string>("() => typeof window.__pwned"));
        browser.AssertNoErrors();
    }

    [Fact]
    public async Task Alerts_page_creates_a_silence_from_an_alert_expires_it_and_acknowledges()
    {
        await using var run = await StartAsync("console-alerts");
        async Task<List<JsonElement>> Alerts() => (await run.Client.GetFromJsonAsync<JsonElement>("/api/alerts")).EnumerateArray().ToList();
        await Poll.UntilAsync(async () => (await Alerts()).Count(a => a.GetProperty("alert").GetProperty("status").GetString() == "firing") == 2,
            TimeSpan.FromSeconds(20), "both check alerts firing");
        await using var browser = await ConsoleBrowser.OpenAsync(run.Setup.BaseUrl);
        var page = browser.Page;
        await page.GotoAsync("/#/alerts");
        var shop = page.Locator("ul.alerts li[data-key='check/web1/shop-port']");
        await shop.GetByRole(AriaRole.Button, new() { Name = "Silence…" }).ClickAsync();
        Assert.Contains("host=\"web1\"", await page.Locator("#silence-matchers").InputValueAsync());
        await page.Locator("#silence-comment").FillAsync("swapping the disk \"now\" <b>x</b>");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create silence" }).ClickAsync();

        async Task<JsonElement?> Silence() => (await run.Client.GetFromJsonAsync<JsonElement>("/api/silences")).EnumerateArray()
            .Cast<JsonElement?>().FirstOrDefault(s => s!.Value.GetProperty("comment").GetString()!.StartsWith("swapping the disk"));
        await Poll.UntilAsync(async () => await Silence() is { } s && s.GetProperty("state").GetString() == "active", TimeSpan.FromSeconds(10), "the silence in /api/silences");
        var id = (await Silence())!.Value.GetProperty("id").GetString()!;
        var matchers = (await Silence())!.Value.GetProperty("matchers").EnumerateArray().Select(m => m.GetString()).ToList();
        Assert.Contains("check=shop-port", matchers);
        Assert.DoesNotContain(matchers, m => m!.StartsWith("state"));
        var row = page.Locator($"#silences tr[data-id='{id}']");
        await row.WaitForAsync();
        Assert.Contains("swapping the disk \"now\" <b>x</b>", await row.InnerTextAsync());

        // Acknowledge the hostile check's alert from the page: the alert (and through it the check) is acknowledged.
        await page.Locator("ul.alerts li[data-key='check/web1/hostile'] .ack-alert").ClickAsync();
        await Poll.UntilAsync(async () => (await Alerts()).Any(a => a.GetProperty("alert").GetProperty("key").GetString() == "check/web1/hostile"
            && a.TryGetProperty("acknowledgement", out var ack) && ack.ValueKind == JsonValueKind.Object), TimeSpan.FromSeconds(10), "the alert acked in /api/alerts");
        await page.Locator("ul.alerts li[data-key='check/web1/hostile'] .tag").Filter(new() { HasText = "acked" }).WaitForAsync();
        await browser.ScreenshotAsync("alerts");

        await row.GetByRole(AriaRole.Button, new() { Name = "Expire" }).ClickAsync();
        await Poll.UntilAsync(async () => (await Silence())?.GetProperty("state").GetString() == "expired", TimeSpan.FromSeconds(10), "the silence expired");
        Assert.Equal("undefined", await page.EvaluateAsync<string>("() => typeof window.__pwned"));
        browser.AssertNoErrors();
    }

    [Fact]
    public async Task Deploys_page_shows_the_verdict_with_an_sli_chart_and_marker_and_locks_and_unlocks()
    {
        // StatsD on, and 1 s storage points: the cart deploy's error counter fails its verification and it is rolled back.
        var statsdPort = FreePort.Get();
        await using var run = await StartAsync("console-deploys", env: new Dictionary<string, string>
        {
            ["OBSERVE__Collector__Statsd__Enabled"] = "true", ["OBSERVE__Collector__Statsd__Port"] = $"{statsdPort}",
            ["OBSERVE__Storage__Schemas__0__Name"] = "all", ["OBSERVE__Storage__Schemas__0__Pattern"] = ".*", ["OBSERVE__Storage__Schemas__0__Retentions"] = "1s:1d",
        });
        // Versions are restricted to a safe alphabet by the API; the description is free text.
        const string version = "v2+build.7", description = "fix <img src=x onerror=\"window.__pwned=4\"> it's \"done\"";
        var posted = await run.Client.PostAsJsonAsync("/api/deploys", new { service = "shop", env = "prod", version, by = "matt", description });
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());
        var id = (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var finished = await run.Client.PostAsJsonAsync("/api/deploys", new { @event = "finish", id, service = "shop", env = "prod", version, by = "matt" });
        Assert.True(finished.IsSuccessStatusCode, await finished.Content.ReadAsStringAsync());
        await Poll.UntilAsync(async () => (await run.Client.GetFromJsonAsync<JsonElement>($"/api/deploys/{id}")).TryGetProperty("verification", out _),
            TimeSpan.FromSeconds(20), "a verification");

        await using var browser = await ConsoleBrowser.OpenAsync(run.Setup.BaseUrl);
        var page = browser.Page;
        await page.GotoAsync("/#/deploys?service=shop");
        var deploy = page.Locator($"details[data-id='{id}']");
        Assert.Contains($"shop {version}", await deploy.Locator("summary").InnerTextAsync());
        await deploy.Locator("summary").ClickAsync();
        await deploy.Locator("table.slis").WaitForAsync();
        Assert.Contains("constantLine(5)", await deploy.Locator("table.slis").InnerTextAsync());
        Assert.Contains(description, await deploy.InnerTextAsync());
        // The chart: a drawn line with points and the deploy's marker.
        var line = deploy.Locator("svg path.series");
        // Attached, not "visible": a constant series is a horizontal path with a zero-height box.
        await line.WaitForAsync(new() { State = WaitForSelectorState.Attached, Timeout = 10_000 });
        Assert.Matches("^M[0-9.]+,[0-9.]+L", await line.GetAttributeAsync("d"));
        Assert.True(await deploy.Locator("svg line.marker").CountAsync() >= 1);

        // A deploy that was rolled back: its chart has a drawn series and the red "rolled back" marker.
        var bad = await run.Client.PostAsJsonAsync("/api/deploys", new { service = "cart", env = "prod", version = "v9", by = "matt" });
        Assert.True(bad.IsSuccessStatusCode, await bad.Content.ReadAsStringAsync());
        var badId = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.True((await run.Client.PostAsJsonAsync("/api/deploys", new { @event = "finish", id = badId, service = "cart", env = "prod", version = "v9", by = "matt" })).IsSuccessStatusCode);
        using (var statsd = new UdpClient())
        {
            var errors = Encoding.ASCII.GetBytes("cart.errors:5|c");
            var last = "";
            try
            {
                await Poll.UntilAsync(async () =>
                {
                    await statsd.SendAsync(errors, new IPEndPoint(IPAddress.Loopback, statsdPort));
                    last = await run.Client.GetStringAsync($"/api/deploys/{badId}");
                    return JsonDocument.Parse(last).RootElement.GetProperty("state").GetString() == "rolled_back";
                }, TimeSpan.FromSeconds(30), "the cart deploy rolled back");
            }
            finally { output.WriteLine(last); }
        }
        await page.GotoAsync("/#/deploys?service=cart");
        var rolled = page.Locator($"details[data-id='{badId}']");
        await rolled.Locator("summary").ClickAsync();
        var rolledLine = rolled.Locator("svg path.series");
        await rolledLine.WaitForAsync(new() { State = WaitForSelectorState.Attached, Timeout = 10_000 });
        Assert.Matches("^M[0-9.]+,[0-9.]+L", await rolledLine.GetAttributeAsync("d"));
        await rolled.Locator("svg line.marker[stroke='#c62828']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        Assert.Contains("rolled back", await rolled.Locator("svg.chart-svg").TextContentAsync());
        Assert.Contains("Rollback (command)", await rolled.InnerTextAsync());
        await browser.ScreenshotAsync("deploys-rolled-back");

        await page.GotoAsync("/#/deploys?service=shop");
        await page.Locator("#lock-env").FillAsync("prod");
        await page.Locator("#lock-reason").FillAsync("black friday <script>window.__pwned=5</script>");
        await page.GetByRole(AriaRole.Button, new() { Name = "Lock", Exact = true }).ClickAsync();
        async Task<int> Locks() => (await run.Client.GetFromJsonAsync<JsonElement>("/api/locks")).GetArrayLength();
        await Poll.UntilAsync(async () => await Locks() == 1, TimeSpan.FromSeconds(10), "the lock in /api/locks");
        await page.Locator("#locks li[data-env='prod']").WaitForAsync();
        await browser.ScreenshotAsync("deploys");
        await page.Locator("#locks li[data-env='prod'] .unlock").ClickAsync();
        await Poll.UntilAsync(async () => await Locks() == 0, TimeSpan.FromSeconds(10), "unlocked");
        Assert.Equal("undefined", await page.EvaluateAsync<string>("() => typeof window.__pwned"));
        browser.AssertNoErrors();
    }

    [Fact]
    public async Task Logs_page_finds_a_line_sent_over_udp_and_metrics_page_completes_and_draws_a_check_series()
    {
        var graphite = FreePort.Get();
        await using var run = await StartAsync("console-logs", graphite: graphite);
        var endpoint = IPEndPoint.Parse((await run.Client.GetFromJsonAsync<JsonElement>("/stats")).GetProperty("logs").GetProperty("udpEndpoint").GetString()!);
        using (var udp = new UdpClient())
        {
            var line = JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["@t"] = DateTime.UtcNow.ToString("O"), ["@l"] = "Error", ["@m"] = "payment <script>window.__pwned=6</script> failed 'x' \"y\"",
                ["service"] = "shop", ["host"] = "web1", ["order"] = "<img src=x onerror=\"window.__pwned=7\">",
            });
            await udp.SendAsync(Encoding.UTF8.GetBytes(line + "\n"), endpoint);
        }
        await Poll.UntilAsync(async () => (await run.Client.GetFromJsonAsync<JsonElement>("/api/logs?q=payment&from=-1h")).GetProperty("count").GetInt32() == 1,
            TimeSpan.FromSeconds(15), "the UDP line in /api/logs");

        await using var browser = await ConsoleBrowser.OpenAsync(run.Setup.BaseUrl);
        var page = browser.Page;
        await page.GotoAsync("/#/logs");
        await page.GetByLabel("Text").FillAsync("payment");
        await page.GetByLabel("Service").FillAsync("shop");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        var found = page.Locator("ul.logs li");
        await found.First.WaitForAsync();
        Assert.Equal(1, await found.CountAsync());
        Assert.Contains("q=payment", page.Url);
        Assert.Equal("payment <script>window.__pwned=6</script> failed 'x' \"y\"", await found.Locator(".message").InnerTextAsync());
        await found.Locator("summary").ClickAsync();
        Assert.Contains("<img src=x onerror=\"window.__pwned=7\">", await found.Locator("dl").InnerTextAsync());
        await browser.ScreenshotAsync("logs");

        // Metrics: the check's perfdata series, completed from /metrics/find and drawn.
        await Poll.UntilAsync(async () => (await run.Client.GetStringAsync("/metrics/find?query=checks.web1.fine.*")).Contains("conns"),
            TimeSpan.FromSeconds(20), "checks.web1.fine.conns stored");
        await page.GotoAsync("/#/metrics");
        var target = page.GetByLabel("Target");
        await target.PressSequentiallyAsync("checks.web1.fi");
        await page.Locator("#m-complete option[value='checks.web1.fine.']").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        await target.FillAsync("checks.web1.fine.conns");
        await page.GetByRole(AriaRole.Button, new() { Name = "Draw" }).ClickAsync();
        await page.Locator(".metric-chart svg path.series").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        Assert.Contains("target=checks.web1.fine.conns", page.Url);
        Assert.Contains("checks.web1.fine.conns", await page.Locator(".metric-chart ul.legend").InnerTextAsync());
        await browser.ScreenshotAsync("metrics");
        // A check's page graphs its perfdata.
        await page.GotoAsync("/#/check/web1/fine");
        await page.Locator(".perf-chart svg path.series").First.WaitForAsync(new() { State = WaitForSelectorState.Attached });
        Assert.Contains("checks.web1.fine.conns", await page.Locator(".perf-chart ul.legend").InnerTextAsync());

        // Hostile metric names: Graphite plaintext keeps every printable non-space character ('<', '>', '"', '\'', '&', '=' and '/'
        // all survive; ';' would start tags and '.' a new node, so the script says __pwned, not window.__pwned), so the names reach /metrics/find, the completion list and the legend unchanged.
        // The markup one is a valid target as it stands; the quoted one needs Graphite's '\' escapes, so it is drawn by wildcard.
        const string markup = "hostile.<img/src=x/onerror=__pwned=9>&b=<b>bold</b>";
        const string quoted = "hostile.it's\"quoted\"<script>__pwned=10</script>";
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(IPAddress.Loopback, graphite);
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            await tcp.GetStream().WriteAsync(Encoding.UTF8.GetBytes($"{markup} 3 {now}\n{quoted} 4 {now}\n"));
        }
        // JSON escapes '<', '=' and quotes, so compare parsed ids, not the raw text.
        async Task<string[]> Stored() => [.. (await run.Client.GetFromJsonAsync<JsonElement>("/metrics/find?query=hostile.*")).EnumerateArray()
            .Select(m => m.GetProperty("id").GetString()!).Order(StringComparer.Ordinal)];
        await Poll.UntilAsync(async () => (await Stored()).SequenceEqual(new[] { markup, quoted }.Order(StringComparer.Ordinal)),
            TimeSpan.FromSeconds(20), "the hostile names stored");
        await page.GotoAsync("/#/metrics");
        target = page.GetByLabel("Target");
        await target.PressSequentiallyAsync("hostile.");
        var completions = page.Locator("#m-complete option");
        await Poll.UntilAsync(async () => await completions.CountAsync() == 2, TimeSpan.FromSeconds(10), "two hostile completions");
        Assert.Equal(new[] { markup, quoted }.Order(StringComparer.Ordinal), (await completions.EvaluateAllAsync<string[]>("os => os.map(o => o.value)")).Order(StringComparer.Ordinal));
        await target.FillAsync(markup); // what choosing the completion does
        await page.GetByRole(AriaRole.Button, new() { Name = "Draw" }).ClickAsync();
        await page.Locator(".metric-chart svg path.series").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        Assert.Equal(markup, (await page.Locator(".metric-chart ul.legend li").InnerTextAsync()).Trim());
        Assert.Contains("target=" + Uri.EscapeDataString(markup) + "&", page.Url);
        // The shared URL, opened afresh, draws the same series.
        var shared = page.Url;
        await page.GotoAsync("about:blank");
        await page.GotoAsync(shared);
        await page.Locator(".metric-chart svg path.series").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        Assert.Equal(markup, (await page.Locator(".metric-chart ul.legend li").InnerTextAsync()).Trim());
        await page.GotoAsync("/#/metrics?target=hostile.*");
        var legend = page.Locator(".metric-chart ul.legend li");
        await Poll.UntilAsync(async () => await legend.CountAsync() == 2, TimeSpan.FromSeconds(10), "both hostile series in the legend");
        Assert.Equal(new[] { markup, quoted }.Order(StringComparer.Ordinal), (await legend.AllInnerTextsAsync()).Select(x => x.Trim()).Order(StringComparer.Ordinal));
        Assert.Equal(0, await page.Locator(".metric-chart img, .metric-chart script, .metric-chart b").CountAsync());
        Assert.Equal("undefined", await page.EvaluateAsync<string>("() => typeof window.__pwned"));
        browser.AssertNoErrors();
    }

    [Fact]
    public async Task With_readRequiresToken_the_page_asks_for_a_token_and_a_read_token_sees_no_actions()
    {
        await using var run = await StartAsync("console-token", tokens: true);
        await using var browser = await ConsoleBrowser.OpenAsync(run.Setup.BaseUrl);
        var page = browser.Page;
        await page.GotoAsync("/#/check/web1/shop-port");
        var token = page.GetByLabel("API token");
        await token.WaitForAsync();
        await browser.ScreenshotAsync("sign-in");
        Assert.Equal(0, await page.Locator("table").CountAsync());

        await token.FillAsync("wrong-token-0123456789");
        await page.GetByRole(AriaRole.Button, new() { Name = "Use token" }).ClickAsync();
        await page.GetByText("That token was not accepted").WaitForAsync();

        await page.GetByLabel("API token").FillAsync(ReadToken);
        await page.GetByRole(AriaRole.Button, new() { Name = "Use token" }).ClickAsync();
        await page.Locator("#check-output").WaitForAsync();
        Assert.Contains("lacks the 'alerts' scope", await page.Locator("#no-actions").InnerTextAsync());
        Assert.Equal(0, await page.GetByRole(AriaRole.Button, new() { Name = "Acknowledge" }).CountAsync());
        // The token is kept in the tab (sessionStorage), never as a cookie.
        Assert.Empty(await browser.Context.CookiesAsync());
        Assert.Equal(ReadToken, await page.EvaluateAsync<string>("() => sessionStorage.getItem('observe.token')"));

        await page.GetByRole(AriaRole.Button, new() { Name = "Forget token" }).ClickAsync();
        await page.GetByLabel("API token").FillAsync(AlertsToken);
        await page.GetByRole(AriaRole.Button, new() { Name = "Use token" }).ClickAsync();
        await page.GotoAsync("/#/check/web1/shop-port");
        await page.Locator("#ack-form").WaitForAsync();
        browser.AssertNoErrors();
    }
}
