using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Two real observe processes share 50 HTTP checks through Quartz's clustered AdoJobStore on a throwaway PostgreSQL 15.
/// Each check hits its own path on a counting endpoint, with a header naming the node that ran it. Over two minutes
/// every check runs once per interval (±1) and never twice within an interval (Quartz double-firing would show here);
/// each check stays on one node while both live (so one state machine sees all its results); after one node is
/// SIGKILLed, every check runs on the survivor within interval + check-in time.
/// </summary>
public class ChecksClusterTests(ITestOutputHelper output)
{
    private const int Checks = 50;
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Checkin = ClusterNode.Checkin, CheckinMisfire = ClusterNode.CheckinMisfire;

    private sealed record Hit(TimeSpan At, string Node);

    [Fact]
    public async Task Two_nodes_run_each_check_once_per_interval_and_the_survivor_takes_over()
    {
        Assert.True(PostgresServer.IsInstalled, "postgresql-15 is not installed (tests/peers/install.sh)");
        await using var pg = await PostgresServer.StartAsync();
        var clock = Stopwatch.StartNew();
        var hits = new ConcurrentDictionary<string, ConcurrentQueue<Hit>>();
        var targetPort = FreePort.Get();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{targetPort}");
        builder.Logging.ClearProviders();
        await using var target = builder.Build();
        target.MapGet("/{check}", (string check, HttpRequest req) =>
        {
            hits.GetOrAdd(check, _ => new()).Enqueue(new Hit(clock.Elapsed, req.Headers["X-Node"].ToString()));
            return Results.Text("ok");
        });
        await target.StartAsync();

        var dir = Repo.TempDir("cluster");
        var nodes = ClusterNode.Pair(dir, (node, setup) => Config(node, setup, targetPort, pg.ConnectionString));
        try
        {
            await ClusterNode.StartAllAsync(nodes);

            // Every check has had its first (spread) run by one interval after both nodes are up; count from then.
            var from = clock.Elapsed + Interval + TimeSpan.FromSeconds(2);
            var window = TimeSpan.FromMinutes(2);
            await Poll.UntilAsync(() => clock.Elapsed >= from + window, window + Interval + TimeSpan.FromSeconds(10), "two minutes of checks");
            var expected = window / Interval;
            var perNode = new Dictionary<string, int>();
            var counts = new List<int>();
            for (var i = 0; i < Checks; i++)
            {
                var runs = Runs($"c{i:00}", from, from + window);
                counts.Add(runs.Count);
                Assert.True(Math.Abs(runs.Count - expected) <= 1, $"c{i:00} ran {runs.Count} times in {window.TotalSeconds} s, expected {expected} ± 1: {Describe(runs)}");
                // Exactly once per interval: two runs of one check closer than half an interval are a double fire.
                for (var j = 1; j < runs.Count; j++)
                    Assert.True(runs[j].At - runs[j - 1].At > Interval / 2, $"c{i:00} ran twice within {(runs[j].At - runs[j - 1].At).TotalSeconds:0.00} s: {Describe(runs)}");
                // Pinned: one node sees every result of a check, so its soft/hard state machine is whole.
                Assert.True(runs.Select(r => r.Node).Distinct().Count() == 1, $"c{i:00} moved between live nodes: {Describe(runs)}");
                foreach (var r in runs) perNode[r.Node] = perNode.GetValueOrDefault(r.Node) + 1;
            }
            output.WriteLine($"runs per check in {window.TotalSeconds} s: min {counts.Min()}, max {counts.Max()} (expected {expected}); per node: {string.Join(", ", perNode.Select(kv => $"{kv.Key}={kv.Value}"))}");
            Assert.True(perNode.GetValueOrDefault("a") > 0 && perNode.GetValueOrDefault("b") > 0, "both nodes should share the checks");

            // Kill node a; every check must run on b within interval + check-in time (+ the misfire threshold and slack for a busy machine).
            nodes["a"].Kill();
            var killedAt = clock.Elapsed;
            var takeover = Interval + Checkin + CheckinMisfire + TimeSpan.FromSeconds(3);
            await Poll.UntilAsync(() => Enumerable.Range(0, Checks).All(i => Runs($"c{i:00}", killedAt, TimeSpan.MaxValue).Any(r => r.Node == "b")),
                takeover + TimeSpan.FromSeconds(20), "every check running on b");
            var latest = Enumerable.Range(0, Checks).Max(i => Runs($"c{i:00}", killedAt, TimeSpan.MaxValue).First(r => r.Node == "b").At - killedAt);
            output.WriteLine($"after killing a: every check ran on b within {latest.TotalSeconds:0.0} s (limit {takeover.TotalSeconds:0.0} s)");
            Assert.True(latest <= takeover, $"the last check moved to b after {latest.TotalSeconds:0.0} s, limit {takeover.TotalSeconds:0.0} s");
            Assert.DoesNotContain(Enumerable.Range(0, Checks).SelectMany(i => Runs($"c{i:00}", killedAt + TimeSpan.FromSeconds(1), TimeSpan.MaxValue)), r => r.Node == "a");
        }
        finally
        {
            foreach (var n in nodes.Values) await n.DisposeAsync();
            await target.StopAsync();
        }

        List<Hit> Runs(string check, TimeSpan from, TimeSpan until) =>
            hits.TryGetValue(check, out var q) ? q.Where(h => h.At >= from && h.At < until).OrderBy(h => h.At).ToList() : [];
        static string Describe(List<Hit> runs) => string.Join(" ", runs.Select(r => $"{r.At.TotalSeconds:0.0}{r.Node}"));
    }

    private static string Config(string node, ObserveSetup setup, int target, string connectionString)
    {
        var sb = new StringBuilder($$"""
              defaults: {checkInterval: {{Interval.TotalSeconds}}s, retryInterval: {{Interval.TotalSeconds}}s, timeout: 5s}
              hosts:
                - name: web
                  checks:

            """);
        for (var i = 0; i < Checks; i++)
            sb.Append($"          - {{name: c{i:00}, kind: http, url: \"http://127.0.0.1:{target}/c{i:00}\", headers: {{X-Node: {node}}}}}\n");
        return ClusterNode.Config(node, setup, connectionString, alerting: "", checks: sb.ToString());
    }
}
