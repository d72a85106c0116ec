using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Issue 16, cluster: one node owns a check's notifications at a time, acks and escalations included, and the alert
/// pipeline's state (notification log, escalation progress) lives in PostgreSQL where a survivor continues it. Two real
/// nodes on a throwaway PostgreSQL 15; the webhook receiver counts what each receiver was told. About 45 s each.
/// </summary>
public class ChecksClusterAlertsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan EscalateAfter = TimeSpan.FromSeconds(25);

    [Fact]
    public async Task An_ack_on_the_other_node_is_announced_once_and_a_pending_escalation_fires_once_on_the_survivor()
    {
        await using var cluster = await Cluster.StartAsync(output);
        var (nodes, hooks) = (cluster.Nodes, cluster.Hooks);
        await Poll.UntilAsync(async () => await cluster.HardAsync("db") && await cluster.HardAsync("esc"), TimeSpan.FromSeconds(40), "both checks HARD CRITICAL");
        await Poll.UntilAsync(() => Problems(hooks, "db") == 1 && Problems(hooks, "esc") == 1, TimeSpan.FromSeconds(20), "both PROBLEMs paged");
        var dbRunner = nodes[(await cluster.RunnerAsync("db"))!];
        var other = cluster.Other(dbRunner);

        // The ack goes to the node that does not run the check; the runner sees it within ~100 ms (LISTEN/NOTIFY).
        (await other.Client.PostAsJsonAsync("/api/checks/web/db/ack", new { author = "alice", comment = "on it", sticky = true })).EnsureSuccessStatusCode();
        var seen = Stopwatch.StartNew();
        await Poll.UntilAsync(async () => (await Cluster.CheckAsync(dbRunner, "db")).GetProperty("acknowledgement").ValueKind == JsonValueKind.Object,
            TimeSpan.FromSeconds(5), "the runner to see the ack", TimeSpan.FromMilliseconds(5));
        var ackLatency = seen.Elapsed;
        // Announced once: by the owner, not also by the node that took it. Both nodes have run web/db again since.
        await Poll.UntilAsync(() => Acks(hooks) >= 1, TimeSpan.FromSeconds(10), "the ACK announced");
        var ran = (await Cluster.CheckAsync(dbRunner, "db")).GetProperty("lastCheck").GetDateTimeOffset();
        await Poll.UntilAsync(async () => (await Cluster.CheckAsync(other, "db")).GetProperty("lastCheck").GetDateTimeOffset() > ran + TimeSpan.FromSeconds(2),
            TimeSpan.FromSeconds(20), "two more runs of web/db");
        Assert.Equal(1, Acks(hooks));

        // Kill the node whose pipeline paged web/esc while its escalation is pending: the survivor fires it once, at its time.
        var escRunner = nodes[(await cluster.RunnerAsync("esc"))!];
        var survivor = cluster.Other(escRunner);
        var startsAt = hooks.Matching("oncall", "firing", "check/web/esc", "PROBLEM")[0].Body.GetProperty("alerts")[0].GetProperty("startsAt").GetDateTimeOffset();
        Assert.True(DateTimeOffset.UtcNow < startsAt + EscalateAfter - TimeSpan.FromSeconds(8), "the kill must come well before the escalation");
        escRunner.Kill();
        await Poll.UntilAsync(() => hooks.Matching("boss", "firing", "check/web/esc", null).Count > 0, EscalateAfter + TimeSpan.FromSeconds(20),
            $"the escalation on {survivor.Name}");
        var escalated = hooks.Matching("boss", "firing", "check/web/esc", null);
        var late = escalated[0].At - (startsAt + EscalateAfter);
        await Poll.UntilAsync(async () => (await Cluster.CheckAsync(survivor, "esc")).GetProperty("output").GetString()!.EndsWith("on " + survivor.Name, StringComparison.Ordinal)
            && DateTimeOffset.UtcNow > escalated[0].At + TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(30), "web/esc failed over and a few more seconds");
        output.WriteLine($"ack seen by the runner after {ackLatency.TotalMilliseconds:0} ms; escalation at start + {EscalateAfter.TotalSeconds} s {late.TotalSeconds:+0.00;-0.00} s");
        Assert.Single(hooks.Matching("boss", "firing", "check/web/esc", null));
        Assert.InRange(late, TimeSpan.FromMilliseconds(-300), TimeSpan.FromSeconds(3));
        Assert.Empty(hooks.Matching("boss", "firing", "check/web/db", null)); // acknowledged: no escalation
        Assert.Equal(1, Problems(hooks, "db"));
        Assert.Equal(1, Problems(hooks, "esc"));
        Assert.Equal(1, Acks(hooks));
        Assert.True(ackLatency < TimeSpan.FromMilliseconds(500), $"the runner saw the ack after {ackLatency.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task Downtimes_taken_at_once_on_two_nodes_get_cluster_wide_ids_and_cancel_from_either_node()
    {
        await using var cluster = await Cluster.StartAsync(output);
        var (a, b) = (cluster.Nodes["a"], cluster.Nodes["b"]);
        var start = DateTimeOffset.UtcNow.AddHours(1);
        async Task<int> Downtime(ClusterNode n)
        {
            var r = await n.Client.PostAsJsonAsync("/api/checks/web/db/downtime", new { author = n.Name, comment = "maintenance", start, end = start.AddHours(1), @fixed = true });
            r.EnsureSuccessStatusCode();
            return (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt32();
        }
        var ids = await Task.WhenAll(Downtime(a), Downtime(b));
        Assert.NotEqual(ids[0], ids[1]);
        // Both nodes list both downtimes under the same ids.
        // Listed in id order, whichever node's insert took the sequence first.
        var expected = string.Join(",", new[] { (Id: ids[0], Node: "a"), (Id: ids[1], Node: "b") }.OrderBy(d => d.Id).Select(d => $"{d.Id}={d.Node}"));
        var seen = Stopwatch.StartNew();
        await Poll.UntilAsync(async () => await DowntimesAsync(a) == expected && await DowntimesAsync(b) == expected, TimeSpan.FromSeconds(5),
            $"both nodes to list {expected}", TimeSpan.FromMilliseconds(5));
        var listed = seen.Elapsed;
        // observe checks cancel-downtime with b's id, on a: gone on both, a's own stays.
        var cancel = await ObserveBinary.RunToEndAsync(["checks", "cancel-downtime", "--url", a.Client.BaseAddress!.ToString(), "web/db", ids[1].ToString()]);
        Assert.True(cancel.Exit == 0, cancel.Stdout + cancel.Stderr);
        seen.Restart();
        await Poll.UntilAsync(async () => await DowntimesAsync(a) == $"{ids[0]}=a" && await DowntimesAsync(b) == $"{ids[0]}=a", TimeSpan.FromSeconds(5),
            "the downtime cancelled on both nodes", TimeSpan.FromMilliseconds(5));
        output.WriteLine($"ids {ids[0]}, {ids[1]}; both listed after {listed.TotalMilliseconds:0} ms; cancel seen on both after {seen.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task A_silence_set_on_one_node_holds_on_the_node_that_owns_the_alert_and_its_expiry_reaches_every_node()
    {
        await using var cluster = await Cluster.StartAsync(output);
        // web/gated is OK until the test makes it fail; its first run names the node that owns its alert. The silence goes to the other node.
        string? runner = null;
        await Poll.UntilAsync(async () => (runner = await cluster.RunnerAsync("gated")) != null, TimeSpan.FromSeconds(30), "web/gated run once");
        var owner = cluster.Nodes[runner!];
        var other = cluster.Other(owner);
        var posted = await other.Client.PostAsJsonAsync("/api/silences", new { matchers = new[] { "check=gated" }, duration = "1h", comment = "db migration", author = "alice" });
        posted.EnsureSuccessStatusCode();
        var id = (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var seen = Stopwatch.StartNew();
        await Poll.UntilAsync(async () => await SilencesAsync(owner) == await SilencesAsync(other), TimeSpan.FromSeconds(5), "both nodes to list the silence",
            TimeSpan.FromMilliseconds(5));
        var listed = seen.Elapsed;
        Assert.Contains($"{id}:active", await SilencesAsync(owner));

        // web/gated fails: it goes HARD on its owner and is flushed several times, and nobody is paged for it (web/esc, not silenced, is).
        await File.WriteAllTextAsync(cluster.GateFile, "");
        await Poll.UntilAsync(async () => Problems(cluster.Hooks, "esc") == 1 && await cluster.HardAsync("gated"), TimeSpan.FromSeconds(30), "web/esc paged, web/gated HARD");
        Assert.Equal(runner, await cluster.RunnerAsync("gated"));
        var hard = (await Cluster.CheckAsync(owner, "gated")).GetProperty("lastCheck").GetDateTimeOffset();
        await Poll.UntilAsync(async () => (await Cluster.CheckAsync(owner, "gated")).GetProperty("lastCheck").GetDateTimeOffset() > hard + TimeSpan.FromSeconds(4),
            TimeSpan.FromSeconds(20), "web/gated ran on for group wait and two group intervals");
        Assert.Equal(0, Problems(cluster.Hooks, "gated"));
        var silenced = (await owner.Client.GetFromJsonAsync<JsonElement>("/api/alerts")).EnumerateArray().Single(a => a.GetProperty("alert").GetProperty("labels").GetProperty("check").GetString() == "gated");
        Assert.Equal(id, silenced.GetProperty("silencedBy").GetString());

        // Expired on the owner: expired on the other node too, and the owner pages at its next flush.
        (await owner.Client.DeleteAsync($"/api/silences/{id}?author=bob")).EnsureSuccessStatusCode();
        seen.Restart();
        await Poll.UntilAsync(async () => (await SilencesAsync(other)).Contains($"{id}:expired"), TimeSpan.FromSeconds(5), "the expiry seen by the other node",
            TimeSpan.FromMilliseconds(5));
        var expired = seen.Elapsed;
        Assert.Equal(await SilencesAsync(owner), await SilencesAsync(other));
        await Poll.UntilAsync(() => Problems(cluster.Hooks, "gated") == 1, TimeSpan.FromSeconds(10), "web/gated paged once the silence ended");
        output.WriteLine($"silence listed on both after {listed.TotalMilliseconds:0} ms; expiry seen after {expired.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task An_ack_posted_while_the_runner_is_dead_is_announced_once_by_the_node_that_takes_the_check_over()
    {
        await using var cluster = await Cluster.StartAsync(output);
        var hooks = cluster.Hooks;
        var (runner, survivor) = await cluster.KillDbRunnerAsync();
        // Posted before the failover (~3 s): the survivor keeps it but is not the runner yet, so it does not announce it then.
        (await survivor.Client.PostAsJsonAsync("/api/checks/web/db/ack", new { author = "alice", comment = "on it", sticky = true })).EnsureSuccessStatusCode();
        Assert.EndsWith("on " + runner.Name, (await Cluster.CheckAsync(survivor, "db")).GetProperty("output").GetString());
        var taken = Stopwatch.StartNew();
        await Poll.UntilAsync(() => Acks(hooks) >= 1, TimeSpan.FromSeconds(20), $"the ACK announced by {survivor.Name} once it runs web/db");
        output.WriteLine($"ACK announced {taken.Elapsed.TotalSeconds:0.0} s after it was posted");
        // Once: the survivor runs the check on, and nobody is paged again for the acknowledged problem.
        await Cluster.RunsOnAsync(survivor);
        Assert.Equal(1, Acks(hooks));
        Assert.Equal(1, Problems(hooks, "db"));
    }

    [Fact]
    public async Task A_downtime_posted_while_the_runner_is_dead_is_announced_once_by_the_node_that_takes_the_check_over_and_a_cancelled_one_not()
    {
        await using var cluster = await Cluster.StartAsync(output);
        var hooks = cluster.Hooks;
        var (runner, survivor) = await cluster.KillDbRunnerAsync();
        // Posted before the failover (~3 s) on the survivor, which is not the runner yet: one downtime kept, one cancelled at once.
        async Task<int> Downtime(string comment)
        {
            var r = await survivor.Client.PostAsJsonAsync("/api/checks/web/db/downtime", new { author = "ops", comment, duration = "1h", @fixed = true });
            r.EnsureSuccessStatusCode();
            return (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt32();
        }
        var kept = await Downtime("maintenance");
        var cancelled = await Downtime("mistake");
        (await survivor.Client.DeleteAsync($"/api/checks/web/db/downtime/{cancelled}")).EnsureSuccessStatusCode();
        Assert.EndsWith("on " + runner.Name, (await Cluster.CheckAsync(survivor, "db")).GetProperty("output").GetString());
        var taken = Stopwatch.StartNew();
        await Poll.UntilAsync(() => DowntimeStarts(hooks).Count >= 1, TimeSpan.FromSeconds(20), $"the DOWNTIMESTART announced by {survivor.Name} once it runs web/db");
        output.WriteLine($"DOWNTIMESTART announced {taken.Elapsed.TotalSeconds:0.0} s after it was posted");
        await Cluster.RunsOnAsync(survivor);
        // Once, for the downtime that holds; the cancelled one was never announced as started, nor as cancelled.
        var summary = Assert.Single(DowntimeStarts(hooks)).Body.GetProperty("alerts")[0].GetProperty("summary").GetString()!;
        Assert.Contains($"downtime {kept} by ops started: maintenance", summary);
        Assert.Empty(hooks.Matching("oncall", "announcement", "check/web/db", "DOWNTIMECANCELLED"));
        Assert.Equal(1, Problems(hooks, "db"));
    }

    private static List<(DateTimeOffset At, JsonElement Body)> DowntimeStarts(WebhookRecorder hooks) =>
        hooks.Matching("oncall", "announcement", "check/web/db", "DOWNTIMESTART");

    /// <summary>A node's silences as "id:state:endsAt", in id order (equal on every node of a cluster).</summary>
    private static async Task<string> SilencesAsync(ClusterNode n) =>
        string.Join(",", (await n.Client.GetFromJsonAsync<JsonElement>("/api/silences")).EnumerateArray()
            .Select(s => $"{s.GetProperty("id").GetString()}:{s.GetProperty("state").GetString()}:{s.GetProperty("endsAt").GetDateTimeOffset().ToUnixTimeMilliseconds()}").Order(StringComparer.Ordinal));

    [Fact]
    public async Task State_store_failures_and_refused_availability_requests_are_counted_on_metrics()
    {
        await using var cluster = await Cluster.StartAsync(output);
        var a = cluster.Nodes["a"];
        Assert.Equal((0, 0), (await MetricAsync(a, "observe_checks_state_store_failures_total"), await MetricAsync(a, "observe_checks_availability_refused_total")));
        // A window over the bound is refused and counted.
        var refused = await a.Client.GetAsync("/api/checks/web/db/availability?from=-4000d");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(1, await MetricAsync(a, "observe_checks_availability_refused_total"));
        // PostgreSQL goes away: every batch the node cannot write (a heartbeat each second at least) is counted.
        await cluster.Postgres.DisposeAsync();
        await Poll.UntilAsync(async () => await MetricAsync(a, "observe_checks_state_store_failures_total") >= 2, TimeSpan.FromSeconds(20), "state store failures counted");
    }

    private static async Task<double> MetricAsync(ClusterNode n, string name)
    {
        var text = await n.Client.GetStringAsync("/metrics");
        var line = text.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return double.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<string> DowntimesAsync(ClusterNode n) =>
        string.Join(",", (await Cluster.CheckAsync(n, "db")).GetProperty("downtimes").EnumerateArray()
            .Select(d => (Id: d.GetProperty("id").GetInt32(), Author: d.GetProperty("author").GetString())).OrderBy(d => d.Id).Select(d => $"{d.Id}={d.Author}"));

    private static int Problems(WebhookRecorder hooks, string check) => hooks.Matching("oncall", "firing", $"check/web/{check}", "PROBLEM").Count;

    private static int Acks(WebhookRecorder hooks) => hooks.Matching("oncall", "announcement", "check/web/db", "ACKNOWLEDGEMENT").Count;

    /// <summary>Two nodes (a, b) sharing web/db and web/esc, both CRITICAL; the webhook receivers oncall and boss (escalation).</summary>
    private sealed class Cluster : IAsyncDisposable
    {
        public required PostgresServer Postgres { get; init; }
        public required WebhookRecorder Hooks { get; init; }
        /// <summary>web/gated is CRITICAL while this file exists (OK before: a test decides when it fails).</summary>
        public required string GateFile { get; init; }
        public Dictionary<string, ClusterNode> Nodes { get; } = [];

        public static async Task<Cluster> StartAsync(ITestOutputHelper output)
        {
            Assert.True(PostgresServer.IsInstalled, "postgresql-15 is not installed (tests/peers/install.sh)");
            var dir = Repo.TempDir("cluster-alerts");
            var cluster = new Cluster { Postgres = await PostgresServer.StartAsync(), Hooks = await WebhookRecorder.StartAsync(), GateFile = Path.Combine(dir, "gated-fails") };
            try
            {
                foreach (var (name, n) in ClusterNode.Pair(dir, (node, setup) => Config(node, setup, cluster.Hooks.Port, cluster.Postgres.ConnectionString, cluster.GateFile)))
                    cluster.Nodes[name] = n;
                await ClusterNode.StartAllAsync(cluster.Nodes);
                output.WriteLine($"cluster up in {dir}");
                return cluster;
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }

        /// <summary>Once web/db is HARD CRITICAL and paged, SIGKILLs the node running it.</summary>
        public async Task<(ClusterNode Runner, ClusterNode Survivor)> KillDbRunnerAsync()
        {
            await Poll.UntilAsync(async () => await HardAsync("db") && Problems(Hooks, "db") == 1, TimeSpan.FromSeconds(40), "web/db HARD CRITICAL and paged");
            var runner = Nodes[(await RunnerAsync("db"))!];
            runner.Kill();
            return (runner, Other(runner));
        }

        /// <summary>Waits until <paramref name="survivor"/> has taken web/db over and run it for a few more seconds.</summary>
        public static async Task RunsOnAsync(ClusterNode survivor)
        {
            var ran = (await CheckAsync(survivor, "db")).GetProperty("lastCheck").GetDateTimeOffset();
            await Poll.UntilAsync(async () => (await CheckAsync(survivor, "db")).GetProperty("lastCheck").GetDateTimeOffset() > ran + TimeSpan.FromSeconds(3),
                TimeSpan.FromSeconds(20), "two more runs of web/db on the survivor");
            Assert.EndsWith("on " + survivor.Name, (await CheckAsync(survivor, "db")).GetProperty("output").GetString());
        }

        public ClusterNode Other(ClusterNode n) => Nodes[n.Name == "a" ? "b" : "a"];

        public static async Task<JsonElement> CheckAsync(ClusterNode n, string check) => await n.Client.GetFromJsonAsync<JsonElement>($"/api/checks/web/{check}");

        /// <summary>Which node ran the check last (its output names the node), as seen from node a.</summary>
        public async Task<string?> RunnerAsync(string check)
        {
            var o = (await CheckAsync(Nodes["a"], check)).GetProperty("output").GetString() ?? "";
            return o.EndsWith("on a", StringComparison.Ordinal) ? "a" : o.EndsWith("on b", StringComparison.Ordinal) ? "b" : null;
        }

        public async Task<bool> HardAsync(string check)
        {
            if (await RunnerAsync(check) is not { } runner) return false;
            var s = await CheckAsync(Nodes[runner], check);
            return s.GetProperty("state").GetString() == "critical" && s.GetProperty("stateType").GetString() == "hard";
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var n in Nodes.Values) await n.DisposeAsync();
            await Hooks.DisposeAsync();
            await Postgres.DisposeAsync();
        }
    }

    private static string Config(string node, ObserveSetup setup, int hooks, string connectionString, string gateFile) => ClusterNode.Config(node, setup, connectionString,
        WebhookRecorder.OncallAndBoss(hooks, EscalateAfter),
        $$"""
          defaults: {checkInterval: 2s, retryInterval: 1s, maxCheckAttempts: 2, notificationInterval: 1h, timeout: 5s}
          hosts:
            - name: web
              checks:
                - {name: db, kind: command, command: [/bin/sh, "-c", "echo \"database down on {{node}}\"; exit 2"]}
                - {name: esc, kind: command, command: [/bin/sh, "-c", "echo \"queue stuck on {{node}}\"; exit 2"]}
                - {name: gated, kind: command, command: [/bin/sh, "-c", "echo \"gated on {{node}}\"; test -e {{gateFile}} && exit 2; exit 0"]}
        """);
}
