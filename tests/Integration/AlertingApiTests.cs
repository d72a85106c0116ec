using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Observe.Alerting;
using Observe.Host.Config;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>Acks and silences through the whole host: the <c>alerts</c> scope, who is recorded, and the CLI.</summary>
[Collection("alerting peers")] // the CLI reads OBSERVE_TOKEN from the process environment
public class AlertingApiTests
{
    private const string AlertsSecret = "alerts-secret-0123456789";
    private const string IngestSecret = "ingest-secret-0123456789";

    private static Task<ObserveApp> Start() => ObserveApp.StartAsync(c =>
    {
        c.Collector.Statsd.Enabled = false;
        c.Auth.Tokens.Add(new ApiTokenOptions { Name = "alice", Token = AlertsSecret, Scopes = ["alerts"] });
        c.Auth.Tokens.Add(new ApiTokenOptions { Name = "ci", Token = IngestSecret, Scopes = ["ingest"] });
    });

    private static HttpRequestMessage Post(string path, object body, string? secret)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (secret != null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return req;
    }

    [Fact]
    public async Task Silences_and_acks_need_the_alerts_scope_and_record_the_token_name()
    {
        await using var app = await Start();
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        var sink = app.App.Services.GetRequiredService<IAlertSink>();
        await sink.SendAsync(new AlertEvent("checks", "check/web1/http", AlertStatus.Firing, "critical", "PROBLEM web1/http", null,
            new Dictionary<string, string> { ["host"] = "web1", ["check"] = "http" }, DateTimeOffset.UtcNow), default);

        var silence = new { matchers = new[] { "host=web1" }, duration = "2h", comment = "disk swap", author = "mallory" };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(Post("/api/silences", silence, null))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(Post("/api/silences", silence, IngestSecret))).StatusCode);
        using var created = await http.SendAsync(Post("/api/silences", silence, AlertsSecret));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var s = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("alice", s.GetProperty("createdBy").GetString());
        Assert.Equal("active", s.GetProperty("state").GetString());
        using var bad = await http.SendAsync(Post("/api/silences", new { matchers = new[] { "host=~(" }, duration = "1h", comment = "x" }, AlertsSecret));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("bad regex", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());

        var alerts = await http.GetFromJsonAsync<JsonElement>("/api/alerts");
        Assert.Equal(s.GetProperty("id").GetString(), alerts[0].GetProperty("silencedBy").GetString());

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(Post("/api/alerts/ack", new { key = "check/web1/http", comment = "x" }, null))).StatusCode);
        using var ack = await http.SendAsync(Post("/api/alerts/ack", new { key = "check/web1/http", comment = "on it", author = "mallory" }, AlertsSecret));
        Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
        Assert.Equal("alice", (await ack.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("acknowledgement").GetProperty("author").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(Post("/api/alerts/ack", new { key = "check/none/x" }, AlertsSecret))).StatusCode);

        var history = await http.GetFromJsonAsync<JsonElement>("/api/alerts/history");
        Assert.Contains(history.EnumerateArray(), e => e.GetProperty("event").GetString() == "acknowledged" && e.GetProperty("who").GetString() == "alice");
        Assert.Contains(history.EnumerateArray(), e => e.GetProperty("event").GetString() == "silence_added" && e.GetProperty("who").GetString() == "alice");
    }

    [Fact]
    public async Task The_cli_adds_lists_and_expires_silences_and_acknowledges_with_the_token_from_the_environment()
    {
        await using var app = await Start();
        var sink = app.App.Services.GetRequiredService<IAlertSink>();
        await sink.SendAsync(new AlertEvent("checks", "check/web1/disk", AlertStatus.Firing, "warning", "PROBLEM web1/disk", null,
            new Dictionary<string, string> { ["host"] = "web1", ["check"] = "disk" }, DateTimeOffset.UtcNow), default);
        var output = new StringWriter();
        Environment.SetEnvironmentVariable("OBSERVE_TOKEN", null);
        Assert.Equal(1, await AlertingCli.SilenceAddAsync(app.HttpBase, ["host=web1"], "2h", "replacing disk", "tester", output, default));
        Assert.Contains("refused (401)", output.ToString());
        Environment.SetEnvironmentVariable("OBSERVE_TOKEN", AlertsSecret);
        try
        {
            output = new StringWriter();
            Assert.Equal(0, await AlertingCli.SilenceAddAsync(app.HttpBase, ["host=web1", "check=~d.*"], "2h", "replacing disk", "tester", output, default));
            var id = output.ToString().Split(' ')[1];
            output = new StringWriter();
            Assert.Equal(0, await AlertingCli.SilenceListAsync(app.HttpBase, output, default));
            Assert.Contains(id, output.ToString());
            Assert.Contains("active", output.ToString());
            Assert.Contains("alice", output.ToString());
            Assert.Equal(0, await AlertingCli.SilenceExpireAsync(app.HttpBase, id, "tester", output, default));
            Assert.Equal(1, await AlertingCli.SilenceExpireAsync(app.HttpBase, id, "tester", output, default));
            output = new StringWriter();
            Assert.Equal(0, await AlertingCli.AckAsync(app.HttpBase, "check/web1/disk", "looking", "tester", output, default));
            Assert.Equal(0, await AlertingCli.AlertsAsync(app.HttpBase, output, default));
            Assert.Matches(@"check/web1/disk\s+firing\s+ACK", output.ToString());
        }
        finally { Environment.SetEnvironmentVariable("OBSERVE_TOKEN", null); }
        Assert.Equal(3, await AlertingCli.AlertsAsync(new Uri($"http://127.0.0.1:{FreePort.Get()}/"), new StringWriter(), default));
    }
}
