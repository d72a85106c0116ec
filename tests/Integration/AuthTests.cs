using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Observe.Checks;
using Observe.Host.Config;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>Bearer tokens on the HTTP API: every write endpoint needs the right scope once tokens are configured.</summary>
public class AuthTests
{
    private const string IngestSecret = "ingest-secret-0123456789";
    private const string AlertsSecret = "alerts-secret-0123456789";
    private const string AdminSecret = "admin-secret-01234567890";

    private static Task<ObserveApp> StartWithTokens(bool readRequiresToken = false) => ObserveApp.StartAsync(c =>
    {
        c.Collector.Statsd.Enabled = false;
        c.Auth.ReadRequiresToken = readRequiresToken;
        c.Auth.Tokens.Add(new ApiTokenOptions { Name = "ci-ingest", Token = IngestSecret, Scopes = ["ingest"] });
        c.Auth.Tokens.Add(new ApiTokenOptions { Name = "alice", Token = AlertsSecret, Scopes = ["alerts"] });
        c.Auth.Tokens.Add(new ApiTokenOptions { Name = "root", Token = AdminSecret, Scopes = ["admin"] });
        c.Checks.Hosts.Add(new HostOptions
        {
            Name = "web1",
            Checks = [new CheckOptions { Name = "backup", Kind = "passive", MaxCheckAttempts = 1 }],
        });
    });

    /// <summary>A write endpoint, the scope it needs, and the body that makes it succeed.</summary>
    public sealed record WriteEndpoint(string Method, string Path, string Scope, string? Json, string? Form = null)
    {
        public override string ToString() => $"{Method} {Path}";
    }

    // Order matters for the checks endpoints: the result makes the check CRITICAL so that an ack is possible.
    private static readonly WriteEndpoint[] Writes =
    [
        new("POST", "/events/", "ingest", """{"what":"deploy","tags":"deploy web","data":"v1"}"""),
        new("POST", "/api/checks/web1/backup/result", "ingest", """{"status":2,"output":"backup failed"}"""),
        new("POST", "/api/checks/web1/backup/ack", "alerts", """{"comment":"looking"}"""),
        new("DELETE", "/api/checks/web1/backup/ack", "alerts", null),
        new("POST", "/api/checks/web1/backup/downtime", "alerts", """{"duration":"1h","fixed":true,"comment":"maintenance"}"""),
        new("POST", "/api/logs", "ingest", """{"message":"checkout failed","service":"shop"}"""),
    ];

    private static HttpRequestMessage Request(WriteEndpoint w, string? secret)
    {
        var req = new HttpRequestMessage(new HttpMethod(w.Method), w.Path);
        if (w.Json != null) req.Content = new StringContent(w.Json, Encoding.UTF8, "application/json");
        if (secret != null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return req;
    }

    private static string WrongScope(string scope) => scope == "ingest" ? AlertsSecret : IngestSecret;
    private static string RightScope(string scope) => scope == "ingest" ? IngestSecret : AlertsSecret;

    [Fact]
    public async Task Every_write_endpoint_answers_401_without_a_token_403_with_a_wrong_scope_and_succeeds_with_the_right_one()
    {
        await using var app = await StartWithTokens();
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        foreach (var w in Writes)
        {
            using (var res = await http.SendAsync(Request(w, null)))
            {
                Assert.True(res.StatusCode == HttpStatusCode.Unauthorized, $"{w} without a token: {res.StatusCode}");
                var body = await res.Content.ReadFromJsonAsync<JsonElement>();
                Assert.Contains("Bearer", body.GetProperty("error").GetString());
                Assert.Equal(w.Scope, body.GetProperty("scope").GetString());
            }
            using (var res = await http.SendAsync(Request(w, "not-a-known-token-at-all")))
                Assert.True(res.StatusCode == HttpStatusCode.Unauthorized, $"{w} with an unknown token: {res.StatusCode}");
            using (var res = await http.SendAsync(Request(w, WrongScope(w.Scope))))
            {
                Assert.True(res.StatusCode == HttpStatusCode.Forbidden, $"{w} with a wrong-scope token: {res.StatusCode}");
                var body = await res.Content.ReadFromJsonAsync<JsonElement>();
                Assert.Contains($"lacks the '{w.Scope}' scope", body.GetProperty("error").GetString());
            }
            using (var res = await http.SendAsync(Request(w, RightScope(w.Scope))))
                Assert.True(res.IsSuccessStatusCode, $"{w} with the right token: {res.StatusCode} {await res.Content.ReadAsStringAsync()}");
        }

        // The token's name is who did it, whatever the body claims.
        var states = (ICheckStates)app.App.Services.GetService(typeof(ICheckStates))!;
        var status = states.Get("web1", "backup")!;
        Assert.Equal("alice", Assert.Single(status.Downtimes).Author);
        using (var ack = await http.SendAsync(Request(Writes[2] with { Json = """{"author":"mallory","comment":"me"}""" }, AlertsSecret)))
            Assert.True(ack.IsSuccessStatusCode, await ack.Content.ReadAsStringAsync());
        Assert.Equal("alice", states.Get("web1", "backup")!.Acknowledgement!.Author);

        // An admin token passes every scope.
        using (var res = await http.SendAsync(Request(Writes[0], AdminSecret)))
            Assert.True(res.IsSuccessStatusCode, $"admin token: {res.StatusCode}");
    }

    [Fact]
    public async Task Reads_are_open_by_default_and_need_any_valid_token_when_configured_while_health_stays_open()
    {
        await using (var open = await StartWithTokens())
        {
            using var http = new HttpClient { BaseAddress = open.HttpBase };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/render?target=a.b&format=json")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/checks")).StatusCode);
        }
        await using var locked = await StartWithTokens(readRequiresToken: true);
        using var client = new HttpClient { BaseAddress = locked.HttpBase };
        foreach (var path in new[] { "/render?target=a.b&format=json", "/metrics/find?query=*", "/api/checks", "/stats", "/metrics", "/events/get_data" })
        {
            Assert.True((await client.GetAsync(path)).StatusCode == HttpStatusCode.Unauthorized, $"{path} without a token");
            using var req = new HttpRequestMessage(HttpMethod.Get, path);
            req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", IngestSecret);
            Assert.True((await client.SendAsync(req)).StatusCode == HttpStatusCode.OK, $"{path} with a token");
        }
        Assert.Equal("ok\n", await client.GetStringAsync("/health"));
    }

    [Fact]
    public async Task Without_tokens_every_endpoint_stays_open_as_before()
    {
        await using var app = await ObserveApp.StartAsync(c => c.Collector.Statsd.Enabled = false);
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        using var res = await http.SendAsync(Request(Writes[0], null));
        Assert.True(res.IsSuccessStatusCode, $"{res.StatusCode}");
    }
}
