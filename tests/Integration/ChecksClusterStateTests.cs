using System.Net.Http.Json;
using System.Text.Json;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Issue 16, cluster: two real observe nodes share check state in a throwaway PostgreSQL 15. A HARD CRITICAL check is
/// acknowledged on the node running it (A); B's API shows the ack; A is SIGKILLed, B takes the check over and runs it
/// with its state (HARD, attempt, last change) and the ack kept, sending no new PROBLEM. Then ten more failovers (kill
/// whichever node runs it, restart it; eleven in all): the on-call's webhook gets the PROBLEM once in all, and the
/// RECOVERY (sent by the node the PROBLEM's alert followed the check to, through the group that told the PROBLEM) once.
/// About 2.5–3 minutes.
/// </summary>
public class ChecksClusterStateTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Ack_and_state_survive_eleven_failovers_and_problem_and_recovery_are_paged_once()
    {
        Assert.True(PostgresServer.IsInstalled, "postgresql-15 is not installed (tests/peers/install.sh)");
        await using var pg = await PostgresServer.StartAsync();
        await using var hooks = await WebhookRecorder.StartAsync();
        var dir = Repo.TempDir("cluster-state");
        var code = Path.Combine(dir, "code");
        await File.WriteAllTextAsync(code, "2");
        var nodes = ClusterNode.Pair(dir, (name, setup) => Config(name, setup, hooks.Port, pg.ConnectionString, code));
        try
        {
            await ClusterNode.StartAllAsync(nodes);
            // Who runs web/db: the check's output names the node (each node's command says so).
            string? runner = null;
            await Poll.UntilAsync(async () => (runner = await RunnerAsync(nodes["a"])) != null && await HardAsync(nodes[runner]), TimeSpan.FromSeconds(40), "web/db HARD CRITICAL");
            await Poll.UntilAsync(() => Problems(hooks) == 1, TimeSpan.FromSeconds(20), "the PROBLEM paged");
            var a = nodes[runner!];
            var b = nodes[runner == "a" ? "b" : "a"];
            (await a.Client.PostAsJsonAsync("/api/checks/web/db/ack", new { author = "alice", comment = "on it", sticky = true })).EnsureSuccessStatusCode();
            var before = await StateAsync(a);
            // The same answer on the other node within its sync interval.
            await Poll.UntilAsync(async () => await StateAsync(b) == before, TimeSpan.FromSeconds(10), $"node {b.Name} to show the ack: {before}");

            var failovers = 0;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            // Eleven: the check ends on the node that did not send the PROBLEM; the alert (and its notification log) followed it.
            for (var round = 0; round < 11; round++)
            {
                a.Kill();
                failovers++;
                await Poll.UntilAsync(async () => await RunnerAsync(b) == b.Name, TimeSpan.FromSeconds(30), $"failover {failovers}: {b.Name} running web/db");
                // A few runs on the survivor: still HARD CRITICAL, same last change and attempt, still acknowledged.
                var ran = await LastCheckAsync(b);
                await Poll.UntilAsync(async () => await LastCheckAsync(b) > ran + TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(20), "two more runs");
                Assert.Equal(before, await StateAsync(b));
                Assert.True(Problems(hooks) == 1, $"failover {failovers}: {Problems(hooks)} PROBLEM notifications");
                await a.StartAsync();
                await a.UpAsync();
                (a, b) = (b, a);
            }
            // The database comes back: the node running the check now, which took the alert over from the node that paged the
            // PROBLEM, sends the RECOVERY once.
            await File.WriteAllTextAsync(code, "0");
            await Poll.UntilAsync(() => hooks.Matching("oncall", "resolved", "check/web/db", null).Count == 1, TimeSpan.FromSeconds(30), "the RECOVERY paged");
            var settled = await LastCheckAsync(b);
            await Poll.UntilAsync(async () => await LastCheckAsync(b) > settled + TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(20), "more runs");
            Assert.Single(hooks.Matching("oncall", "resolved", "check/web/db", null));
            Assert.Equal(1, Problems(hooks));
            output.WriteLine($"{failovers} failovers in {clock.Elapsed.TotalSeconds:0} s; PROBLEM delivered {Problems(hooks)} time(s); state {before}");
        }
        finally
        {
            foreach (var n in nodes.Values) await n.DisposeAsync();
        }
    }

    private static int Problems(WebhookRecorder hooks) => hooks.Matching("oncall", "firing", "check/web/db", "PROBLEM").Count;

    private static async Task<JsonElement> GetAsync(ClusterNode n) => await n.Client.GetFromJsonAsync<JsonElement>("/api/checks/web/db");

    private static async Task<string?> RunnerAsync(ClusterNode n)
    {
        var s = await GetAsync(n);
        var o = s.GetProperty("output").GetString() ?? "";
        return o.EndsWith("on a", StringComparison.Ordinal) ? "a" : o.EndsWith("on b", StringComparison.Ordinal) ? "b" : null;
    }

    private static async Task<bool> HardAsync(ClusterNode n)
    {
        var s = await GetAsync(n);
        return s.GetProperty("state").GetString() == "critical" && s.GetProperty("stateType").GetString() == "hard";
    }

    private static async Task<DateTimeOffset> LastCheckAsync(ClusterNode n) => (await GetAsync(n)).GetProperty("lastCheck").GetDateTimeOffset();

    private static async Task<string> StateAsync(ClusterNode n)
    {
        var s = await GetAsync(n);
        return string.Join(";", new[] { "state", "stateType", "attempt", "lastStateChange", "lastHardStateChange", "acknowledgement", "notificationNumber", "lastNotification" }
            .Select(p => s.TryGetProperty(p, out var v) ? v.ToString() : "-"));
    }

    private static string Config(string node, ObserveSetup setup, int hooks, string connectionString, string code) => ClusterNode.Config(node, setup, connectionString,
        $$"""
        alerting:
          receivers:
            - name: oncall
              webhook: {url: "http://127.0.0.1:{{hooks}}/oncall"}
          route: {receiver: oncall, groupBy: [host, check], groupWait: 1s, groupInterval: 2s, repeatInterval: 1h}
        """,
        $$"""
          defaults: {checkInterval: 2s, retryInterval: 1s, maxCheckAttempts: 2, notificationInterval: 3s, timeout: 5s}
          hosts:
            - name: web
              checks:
                - {name: db, kind: command, command: [/bin/sh, "-c", "c=$(cat {{code}}); echo \"database exit $c on {{node}}\"; exit $c"]}
        """);
}
