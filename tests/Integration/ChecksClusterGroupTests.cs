using System.Net.Http.Json;
using System.Text.Json;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Issue 16, cluster: an alert group coarser than host+check (<c>groupBy: [host]</c>) whose alerts come from checks on two
/// nodes is one group of the cluster: one node owns it and flushes it whole from the shared alert rows. Two real nodes on
/// a throwaway PostgreSQL 15; web/x's results go to node a and web/y's to node b (passive checks: a result is processed by
/// the node that receives it), so the two alerts are held by different nodes. About 30 s.
/// </summary>
public class ChecksClusterGroupTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_group_with_alerts_of_two_nodes_is_notified_once_with_both_and_a_failover_of_its_owner_does_not_resend_it()
    {
        Assert.True(PostgresServer.IsInstalled, "postgresql-15 is not installed (tests/peers/install.sh)");
        await using var pg = await PostgresServer.StartAsync();
        await using var hooks = await WebhookRecorder.StartAsync();
        var dir = Repo.TempDir("cluster-group");
        var nodes = ClusterNode.Pair(dir, (name, setup) => Config(name, setup, hooks.Port, pg.ConnectionString));
        try
        {
            await ClusterNode.StartAllAsync(nodes);
            var clock = System.Diagnostics.Stopwatch.StartNew();

            // Both fail at once, each on its own node: one notification of the group, listing both.
            await Task.WhenAll(Result(nodes["a"], "x", 2), Result(nodes["b"], "y", 2));
            await Poll.UntilAsync(() => Group(hooks).Count >= 1, TimeSpan.FromSeconds(20), "the group notified");
            var first = Group(hooks)[0];
            // Several group intervals later still one: neither node sent its own.
            var settle = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(5);
            await Poll.UntilAsync(() => DateTimeOffset.UtcNow > settle || Group(hooks).Count > 1, TimeSpan.FromSeconds(10), "group intervals to pass");
            Assert.Equal(["check/web/x:firing", "check/web/y:firing"], Alerts(first.Body));
            Assert.Single(Group(hooks));

            // Kill the group's owner (the node whose history says it notified): the survivor takes the group with its log.
            var owner = await NotifiedAsync(nodes["a"]) ? nodes["a"] : nodes["b"];
            Assert.True(await NotifiedAsync(owner) && !await NotifiedAsync(nodes[owner.Name == "a" ? "b" : "a"]), "one node notified");
            var survivor = nodes[owner.Name == "a" ? "b" : "a"];
            output.WriteLine($"group owned by {owner.Name}; killed at {clock.Elapsed.TotalSeconds:0.0} s");
            owner.Kill();
            // Adopted after checkinInterval + misfire (3 s); then several group intervals: nothing re-sent.
            settle = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(9);
            await Poll.UntilAsync(() => DateTimeOffset.UtcNow > settle || Group(hooks).Count > 1, TimeSpan.FromSeconds(15), "the survivor to adopt the group");
            Assert.Single(Group(hooks));
            Assert.Equal(2, (await survivor.Client.GetFromJsonAsync<JsonElement>("/api/alerts")).GetArrayLength());

            // The next change (the survivor's own check recovers) is notified once, by the survivor, with the other alert firing on.
            var mine = survivor.Name == "a" ? "x" : "y";
            await Result(survivor, mine, 0);
            await Poll.UntilAsync(() => Group(hooks).Count >= 2, TimeSpan.FromSeconds(10), "the recovery notified");
            settle = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(5);
            await Poll.UntilAsync(() => DateTimeOffset.UtcNow > settle || Group(hooks).Count > 2, TimeSpan.FromSeconds(10), "group intervals to pass");
            var notes = Group(hooks);
            Assert.Equal(2, notes.Count);
            var other = mine == "x" ? "y" : "x";
            Assert.Equal(new[] { $"check/web/{other}:firing", $"check/web/{mine}:resolved" }.Order(StringComparer.Ordinal), Alerts(notes[1].Body));
            output.WriteLine($"done after {clock.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            foreach (var n in nodes.Values) await n.DisposeAsync();
        }
    }

    private static async Task Result(ClusterNode n, string check, int status) =>
        (await n.Client.PostAsJsonAsync($"/api/checks/web/{check}/result", new { status, output = $"{check} {status} on {n.Name}" })).EnsureSuccessStatusCode();

    /// <summary>Notifications of the group host=web to the on-call (firing or resolved, not announcements).</summary>
    private static List<(DateTimeOffset At, JsonElement Body)> Group(WebhookRecorder hooks) =>
        hooks.Received.Where(r => r.Receiver == "oncall" && r.Body.GetProperty("status").GetString() is "firing" or "resolved")
            .Select(r => (r.At, r.Body)).ToList();

    private static string[] Alerts(JsonElement body) =>
        body.GetProperty("alerts").EnumerateArray().Select(a => $"{a.GetProperty("key").GetString()}:{a.GetProperty("status").GetString()}")
            .Order(StringComparer.Ordinal).ToArray();

    /// <summary>Whether this node's pipeline sent a notification (its history since start is its own).</summary>
    private static async Task<bool> NotifiedAsync(ClusterNode n) =>
        (await n.Client.GetFromJsonAsync<JsonElement>("/api/alerts/history?event=notify")).EnumerateArray()
            .Any(h => h.GetProperty("receiver").GetString() == "oncall");

    private static string Config(string node, ObserveSetup setup, int hooks, string connectionString) => ClusterNode.Config(node, setup, connectionString,
        $$"""
        alerting:
          receivers:
            - name: oncall
              webhook: {url: "http://127.0.0.1:{{hooks}}/oncall"}
          route:
            receiver: oncall
            groupBy: [host]
            groupWait: 2s
            groupInterval: 1s
            repeatInterval: 1h
        """,
        """
          defaults: {maxCheckAttempts: 1, notificationInterval: 1h}
          hosts:
            - name: web
              checks:
                - {name: x, kind: passive, freshnessThreshold: 1h}
                - {name: y, kind: passive, freshnessThreshold: 1h}
        """);
}
