using System.Net.Http.Json;
using System.Text.Json;
using Observe.Alerting;
using Observe.Checks;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>Issue 14, defect 5: one acknowledgement from any entry point acknowledges both the check and its alert.</summary>
[Collection("alerting peers")] // the CLIs read OBSERVE_TOKEN from the process environment
public class OneAckTests
{
    private static async Task<(ObserveApp App, HttpClient Http)> Start()
    {
        var app = await ObserveApp.StartAsync(c =>
        {
            c.Collector.Statsd.Enabled = false;
            c.Checks.Defaults = new CheckDefaults { CheckInterval = "1h", MaxCheckAttempts = 1 };
            c.Checks.Hosts = [new HostOptions { Name = "web1", Checks = [new CheckOptions { Name = "http", Kind = "passive" }, new CheckOptions { Name = "disk", Kind = "passive" }] }];
        });
        Environment.SetEnvironmentVariable("OBSERVE_TOKEN", null);
        var http = new HttpClient { BaseAddress = app.HttpBase };
        foreach (var check in new[] { "http", "disk" })
            (await http.PostAsJsonAsync($"/api/checks/web1/{check}/result", new { status = 2, output = $"{check} CRITICAL" })).EnsureSuccessStatusCode();
        await Poll.UntilAsync(async () => (await http.GetFromJsonAsync<JsonElement>("/api/alerts")).GetArrayLength() == 2, TimeSpan.FromSeconds(10), "both alerts firing");
        return (app, http);
    }

    private static async Task<JsonElement> Alert(HttpClient http, string key) =>
        (await http.GetFromJsonAsync<JsonElement>("/api/alerts")).EnumerateArray().Single(a => a.GetProperty("alert").GetProperty("key").GetString() == key);

    private static async Task<JsonElement> Check(HttpClient http, string check) => await http.GetFromJsonAsync<JsonElement>($"/api/checks/web1/{check}");

    [Fact]
    public async Task Observe_ack_of_a_checks_alert_acknowledges_the_check_too()
    {
        var (app, http) = await Start();
        await using var appScope = app;
        using var httpScope = http;
        var output = new StringWriter();
        Assert.Equal(0, await AlertingCli.AckAsync(app.HttpBase, "check/web1/http", "on it", "alice", output, default));
        await Poll.UntilAsync(async () => (await Check(http, "http")).TryGetProperty("acknowledgement", out _), TimeSpan.FromSeconds(10), "the check acknowledged by the alert's ack");
        Assert.Equal("alice", (await Check(http, "http")).GetProperty("acknowledgement").GetProperty("author").GetString());
        Assert.True((await Alert(http, "check/web1/http")).TryGetProperty("acknowledgement", out _));
        Assert.False((await Check(http, "disk")).TryGetProperty("acknowledgement", out _)); // only that one
    }

    [Fact]
    public async Task Observe_checks_ack_acknowledges_the_alert_and_downtime_is_scheduled_and_cancelled_from_the_cli()
    {
        var (app, http) = await Start();
        await using var appScope = app;
        using var httpScope = http;
        async Task<JsonElement> Alert(string key) => await OneAckTests.Alert(http, key);
        async Task<JsonElement> Check(string check) => await OneAckTests.Check(http, check);
        var output = new StringWriter();
        // observe checks ack (the check's CLI) → the alert is acknowledged too
        Assert.Equal(0, await ChecksCli.AckAsync(app.HttpBase, "web1/disk", "swapping it", sticky: false, "bob", output, default));
        await Poll.UntilAsync(async () => (await Alert("check/web1/disk")).TryGetProperty("acknowledgement", out _), TimeSpan.FromSeconds(10), "the alert acknowledged by the check's ack");
        output = new StringWriter();
        Assert.Equal(2, await ChecksCli.PrintAsync(app.HttpBase, problemsOnly: true, output, default));
        Assert.Matches(@"web1\s+disk\s+CRITICAL\s+ACK", output.ToString());
        Assert.Equal(0, await ChecksCli.RemoveAckAsync(app.HttpBase, "web1/disk", output, default));
        Assert.False((await Check("disk")).TryGetProperty("acknowledgement", out _));

        output = new StringWriter();
        Assert.Equal(0, await ChecksCli.DowntimeAsync(app.HttpBase, "web1/disk", "1h", flexible: false, "disk swap", "bob", output, default));
        Assert.True((await Check("disk")).GetProperty("inDowntime").GetBoolean());
        var id = (await Check("disk")).GetProperty("downtimes")[0].GetProperty("id").GetInt32();
        Assert.Contains($"id {id}", output.ToString());
        Assert.Equal(0, await ChecksCli.CancelDowntimeAsync(app.HttpBase, "web1/disk", id, output, default));
        Assert.False((await Check("disk")).GetProperty("inDowntime").GetBoolean());
        Assert.Equal(2, await ChecksCli.CancelDowntimeAsync(app.HttpBase, "nohost", id, output, default));
    }
}
