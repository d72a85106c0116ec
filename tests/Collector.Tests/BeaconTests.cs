using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector.Beacons;
using Observe.Collector.Tests.Statsd;
using Observe.TestSupport;

namespace Observe.Collector.Tests;

/// <summary>Boomerang beacons through the beacon handler (no socket): what becomes a timer, and every hostile shape refused and counted.</summary>
public class BeaconTests
{
    private const string Browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";

    private static (BeaconService Service, Observe.Collector.Statsd.StatsdAggregator Aggregator, ManualTimeProvider Time) Make(Action<BeaconOptions>? configure = null)
    {
        var o = new BeaconOptions { Enabled = true, AllowedOrigins = ["https://shop.example"], PageGroups = [new() { Url = "/product/", Group = "product" }] };
        configure?.Invoke(o);
        var a = StatsdTest.Aggregator();
        var time = new ManualTimeProvider();
        return (new BeaconService(o, a, time, NullLoggerFactory.Instance), a, time);
    }

    private static async Task<HttpContext> Send(BeaconService s, string method, string query, string? form = null, string ua = Browser,
        string? origin = "https://shop.example", string? contentType = "application/x-www-form-urlencoded")
    {
        var ctx = new DefaultHttpContext();
        ctx.Request.Method = method;
        ctx.Request.Path = "/beacon";
        ctx.Request.QueryString = new QueryString(query);
        ctx.Request.Headers.UserAgent = ua;
        if (origin != null) ctx.Request.Headers.Origin = origin;
        if (form != null)
        {
            var bytes = Encoding.UTF8.GetBytes(form);
            ctx.Request.Body = new MemoryStream(bytes);
            ctx.Request.ContentLength = bytes.Length;
            ctx.Request.ContentType = contentType;
        }
        await s.HandleAsync(ctx);
        return ctx;
    }

    [Fact]
    public async Task A_get_and_a_post_beacon_become_timers_per_page_group_with_cors_for_the_allowed_origin()
    {
        var (s, a, _) = Make();
        var get = await Send(s, "GET", "?h.pg=checkout&t_done=1200&t_resp=80&t_page=1120&nt_nav_st=1000&nt_res_st=1090&nt_domint=1700&nt_load_end=2150&nt_dns_st=1010&nt_dns_end=1015&u=https%3A%2F%2Fshop.example%2Fcheckout");
        Assert.Equal(204, get.Response.StatusCode);
        Assert.Equal("https://shop.example", get.Response.Headers.AccessControlAllowOrigin.ToString());
        var post = await Send(s, "POST", "", form: "t_done=800&u=https%3A%2F%2Fshop.example%2Fproduct%2F17");
        Assert.Equal(204, post.Response.StatusCode);
        var f = a.FlushDict();
        Assert.Equal(1200, f["stats.timers.beacons.checkout.t_done.upper"]);
        Assert.Equal(80, f["stats.timers.beacons.checkout.t_resp.mean"]);
        Assert.Equal(1120, f["stats.timers.beacons.checkout.t_page.mean"]);
        Assert.Equal(90, f["stats.timers.beacons.checkout.ttfb.mean"]);
        Assert.Equal(700, f["stats.timers.beacons.checkout.dom_interactive.mean"]);
        Assert.Equal(1150, f["stats.timers.beacons.checkout.load.mean"]);
        Assert.Equal(5, f["stats.timers.beacons.checkout.dns.mean"]);
        Assert.Equal(800, f["stats.timers.beacons.product.t_done.upper_90"]); // page group from the URL rule
        Assert.Equal(2, s.Stats().Accepted);
    }

    [Fact]
    public async Task Hostile_beacons_are_refused_or_dropped_and_counted()
    {
        var (s, a, time) = Make(o => { o.MaxPageGroups = 3; o.MaxPerSecond = 50; o.MaxRequestBytes = 2048; });
        Assert.Equal(403, (await Send(s, "GET", "?t_done=5", origin: "https://evil.example")).Response.StatusCode);
        Assert.Equal(204, (await Send(s, "GET", "?t_done=5", ua: "Googlebot/2.1 (+http://www.google.com/bot.html)")).Response.StatusCode);
        await Send(s, "GET", "?t_done=5", ua: "Mozilla/5.0 HeadlessChrome/120.0");
        await Send(s, "GET", "?t_done=5", ua: "");
        await Send(s, "GET", "?h.pg=x&u=y"); // no timing at all
        // Absurd values: negative, NaN, infinite, beyond maxTimingMs, huge strings; t_resp=30 survives.
        await Send(s, "GET", "?h.pg=weird&t_done=-5&t_page=NaN&t_resp=30&nt_nav_st=1e400&nt_load_end=5");
        await Send(s, "GET", "?h.pg=weird&t_done=99999999999&t_page=" + new string('9', 40));
        // A page group that tries to inject path nodes or tags is one sanitised node.
        await Send(s, "GET", "?h.pg=..%2F%3Cscript%3E;a=b&t_done=10");
        // More page groups than maxPageGroups: the rest are "other".
        for (var i = 0; i < 10; i++) await Send(s, "GET", $"?h.pg=g{i}&t_done=1");
        // Preflight, a wrong method, a body over the limit, a body that is not a form.
        var pre = await Send(s, "OPTIONS", "");
        Assert.Equal((204, "GET, POST"), (pre.Response.StatusCode, pre.Response.Headers.AccessControlAllowMethods.ToString()));
        Assert.Equal(405, (await Send(s, "DELETE", "")).Response.StatusCode);
        Assert.Equal(413, (await Send(s, "POST", "", form: "t_done=1&x=" + new string('a', 4000))).Response.StatusCode);
        Assert.Equal(413, (await Send(s, "GET", "?t_done=1&x=" + new string('a', 4000))).Response.StatusCode);
        Assert.Equal(415, (await Send(s, "POST", "", form: "{\"t_done\":1}", contentType: "application/json")).Response.StatusCode);
        // Rate: beyond maxPerSecond in one second → 429; the next second takes beacons again.
        var statuses = new List<int>();
        for (var i = 0; i < 60; i++) statuses.Add((await Send(s, "GET", "?h.pg=g0&t_done=2")).Response.StatusCode);
        Assert.Contains(429, statuses);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(204, (await Send(s, "GET", "?h.pg=g0&t_done=2")).Response.StatusCode);

        var d = s.Stats().Dropped;
        Assert.Equal(1, d["origin"]);
        Assert.Equal(3, d["bot"]);
        Assert.Equal(1, d["no_timing"]);
        Assert.Equal(5, d["absurd"]); // -5, NaN, load from an infinite start (1e400), 99999999999, a 40-digit number
        Assert.Equal(2, d["too_large"]);
        Assert.Equal(2, d["bad_request"]); // DELETE and the JSON body
        Assert.True(d["rate"] > 0);
        var names = a.FlushDict().Keys.Where(k => k.StartsWith("stats.timers.beacons.") && k.EndsWith(".count")).Select(k => k.Split('.')[3]).ToHashSet();
        Assert.Equal(new HashSet<string> { "weird", "____script__a_b", "g0", "other" }, names);
    }

    [Fact]
    public async Task A_get_beacon_whose_request_line_kestrel_refuses_is_still_counted_as_too_large()
    {
        // Kestrel refuses a request line beyond its limit (414) before the handler runs: that refusal must be counted too.
        var (s, _, _) = Make(o => { o.Port = 0; o.MaxRequestBytes = 1024; });
        await s.StartAsync(CancellationToken.None);
        try
        {
            using var http = new HttpClient();
            using var req = new HttpRequestMessage(HttpMethod.Get, $"http://{s.LocalEndPoint}/?t_done=1&x={new string('a', 8000)}");
            req.Headers.UserAgent.ParseAdd(Browser);
            using var res = await http.SendAsync(req);
            Assert.Equal(414, (int)res.StatusCode);
            // Kestrel reports the refusal after answering it.
            await Poll.UntilAsync(() => s.Stats().Dropped["too_large"] > 0, TimeSpan.FromSeconds(10), "the 414 counted as too_large");
            Assert.Equal(1, s.Stats().Dropped["too_large"]);
            // A body over the limit is refused by the handler, counted once (not again from Kestrel's report).
            using var post = new HttpRequestMessage(HttpMethod.Post, $"http://{s.LocalEndPoint}/") { Content = new StringContent("t_done=1&x=" + new string('a', 4000), Encoding.UTF8, "application/x-www-form-urlencoded") };
            post.Headers.UserAgent.ParseAdd(Browser);
            Assert.Equal(413, (int)(await http.SendAsync(post)).StatusCode);
            // Headers beyond Kestrel's 16 KiB (a huge Referer) → 431, counted the same way.
            using var big = new HttpRequestMessage(HttpMethod.Get, $"http://{s.LocalEndPoint}/?t_done=1");
            big.Headers.UserAgent.ParseAdd(Browser);
            big.Headers.TryAddWithoutValidation("Referer", "https://shop.example/" + new string('r', 20000));
            Assert.Equal(431, (int)(await http.SendAsync(big)).StatusCode);
            await Poll.UntilAsync(() => s.Stats().Dropped["too_large"] >= 3, TimeSpan.FromSeconds(10), "the 431 counted as too_large");
            Assert.Equal(3, s.Stats().Dropped["too_large"]);
        }
        finally { await s.StopAsync(CancellationToken.None); }
    }
}
