using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Boomerang's real script (npm boomerangjs 1.815.1, rt + navtiming plugins) in Debian's chromium via Playwright, on
/// pages this test serves from another origin, sends its beacons (GET, then POST) to `observe run`'s beacon port; the
/// timings the browser sent arrive as StatsD timers per page group, read back through /render.
/// </summary>
public class BeaconBrowserTests(ITestOutputHelper output)
{
    private const string DesktopChrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

    [Fact]
    public async Task Boomerang_in_chromium_sends_beacons_that_arrive_as_timers_per_page_group()
    {
        var dir = Repo.TempDir("beacons");
        // The site binds port 0 before Observe starts (its origin goes into Observe's config): a port picked free and bound
        // seconds later was taken meanwhile by another test's connection in CI ("address already in use").
        int beaconPort = FreePort.Get();
        await using var web = await StartSiteAsync($"http://127.0.0.1:{beaconPort}/beacon");
        var site = web.Urls.Single().TrimEnd('/');
        await using var observe = await ObserveProcess.StartAsync(new ObserveSetup(dir)
        {
            Config = s => $$"""
            http: {port: {{s.HttpPort}}}
            collector:
              statsd: {port: {{s.StatsdPort}}, flushInterval: 1000, flushOnStop: immediate}
              graphite: {enabled: false}
              beacons:
                enabled: true
                port: {{beaconPort}}
                allowedOrigins: [{{site}}]
                pageGroups: [{url: "/product/", group: product}]
            storage:
              dataDir: {{dir}}/data
              schemas:
                - {name: all, pattern: ".*", retentions: "1s:1h"}
            """,
        });
        var start = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 2;

        Assert.True(File.Exists(ConsoleBrowser.Chromium), $"{ConsoleBrowser.Chromium} missing: run tests/peers/install.sh");
        using var pw = await Playwright.CreateAsync();
        await using var browser = await pw.Chromium.LaunchAsync(new() { ExecutablePath = ConsoleBrowser.Chromium, Headless = true, Args = ["--no-sandbox"] });
        // A desktop browser's User-Agent: the headless one is (rightly) dropped as a bot.
        var context = await browser.NewContextAsync(new() { UserAgent = DesktopChrome });
        var page = await context.NewPageAsync();
        var beacons = new List<IRequest>();
        // Finished, not just issued: the next page is opened only once a beacon has been answered (in CI the product page's
        // XHR was seen issued, the test navigated on, and the unload aborted it before Observe had it: count 0).
        page.RequestFinished += (_, r) => { if (r.Url.Contains($":{beaconPort}/")) lock (beacons) beacons.Add(r); };

        // Page 1 names its group with h.pg; Boomerang's default (AUTO) sends a short beacon as GET.
        await page.GotoAsync($"{site}/checkout?type=GET");
        await Poll.UntilAsync(() => Task.FromResult(Load(beacons, "GET") != null), TimeSpan.FromSeconds(20), "a beacon from the checkout page");
        // Page 2 has no h.pg: the URL rule names it; this page asks Boomerang to POST its form by XHR (a sendBeacon body is
        // not visible to Playwright, and the test compares what was sent with what arrived).
        await page.GotoAsync($"{site}/product/17?type=POST");
        await Poll.UntilAsync(() => Task.FromResult(Load(beacons, "POST") != null), TimeSpan.FromSeconds(20), "a beacon from the product page");

        // Page 3 posts with navigator.sendBeacon, as Boomerang does by default for a POST (its body is invisible to
        // Playwright: what arrives is checked by count below).
        await page.GotoAsync($"{site}/cart?type=POST&sendBeacon=1");

        // The page-load beacons (an unload beacon, without timings, may come between them).
        var get = Load(beacons, "GET")!;
        var post = Load(beacons, "POST")!;
        output.WriteLine(string.Join("\n", get.Select(kv => $"{kv.Key}={kv.Value}")) + "\n--\n" + string.Join("\n", post.Select(kv => $"{kv.Key}={kv.Value}")));
        Assert.Equal("checkout", get["h.pg"]);
        Assert.False(post.ContainsKey("h.pg"));

        var client = observe.Client;
        async Task Arrives(string target, double expected) =>
            await Poll.UntilAsync(async () => (await RenderJson.PointsAsync(client, target, start)).Values.Sum() == expected,
                TimeSpan.FromSeconds(15), $"{target} = {expected}");
        // One beacon per page; its t_done is exactly what the browser sent (one sample: sum = upper = the value).
        await Arrives("stats.timers.beacons.checkout.t_done.count", 1);
        await Arrives("stats.timers.beacons.checkout.t_done.sum", double.Parse(get["t_done"]));
        await Arrives("stats.timers.beacons.checkout.ttfb.sum", double.Parse(get["nt_res_st"]) - double.Parse(get["nt_nav_st"]));
        await Arrives("stats.timers.beacons.product.t_done.count", 1);
        await Arrives("stats.timers.beacons.product.t_done.sum", double.Parse(post["t_done"]));
        await Arrives("stats.timers.beacons.product.load.sum", double.Parse(post["nt_load_end"]) - double.Parse(post["nt_nav_st"]));
        await Arrives("stats.timers.beacons.cart.t_done.count", 1);
        var stats = (await client.GetFromJsonAsync<JsonElement>("/stats")).GetProperty("beacons");
        Assert.Equal(3, stats.GetProperty("accepted").GetInt64());
        Assert.Equal(0, stats.GetProperty("dropped").GetProperty("origin").GetInt64());

        // The unauthenticated port serves nothing of Observe, and its bounds hold on the real listener.
        using var anyone = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{beaconPort}") };
        anyone.DefaultRequestHeaders.UserAgent.ParseAdd(DesktopChrome);
        var notStats = await anyone.GetAsync("/stats");
        Assert.Equal(204, (int)notStats.StatusCode);
        Assert.Empty(await notStats.Content.ReadAsStringAsync());
        Assert.Contains((int)(await anyone.GetAsync("/beacon?t_done=1&x=" + new string('a', 40_000))).StatusCode, new[] { 413, 414 });
        using var foreign = new HttpRequestMessage(HttpMethod.Post, "/beacon") { Content = new FormUrlEncodedContent([new("t_done", "5")]) };
        foreign.Headers.Add("Origin", "https://evil.example");
        Assert.Equal(403, (int)(await anyone.SendAsync(foreign)).StatusCode);
        await Poll.UntilAsync(async () => (await client.GetStringAsync("/metrics")).Contains("observe_beacons_dropped_total{reason=\"origin\"} 1"),
            TimeSpan.FromSeconds(5), "the refused origin counted on /metrics");
        await context.CloseAsync();
        Assert.True(await observe.Process.TerminateAsync(TimeSpan.FromSeconds(20)), "observe did not stop on SIGTERM");
    }

    /// <summary>The first page-load beacon (one with t_done) sent with <paramref name="method"/>, as its parameters.</summary>
    private static Dictionary<string, string>? Load(List<IRequest> beacons, string method)
    {
        lock (beacons) return beacons.Where(r => r.Method == method).Select(Params).FirstOrDefault(p => p.ContainsKey("t_done"));
    }

    private static Dictionary<string, string> Params(IRequest r)
    {
        var raw = r.Method == "POST" ? r.PostData ?? "" : new Uri(r.Url).Query.TrimStart('?');
        return Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(raw).ToDictionary(kv => kv.Key, kv => kv.Value.ToString());
    }

    /// <summary>The shop's pages: Boomerang's own files from node_modules and a page that loads them.</summary>
    private static async Task<WebApplication> StartSiteAsync(string beaconUrl)
    {
        var boomerang = Path.Combine(Repo.NodeModules, "boomerangjs");
        Assert.True(File.Exists(Path.Combine(boomerang, "boomerang.js")), "boomerangjs missing: run tests/peers/install.sh");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/js/{*file}", (string file) => file is "boomerang.js" or "plugins/rt.js" or "plugins/navtiming.js"
            ? Results.File(Path.Combine(boomerang, file), "text/javascript") : Results.NotFound());
        app.MapGet("/{*path}", (HttpContext ctx, string? path) =>
        {
            var type = ctx.Request.Query["type"].ToString() == "POST" ? "POST" : "GET";
            var pg = path is "checkout" or "cart" ? $$"""BOOMR.addVar("h.pg", "{{path}}");""" : "";
            var sendBeacon = ctx.Request.Query["sendBeacon"].ToString() == "1";
            return Results.Content($$"""
                <!doctype html><html><head><title>{{path}}</title>
                <script src="/js/boomerang.js"></script><script src="/js/plugins/rt.js"></script><script src="/js/plugins/navtiming.js"></script>
                <script>BOOMR.init({ beacon_url: {{JsonSerializer.Serialize(beaconUrl)}}, beacon_type: "{{type}}", beacon_disable_sendbeacon: {{(type == "POST" && !sendBeacon ? "true" : "false")}} }); {{pg}}</script>
                </head><body><h1>{{path}}</h1></body></html>
                """, "text/html");
        });
        await app.StartAsync();
        return app;
    }
}
