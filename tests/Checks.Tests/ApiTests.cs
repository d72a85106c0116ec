using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Observe.Alerting;
using Observe.TestSupport;

namespace Observe.Checks.Tests;

public class ApiTests
{
    [Fact]
    public async Task Checks_api_lists_states_and_takes_acks_and_downtimes()
    {
        var port = FreePort.Get();
        var options = new ChecksOptions
        {
            Defaults = new CheckDefaults { CheckInterval = "1s", RetryInterval = "1s", MaxCheckAttempts = 1, Timeout = "2s" },
            Hosts =
            [
                new HostOptions
                {
                    Name = "lb1",
                    Checks =
                    [
                        new CheckOptions { Name = "down", Kind = "command", Command = ["/usr/lib/nagios/plugins/check_dummy", "2", "pool empty"] },
                        new CheckOptions { Name = "up", Kind = "command", Command = ["/usr/lib/nagios/plugins/check_dummy", "0", "fine"] },
                        new CheckOptions { Name = "passive", Kind = "passive", FreshnessThreshold = "1h" },
                    ],
                },
            ],
        };
        var alerts = new RecordingAlertSink();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IAlertSink>(alerts);
        builder.Services.AddObserveChecks(options);
        // The host supplies the scope policies (bearer tokens); here every scope is open, as with no tokens configured.
        builder.Services.AddAuthorization(o => { foreach (var scope in new[] { "ingest", "alerts" }) o.AddPolicy(scope, p => p.RequireAssertion(_ => true)); });
        await using var app = builder.Build();
        app.UseAuthorization();
        app.MapChecksApi();
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await Poll.UntilAsync(async () =>
            {
                var all = await http.GetFromJsonAsync<JsonElement>("/api/checks");
                return all.EnumerateArray().Where(c => c.GetProperty("kind").GetString() != "passive").All(c => c.TryGetProperty("lastCheck", out _));
            }, TimeSpan.FromSeconds(20), "both checks to have run");

            var list = await http.GetFromJsonAsync<JsonElement>("/api/checks");
            var down = list.EnumerateArray().Single(c => c.GetProperty("check").GetString() == "down");
            Assert.Equal("critical", down.GetProperty("state").GetString());
            Assert.Equal("hard", down.GetProperty("stateType").GetString());
            Assert.Equal("CRITICAL: pool empty", down.GetProperty("output").GetString());
            Assert.Equal(1, down.GetProperty("attempt").GetInt32());
            Assert.False(down.GetProperty("isFlapping").GetBoolean());
            Assert.True(down.TryGetProperty("nextCheck", out _));
            var problems = await http.GetFromJsonAsync<JsonElement>("/api/checks?problems=true");
            Assert.Equal("down", Assert.Single(problems.EnumerateArray()).GetProperty("check").GetString());

            // ack: refused on OK, accepted on a problem; CR/LF stripped
            var r = await http.PostAsJsonAsync("/api/checks/lb1/up/ack", new { author = "alice", comment = "x" });
            Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsJsonAsync("/api/checks/lb1/down/ack", new { comment = "no author" })).StatusCode);
            r = await http.PostAsJsonAsync("/api/checks/lb1/down/ack", new { author = "alice\r\nBcc: evil", comment = "on it", sticky = true });
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var acked = await http.GetFromJsonAsync<JsonElement>("/api/checks/lb1/down");
            Assert.Equal("aliceBcc: evil", acked.GetProperty("acknowledgement").GetProperty("author").GetString());
            Assert.True(acked.GetProperty("acknowledgement").GetProperty("sticky").GetBoolean());
            Assert.Contains(alerts.Events, a => a.Key == "check/lb1/down" && a.Labels["notification_type"] == "ACKNOWLEDGEMENT");

            // downtime: fixed, starting now → in effect, DOWNTIMESTART sent; cancel → DOWNTIMECANCELLED
            r = await http.PostAsJsonAsync("/api/checks/lb1/down/downtime", new { author = "ops", comment = "maintenance", duration = "1h" });
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
            var id = (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt32();
            var inDowntime = await http.GetFromJsonAsync<JsonElement>("/api/checks/lb1/down");
            Assert.True(inDowntime.GetProperty("inDowntime").GetBoolean());
            Assert.Equal("maintenance", inDowntime.GetProperty("downtimes")[0].GetProperty("comment").GetString());
            Assert.Contains(alerts.Events, a => a.Labels["notification_type"] == "DOWNTIMESTART");
            Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsJsonAsync("/api/checks/lb1/down/downtime", new { author = "ops" })).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"/api/checks/lb1/down/downtime/{id}")).StatusCode);
            Assert.Contains(alerts.Events, a => a.Labels["notification_type"] == "DOWNTIMECANCELLED");
            Assert.False((await http.GetFromJsonAsync<JsonElement>("/api/checks/lb1/down")).GetProperty("inDowntime").GetBoolean());

            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/checks/lb1/nope")).StatusCode);
            var events = await http.GetFromJsonAsync<JsonElement>("/api/checks/lb1/down/events");
            Assert.Contains(events.EnumerateArray(), e => e.GetProperty("kind").GetString() == "notification");

            // the CLI table reads the same API
            var sw = new StringWriter();
            var code = await ChecksCli.PrintAsync(new Uri($"http://127.0.0.1:{port}/"), problemsOnly: true, sw, default);
            Assert.Equal(2, code);
            var lines = sw.ToString().TrimEnd().Split('\n');
            Assert.StartsWith("HOST", lines[0]);
            Assert.Matches(@"^lb1\s+down\s+CRITICAL\s+ACK\s+\d+s ago\s+CRITICAL: pool empty$", lines[1]);
            Assert.Equal(2, lines.Length);
            Assert.Equal(3, await ChecksCli.PrintAsync(new Uri($"http://127.0.0.1:{ClosedPort.Get()}/"), false, new StringWriter(), default));

            var states = app.Services.GetRequiredService<ICheckStates>();
            Assert.Equal(3, states.Current().Count);

            // passive result
            Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsJsonAsync("/api/checks/lb1/passive/result", new { status = 7 })).StatusCode);
            r = await http.PostAsJsonAsync("/api/checks/lb1/passive/result", new { status = 1, output = "QUEUE WARNING - 120 jobs | jobs=120;100;500" });
            Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
            var passive = await http.GetFromJsonAsync<JsonElement>("/api/checks/lb1/passive");
            Assert.Equal(("warning", "hard", "QUEUE WARNING - 120 jobs"), (passive.GetProperty("state").GetString(), passive.GetProperty("stateType").GetString(), passive.GetProperty("output").GetString()));
        }
        finally { await app.StopAsync(); }
    }
}
