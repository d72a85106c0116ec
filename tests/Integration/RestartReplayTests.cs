using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Issue 21 (restart to first /render): SIGTERM seals the store's head into chunks, so the next start of the real binary
/// replays no head row (its open line says so) and serves the same points.
/// </summary>
public partial class RestartReplayTests(ITestOutputHelper output)
{
    [GeneratedRegex(@"tsdb: opened \d+ series, (\d+) head rows")]
    private static partial Regex OpenLine();

    [Fact]
    public async Task After_SIGTERM_the_next_start_replays_no_head_row_and_serves_the_same_points()
    {
        // Hourly compaction: without the seal at SIGTERM every flush of this run would still be a head row at the restart.
        var setup = new ObserveSetup(Repo.TempDir("sealstop"))
        {
            Config = s => $$"""
                http: {port: {{s.HttpPort}}}
                collector:
                  statsd: {port: {{s.StatsdPort}}, flushInterval: 1000}
                  graphite: {enabled: false}
                storage:
                  dataDir: {{s.Dir}}/data
                  compactionIntervalSeconds: 3600
                  schemas: [{name: all, pattern: ".*", retentions: "1s:1d"}]
                logging: {level: information}
                """,
        };
        long from = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60;
        Dictionary<long, double> before;
        await using (var first = await ObserveProcess.StartAsync(setup, "observe-1.log"))
        {
            using (var udp = new UdpClient())
                foreach (var line in new[] { "seal.hits:2|c", "seal.hits:3|c", "seal.gauge:42|g" })
                    await udp.SendAsync(Encoding.ASCII.GetBytes(line), "127.0.0.1", setup.StatsdPort);
            await Poll.UntilAsync(async () => (await first.RenderAsync("stats_counts.seal.hits", from)).Values.Sum() == 5
                && (await first.RenderAsync("stats.gauges.seal.gauge", from)).Count > 0, TimeSpan.FromSeconds(30), "the points stored");
            before = await first.RenderAsync("stats_counts.seal.hits", from);
            Assert.True(await first.Process.TerminateAsync(TimeSpan.FromSeconds(25)), "observe did not exit within 25 s of SIGTERM");
            Assert.Equal(0, first.Process.ExitCode);
            Assert.Contains("tsdb: sealed the head at shutdown", first.Log());
        }

        await using var again = await ObserveProcess.StartAsync(setup, "observe-2.log");
        string? Opened() => again.Log().Split('\n')[..^1].FirstOrDefault(l => OpenLine().IsMatch(l));
        await Poll.UntilAsync(() => Opened() != null, TimeSpan.FromSeconds(30), "the store's open line");
        output.WriteLine(Opened()!);
        Assert.Equal("0", OpenLine().Match(Opened()!).Groups[1].Value);
        // Every point the first run served is served again (flushes after that read add zero counts).
        var after = await again.RenderAsync("stats_counts.seal.hits", from);
        Assert.All(before, p => Assert.Equal(p.Value, after.GetValueOrDefault(p.Key, double.NaN)));
        Assert.Equal(5, after.Values.Sum());
        Assert.Equal(42, (await again.RenderAsync("stats.gauges.seal.gauge", from)).Values.Last());
    }
}
