using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Observe.Checks;
using Observe.Host.Config;

namespace Observe.Integration;

/// <summary>How the console is served (in process): embedded files with their security headers, the switch, and whoami.</summary>
public class ConsoleServingTests
{
    private const string ReadSecret = "read-secret-0123456789";
    private const string AdminSecret = "admin-secret-01234567890";

    [Fact]
    public async Task Every_embedded_file_is_served_with_the_strict_headers_and_unknown_files_are_404()
    {
        await using var app = await ObserveApp.StartAsync(c => c.Collector.Statsd.Enabled = false);
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        foreach (var (path, type) in new[] { ("/", "text/html"), ("/console/app.js", "text/javascript"), ("/console/problems.js", "text/javascript"),
                     ("/console/checks.js", "text/javascript"), ("/console/console.css", "text/css") })
        {
            var r = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.StartsWith(type, r.Content.Headers.ContentType!.ToString());
            Assert.Equal(Observe.Host.WebConsole.ConsoleEndpoints.ContentSecurityPolicy, r.Headers.GetValues("Content-Security-Policy").Single());
            Assert.Equal("nosniff", r.Headers.GetValues("X-Content-Type-Options").Single());
            // Revalidated by ETag: a new binary's files are never served stale from the browser cache.
            var again = new HttpRequestMessage(HttpMethod.Get, path);
            again.Headers.IfNoneMatch.Add(r.Headers.ETag!);
            Assert.Equal(HttpStatusCode.NotModified, (await http.SendAsync(again)).StatusCode);
        }
        // No inline script or style anywhere in the page: the CSP would block it, and there is none to allow.
        var html = await http.GetStringAsync("/");
        Assert.DoesNotMatch("<script(?![^>]*\\bsrc=)", html);
        Assert.DoesNotContain("style=", html);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/console/nope.js")).StatusCode);
        // The page's refreshes go compressed when the browser asks (it always does); plain clients get plain bodies.
        using var gz = new HttpRequestMessage(HttpMethod.Get, "/stats");
        gz.Headers.AcceptEncoding.ParseAdd("gzip");
        Assert.Equal("gzip", (await http.SendAsync(gz)).Content.Headers.ContentEncoding.Single());
        Assert.Empty((await http.GetAsync("/stats")).Content.Headers.ContentEncoding);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/console/..%2FObserve.csproj")).StatusCode);
    }

    [Fact]
    public async Task Console_enabled_false_leaves_the_root_unmapped()
    {
        await using var app = await ObserveApp.StartAsync(c => { c.Collector.Statsd.Enabled = false; c.Console.Enabled = false; });
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/console/app.js")).StatusCode);
    }

    [Fact]
    public async Task Whoami_answers_without_a_token_and_names_the_token_its_scopes_and_the_enabled_stages()
    {
        await using var app = await ObserveApp.StartAsync(c =>
        {
            c.Collector.Statsd.Enabled = false;
            c.Deploys.Enabled = false;
            c.Auth.ReadRequiresToken = true;
            c.Auth.Tokens.Add(new ApiTokenOptions { Name = "viewer", Token = ReadSecret, Scopes = ["read"] });
            c.Auth.Tokens.Add(new ApiTokenOptions { Name = "root", Token = AdminSecret, Scopes = ["admin"] });
        });
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/")).StatusCode); // the shell holds no data: it asks for the token
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/checks")).StatusCode);

        var anonymous = await http.GetFromJsonAsync<JsonElement>("/api/whoami");
        Assert.False(anonymous.GetProperty("authenticated").GetBoolean());
        Assert.True(anonymous.GetProperty("readRequiresToken").GetBoolean());
        Assert.Empty(anonymous.GetProperty("scopes").EnumerateArray());
        Assert.False(anonymous.GetProperty("features").GetProperty("deploys").GetBoolean());
        Assert.True(anonymous.GetProperty("features").GetProperty("checks").GetBoolean());

        async Task<JsonElement> As(string secret)
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, "/api/whoami");
            req.Headers.Authorization = new("Bearer", secret);
            return await (await http.SendAsync(req)).Content.ReadFromJsonAsync<JsonElement>();
        }
        var viewer = await As(ReadSecret);
        Assert.Equal("viewer", viewer.GetProperty("name").GetString());
        Assert.Equal(["read"], viewer.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        // admin satisfies every scope, so the page shows every action
        Assert.Contains("alerts", (await As(AdminSecret)).GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        Assert.False((await As("unknown-secret-0123456789")).GetProperty("authenticated").GetBoolean());
    }

    [Fact]
    public async Task Status_json_is_public_and_tells_each_component_from_its_checks_without_internal_detail()
    {
        await using var app = await ObserveApp.StartAsync(c =>
        {
            c.Collector.Statsd.Enabled = false;
            c.Auth.ReadRequiresToken = true;
            c.Auth.Tokens.Add(new ApiTokenOptions { Name = "root", Token = AdminSecret, Scopes = ["admin"] });
            c.Checks.Hosts.Add(new HostOptions
            {
                Name = "db-internal-7",
                Checks = new[] { "front", "db", "search" }.Select(n => new CheckOptions { Name = n, Kind = "passive", MaxCheckAttempts = 1 }).ToList(),
            });
            c.Console.Status.Title = "Shop status";
            c.Console.Status.Components.Add(new StatusComponentOptions { Name = "Shop", Description = "Browsing and checkout", Checks = ["db-internal-7/front", "db-internal-7/db"] });
            c.Console.Status.Components.Add(new StatusComponentOptions { Name = "Search", Checks = ["db-internal-7/search"] });
        });
        using var anonymous = new HttpClient { BaseAddress = app.HttpBase };
        using var admin = new HttpClient { BaseAddress = app.HttpBase };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", AdminSecret);
        async Task Result(string check, int status) =>
            Assert.True((await admin.PostAsJsonAsync($"/api/checks/db-internal-7/{check}/result", new { status, output = $"secret output 10.0.0.7 {check}" })).IsSuccessStatusCode);
        async Task<JsonElement> Status() => await anonymous.GetFromJsonAsync<JsonElement>("/status.json");
        string Of(JsonElement s, string name) => s.GetProperty("components").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name).GetProperty("status").GetString()!;

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/status")).StatusCode);
        await Result("front", 0); await Result("db", 1); await Result("search", 2);
        var s = await Status();
        Assert.Equal("Shop status", s.GetProperty("title").GetString());
        Assert.Equal("degraded", Of(s, "Shop"));
        Assert.Equal("outage", Of(s, "Search"));
        Assert.Equal("outage", s.GetProperty("status").GetString());
        var text = s.GetRawText();
        Assert.DoesNotContain("db-internal-7", text);
        Assert.DoesNotContain("secret output", text);
        Assert.DoesNotContain("10.0.0.7", text);

        Assert.True((await admin.PostAsJsonAsync("/api/checks/db-internal-7/search/downtime", new { comment = "reindex", duration = "1h" })).IsSuccessStatusCode);
        s = await Status();
        Assert.Equal("maintenance", Of(s, "Search"));
        Assert.Equal("degraded", s.GetProperty("status").GetString());
        await Result("db", 0);
        Assert.Equal("operational", Of(await Status(), "Shop"));
    }

    [Fact]
    public async Task Recheck_runs_an_active_check_now_and_refuses_a_passive_one()
    {
        await using var app = await ObserveApp.StartAsync(c =>
        {
            c.Collector.Statsd.Enabled = false;
            c.Checks.Hosts.Add(new HostOptions
            {
                Name = "web1",
                // An hour apart: without the re-check its first run could be up to an hour away (start times are spread).
                Checks = [new CheckOptions { Name = "disk", Kind = "command", Command = ["/usr/lib/nagios/plugins/check_dummy", "1", "disk 91%"], CheckInterval = "1h" },
                          new CheckOptions { Name = "backup", Kind = "passive" }],
            });
        });
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        var before = await http.GetFromJsonAsync<JsonElement>("/api/checks/web1/disk");
        var lastBefore = before.TryGetProperty("lastCheck", out var lb) ? lb.GetDateTimeOffset() : (DateTimeOffset?)null;
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync("/api/checks/web1/disk/recheck", null)).StatusCode);
        await Observe.TestSupport.Poll.UntilAsync(async () =>
            (await http.GetFromJsonAsync<JsonElement>("/api/checks/web1/disk")).TryGetProperty("lastCheck", out var l) && l.GetDateTimeOffset() != lastBefore,
            TimeSpan.FromSeconds(10), "the re-check ran");
        Assert.Contains("disk 91%", (await http.GetFromJsonAsync<JsonElement>("/api/checks/web1/disk")).GetProperty("output").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await http.PostAsync("/api/checks/web1/backup/recheck", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("/api/checks/web1/nope/recheck", null)).StatusCode);
    }
}
