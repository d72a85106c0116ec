using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Issue 21 (restart to first /render): SIGTERM writes the store's head checkpoint, so the next start of the real binary
/// replays no head row (its open line says so: they come from the checkpoint) and serves the same points; a SIGKILL after
/// more flushes leaves the checkpoint older than the newest head rows, and the start after it loads the checkpoint, replays
/// only the newer rows and serves every point once.
/// </summary>
public partial class RestartReplayTests(ITestOutputHelper output)
{
    [GeneratedRegex(@"tsdb: opened \d+ series, \d+ head rows \((\d+) replayed: \d+ points replayed; (\d+) from the head checkpoint")]
    private static partial Regex OpenLine();

    /// <summary>The store's open line of this start: (head rows replayed, head rows taken from the checkpoint).</summary>
    private async Task<(int Replayed, int Checkpointed)> OpenedAsync(ObserveProcess observe)
    {
        string? Opened() => observe.Log().Split('\n')[..^1].FirstOrDefault(l => l.Contains("tsdb: opened", StringComparison.Ordinal));
        await Poll.UntilAsync(() => Opened() != null, TimeSpan.FromSeconds(30), "the store's open line");
        output.WriteLine(Opened()!);
        var m = OpenLine().Match(Opened()!);
        Assert.True(m.Success, Opened());
        return (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value));
    }

    [Fact]
    public async Task After_SIGTERM_the_next_start_replays_no_head_row_and_after_SIGKILL_only_the_newer_rows_and_every_point_is_served_once()
    {
        // Hourly compaction and 2 s flushes (fewer than the 24 head rows that start a compaction sooner): every flush of these
        // runs is still a head row at each restart.
        var setup = new ObserveSetup(Repo.TempDir("ckptstop"))
        {
            Config = s => $$"""
                http: {port: {{s.HttpPort}}}
                collector:
                  statsd: {port: {{s.StatsdPort}}, flushInterval: 2000}
                  graphite: {enabled: false}
                storage:
                  dataDir: {{s.Dir}}/data
                  compactionIntervalSeconds: 3600
                  schemas: [{name: all, pattern: ".*", retentions: "1s:1d"}]
                logging: {level: information}
                """,
        };
        long from = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60;
        async Task SendAsync(params string[] lines)
        {
            using var udp = new UdpClient();
            foreach (var line in lines) await udp.SendAsync(Encoding.ASCII.GetBytes(line), "127.0.0.1", setup.StatsdPort);
        }
        Dictionary<long, double> before;
        await using (var first = await ObserveProcess.StartAsync(setup, "observe-1.log"))
        {
            await SendAsync("ckpt.hits:2|c", "ckpt.hits:3|c", "ckpt.gauge:42|g");
            await Poll.UntilAsync(async () => (await first.RenderAsync("stats_counts.ckpt.hits", from)).Values.Sum() == 5
                && (await first.RenderAsync("stats.gauges.ckpt.gauge", from)).Count > 0, TimeSpan.FromSeconds(30), "the points stored");
            before = await first.RenderAsync("stats_counts.ckpt.hits", from);
            Assert.True(await first.Process.TerminateAsync(TimeSpan.FromSeconds(25)), "observe did not exit within 25 s of SIGTERM");
            Assert.Equal(0, first.Process.ExitCode);
            Assert.Contains("tsdb: wrote the head checkpoint at shutdown", first.Log());
        }

        await using (var second = await ObserveProcess.StartAsync(setup, "observe-2.log"))
        {
            var (replayed, checkpointed) = await OpenedAsync(second);
            Assert.Equal(0, replayed);
            Assert.True(checkpointed > 0, "no head row came from the checkpoint");
            // Every point the first run served is served again (flushes after that read add zero counts).
            var after = await second.RenderAsync("stats_counts.ckpt.hits", from);
            Assert.All(before, p => Assert.Equal(p.Value, after.GetValueOrDefault(p.Key, double.NaN)));
            Assert.Equal(5, after.Values.Sum());
            Assert.Equal(42, (await second.RenderAsync("stats.gauges.ckpt.gauge", from)).Values.Last());
            // More flushes after the checkpoint, then a SIGKILL: no new checkpoint.
            await SendAsync("ckpt.hits:7|c");
            await Poll.UntilAsync(async () => (await second.RenderAsync("stats_counts.ckpt.hits", from)).Values.Sum() == 12, TimeSpan.FromSeconds(30), "the new count stored");
            second.Process.Kill9();
        }

        await using var third = await ObserveProcess.StartAsync(setup, "observe-3.log");
        var (replayedAfterKill, fromCheckpoint) = await OpenedAsync(third);
        Assert.True(fromCheckpoint > 0, "the checkpoint written at the first stop was not used after the SIGKILL");
        Assert.True(replayedAfterKill > 0, "the head rows written after the checkpoint were not replayed");
        // Each count once: neither lost nor taken from both the checkpoint and a replayed row.
        Assert.Equal(12, (await third.RenderAsync("stats_counts.ckpt.hits", from)).Values.Sum());
        Assert.Equal(42, (await third.RenderAsync("stats.gauges.ckpt.gauge", from)).Values.First());
    }
}
