using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>A webhook receiver that records every POST to <c>/{receiver}</c> with the time it arrived.</summary>
internal sealed class WebhookRecorder : IAsyncDisposable
{
    private readonly WebApplication _app;
    public int Port { get; }
    public ConcurrentQueue<(string Receiver, DateTimeOffset At, JsonElement Body)> Received { get; } = new();

    private WebhookRecorder(WebApplication app, int port) { _app = app; Port = port; }

    public static async Task<WebhookRecorder> StartAsync()
    {
        var port = FreePort.Get();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var recorder = new WebhookRecorder(app, port);
        app.MapPost("/{receiver}", async (string receiver, HttpContext ctx) =>
        {
            var body = await JsonSerializer.DeserializeAsync<JsonElement>(ctx.Request.Body);
            recorder.Received.Enqueue((receiver, DateTimeOffset.UtcNow, body));
            return Results.Ok();
        });
        await app.StartAsync();
        return recorder;
    }

    /// <summary>Notifications to <paramref name="receiver"/> of <paramref name="status"/> carrying the alert <paramref name="key"/> with <paramref name="type"/> (null: any).</summary>
    public List<(DateTimeOffset At, JsonElement Body)> Matching(string receiver, string status, string key, string? type) =>
        Received.Where(r => r.Receiver == receiver && r.Body.GetProperty("status").GetString() == status
                && r.Body.GetProperty("alerts").EnumerateArray().Any(a => a.GetProperty("key").GetString() == key
                    && (type == null || a.GetProperty("labels").TryGetProperty("notification_type", out var t) && t.GetString() == type)))
            .Select(r => (r.At, r.Body)).ToList();

    /// <summary>An <c>alerting:</c> section: receivers oncall and boss on the recorder at <paramref name="port"/>, one group per
    /// host and check (wait 1 s, interval 2 s, repeat 1 h), boss paged by escalation after <paramref name="escalateAfter"/>.</summary>
    public static string OncallAndBoss(int port, TimeSpan escalateAfter) => $$"""
        alerting:
          receivers:
            - name: oncall
              webhook: {url: "http://127.0.0.1:{{port}}/oncall"}
            - name: boss
              webhook: {url: "http://127.0.0.1:{{port}}/boss"}
          route:
            receiver: oncall
            groupBy: [host, check]
            groupWait: 1s
            groupInterval: 2s
            repeatInterval: 1h
            escalation:
              - {after: {{escalateAfter.TotalSeconds}}s, receiver: boss}
        """;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// Issue 16: the real observe process in the middle of an incident — web/acked HARD CRITICAL and acknowledged,
/// web/maint CRITICAL in a downtime, web/esc HARD CRITICAL, notified and waiting for its escalation — is killed
/// with SIGKILL, restarted, stopped with SIGTERM and restarted again. After each restart the API answers the same
/// (states, attempts, last changes, ack, downtime, alerts with their start times), the history is whole, nobody is
/// told anything again, and the escalation fires at its original time.
/// </summary>
public class StatePersistenceTests(ITestOutputHelper output)
{
    private static readonly TimeSpan EscalateAfter = TimeSpan.FromSeconds(40);

    [Fact]
    public async Task An_incident_survives_sigkill_and_sigterm()
    {
        await using var hooks = await WebhookRecorder.StartAsync();
        var setup = Setup(Repo.TempDir("state"), hooks.Port);
        using var client = setup.Client();
        var clock = Stopwatch.StartNew();

        var observe = await ObserveProcess.StartAsync(setup, "observe-1.log", UpWithin);
        try
        {
            (await client.PostAsJsonAsync("/api/checks/web/maint/downtime", new { author = "ops", comment = "maintenance", duration = "1h", @fixed = true })).EnsureSuccessStatusCode();
            await Poll.UntilAsync(async () => await Hard(client, "acked") && await Hard(client, "esc"), TimeSpan.FromSeconds(30), "acked and esc HARD CRITICAL");
            (await client.PostAsJsonAsync("/api/checks/web/acked/ack", new { author = "alice", comment = "on it", sticky = true })).EnsureSuccessStatusCode();
            // The incident as the on-call saw it: both problems paged once, the ack announced.
            await Poll.UntilAsync(() => hooks.Matching("oncall", "firing", "check/web/acked", "PROBLEM").Count == 1
                    && hooks.Matching("oncall", "firing", "check/web/esc", "PROBLEM").Count == 1
                    && hooks.Matching("oncall", "announcement", "check/web/acked", "ACKNOWLEDGEMENT").Count == 1,
                TimeSpan.FromSeconds(30), "problems and the ack delivered");
            await Poll.UntilAsync(async () => (await client.GetFromJsonAsync<JsonElement>("/api/alerts")).EnumerateArray()
                .Any(a => a.GetProperty("alert").GetProperty("key").GetString() == "check/web/acked" && a.TryGetProperty("acknowledgement", out _)),
                TimeSpan.FromSeconds(10), "the alert acknowledged");

            foreach (var (how, round) in new[] { ("SIGKILL", 2), ("SIGTERM", 3) })
            {
                await Task.Delay(1500); // let delivery's history lines reach the store (written with the next 250 ms tick)
                var before = await Answers(client);
                var delivered = hooks.Received.Count;
                if (how == "SIGKILL") observe.Process.Kill9();
                else Assert.True(await observe.Process.TerminateAsync(TimeSpan.FromSeconds(30)), "observe did not stop on SIGTERM");
                await observe.DisposeAsync();
                observe = await ObserveProcess.StartAsync(setup, $"observe-{round}.log", UpWithin);
                var after = await Answers(client);
                Assert.Equal(before.Checks, after.Checks);
                Assert.Equal(before.Alerts, after.Alerts);
                Assert.True(after.History.Count >= before.History.Count && after.History.Take(before.History.Count).SequenceEqual(before.History),
                    $"after {how} the alert history lost lines: {before.History.Count} before, {after.History.Count} after");
                Assert.True(after.CheckEvents.Take(before.CheckEvents.Count).SequenceEqual(before.CheckEvents), $"after {how} web/acked's events changed");
                // A few check intervals: nothing anybody was told is told again.
                var until = clock.Elapsed + TimeSpan.FromSeconds(6);
                await Poll.UntilAsync(() => clock.Elapsed >= until, TimeSpan.FromSeconds(10), "checks running after the restart");
                var again = hooks.Received.Skip(delivered).Where(r => r.Receiver == "oncall").ToList();
                Assert.True(again.Count == 0, $"after {how}: {again.Count} new notifications: {string.Join(" | ", again.Select(r => r.Body.ToString()))}");
                Assert.True(await Hard(client, "acked"), "web/acked is no longer HARD CRITICAL");
                output.WriteLine($"{how}: same answers, {after.History.Count} history lines, no new notification");
            }

            // Availability over the last 10 minutes: CRITICAL since the problem, the restarts' gaps (and before the first run) unmonitored, never OK.
            var avail = await client.GetFromJsonAsync<JsonElement>("/api/checks/web/acked/availability?from=-10m");
            double Secs(string p) => avail.GetProperty(p).GetDouble();
            output.WriteLine($"availability: {avail}");
            Assert.True(Secs("criticalSeconds") > 10 && Secs("unmonitoredSeconds") > 540 && Secs("okSeconds") < 5, avail.ToString());
            Assert.Equal(600, new[] { "ok", "warning", "critical", "unknown", "downtime", "unmonitored" }.Sum(s => Secs(s + "Seconds")), 1);
            Assert.Equal(1, avail.GetProperty("problems").GetInt32());
            var maint = await client.GetFromJsonAsync<JsonElement>("/api/checks/web/maint/availability?from=-10m");
            Assert.True(maint.GetProperty("downtimeSeconds").GetDouble() > 10 && maint.GetProperty("criticalSeconds").GetDouble() < 5, maint.ToString());
            var (exit, stdout, stderr) = await ObserveBinary.RunToEndAsync(["checks", "availability", "--from", "-10m", "--config", setup.ConfigPath]);
            var table = stdout + stderr;
            output.WriteLine(table);
            Assert.Equal(0, exit);
            Assert.Contains("UNMONITORED%", table);
            Assert.Contains("acked", table);

            // The escalation of web/esc fires at its alert's original start + after, once.
            var alerts = await client.GetFromJsonAsync<JsonElement>("/api/alerts");
            var startsAt = alerts.EnumerateArray().Single(a => a.GetProperty("alert").GetProperty("key").GetString() == "check/web/esc")
                .GetProperty("alert").GetProperty("startsAt").GetDateTimeOffset();
            await Poll.UntilAsync(() => hooks.Matching("boss", "firing", "check/web/esc", "PROBLEM").Count > 0, EscalateAfter + TimeSpan.FromSeconds(30), "escalation to boss");
            var escalated = hooks.Matching("boss", "firing", "check/web/esc", "PROBLEM");
            var late = escalated[0].At - (startsAt + EscalateAfter);
            output.WriteLine($"escalation at start + {EscalateAfter.TotalSeconds} s + {late.TotalSeconds:0.00} s");
            Assert.InRange(late.TotalSeconds, -0.5, 3);
            Assert.Single(escalated);
            Assert.DoesNotContain(hooks.Received, r => r.Receiver == "boss" && r.Body.GetProperty("alerts").EnumerateArray().Any(a => a.GetProperty("key").GetString() != "check/web/esc"));
            Assert.Single(hooks.Matching("oncall", "firing", "check/web/acked", "PROBLEM"));
        }
        finally
        {
            await observe.DisposeAsync();
        }
    }

    /// <summary>A check state file that is not a database and an alert state file cut in half: Observe starts, moves both
    /// aside, logs what was lost and counts them on /metrics; the checks run from PENDING and state is stored again.</summary>
    [Fact]
    public async Task Unreadable_state_files_are_moved_aside_logged_and_counted()
    {
        await using var hooks = await WebhookRecorder.StartAsync();
        var dir = Repo.TempDir("state-corrupt");
        var setup = Setup(dir, hooks.Port);
        using var client = setup.Client();
        var observe = await ObserveProcess.StartAsync(setup, "observe-1.log", UpWithin);
        try
        {
            await Poll.UntilAsync(async () => await Hard(client, "acked"), TimeSpan.FromSeconds(30), "acked HARD CRITICAL");
            Assert.True(await observe.Process.TerminateAsync(TimeSpan.FromSeconds(30)));
            await observe.DisposeAsync();

            var checksDb = Path.Combine(dir, "data", "checks", "state.db");
            var alertsDb = Path.Combine(dir, "data", "alerting", "state.db");
            await File.WriteAllTextAsync(checksDb, "this is not a database, it is a text file that someone copied over it");
            var bytes = await File.ReadAllBytesAsync(alertsDb);
            await File.WriteAllBytesAsync(alertsDb, bytes[..(bytes.Length / 2)]);
            foreach (var f in new[] { checksDb, alertsDb }) { File.Delete(f + "-wal"); File.Delete(f + "-shm"); }

            observe = await ObserveProcess.StartAsync(setup, "observe-2.log", UpWithin);
            var metrics = await client.GetStringAsync("/metrics");
            Assert.Contains("\nobserve_store_quarantined_total 2\n", metrics); // the one counter of every store file moved aside
            var log = observe.Log();
            Assert.Contains("checks/state.db is damaged", log);
            Assert.Contains("alerting/state.db is damaged", log);
            Assert.Contains("lost: every check's state", log);
            Assert.Single(Directory.GetFiles(Path.Combine(dir, "data", "checks"), "state.db.corrupt-*"));
            Assert.Single(Directory.GetFiles(Path.Combine(dir, "data", "alerting"), "state.db.corrupt-*"));
            // Starts over (PENDING until checked), then checks and stores state again.
            await Poll.UntilAsync(async () => await Hard(client, "acked"), TimeSpan.FromSeconds(30), "acked HARD CRITICAL again");
        }
        finally
        {
            await observe.DisposeAsync();
        }
    }

    private static readonly TimeSpan UpWithin = TimeSpan.FromSeconds(60);

    private static async Task<bool> Hard(HttpClient client, string check)
    {
        var s = await client.GetFromJsonAsync<JsonElement>($"/api/checks/web/{check}");
        return s.GetProperty("state").GetString() == "critical" && s.GetProperty("stateType").GetString() == "hard";
    }

    private sealed record Snapshot(List<string> Checks, List<string> Alerts, List<string> History, List<string> CheckEvents);

    /// <summary>What the API says about the incident, without the fields that move with every check run.</summary>
    private static async Task<Snapshot> Answers(HttpClient client)
    {
        var checks = (await client.GetFromJsonAsync<JsonElement>("/api/checks")).EnumerateArray().Select(c => string.Join(";",
            new[] { "host", "check", "state", "stateType", "attempt", "lastStateChange", "lastHardStateChange", "acknowledgement", "downtimes", "inDowntime", "notificationNumber", "lastNotification" }
                .Select(p => c.TryGetProperty(p, out var v) ? v.ToString() : "-"))).ToList();
        var alerts = (await client.GetFromJsonAsync<JsonElement>("/api/alerts")).EnumerateArray().Select(a =>
            $"{a.GetProperty("alert").GetProperty("key")};{a.GetProperty("alert").GetProperty("status")};{a.GetProperty("alert").GetProperty("startsAt")};" +
            $"{(a.TryGetProperty("acknowledgement", out var ack) ? ack.ToString() : "-")};{a.GetProperty("receivers")}").ToList();
        var history = (await client.GetFromJsonAsync<JsonElement>("/api/alerts/history?limit=10000")).EnumerateArray().Select(h => h.ToString()).ToList();
        var events = (await client.GetFromJsonAsync<JsonElement>("/api/checks/web/acked/events")).EnumerateArray().Select(h => h.ToString()).ToList();
        return new Snapshot(checks, alerts, history, events);
    }

    private static ObserveSetup Setup(string dir, int hooks) => new(dir) { Config = s => Config(s, hooks) };

    private static string Config(ObserveSetup s, int hooks) => $$"""
        http: {port: {{s.HttpPort}}}
        collector:
          statsd: {port: {{s.StatsdPort}}}
          graphite: {enabled: false}
        storage: {dataDir: {{s.Dir}}/data}
        logging: {level: information}
        {{WebhookRecorder.OncallAndBoss(hooks, EscalateAfter)}}
        checks:
          defaults: {checkInterval: 2s, retryInterval: 1s, maxCheckAttempts: 2, notificationInterval: "0", timeout: 5s}
          hosts:
            - name: web
              checks:
                - {name: acked, kind: command, command: [/usr/lib/nagios/plugins/check_dummy, "2", "database down"]}
                - {name: maint, kind: command, command: [/usr/lib/nagios/plugins/check_dummy, "2", "disk full"]}
                - {name: esc, kind: command, command: [/usr/lib/nagios/plugins/check_dummy, "2", "payments failing"]}
        """;
}
