using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Issue 21: the real binary times each flush apart (the collector's phases, each sink's queue wait and write, the store's
/// write by phase) and shows the numbers in /stats (and so on /metrics and as observe.* series, from the same lists). ~5 s.
/// </summary>
public class FlushPhasesBinaryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_phases_of_a_flush_and_of_the_stores_write_are_in_stats_and_add_up()
    {
        var dir = Repo.TempDir("flushphases");
        await using var observe = await ObserveProcess.StartAsync(new ObserveSetup(dir) { FlushIntervalMs = 1000 });
        try
        {
            using var udp = new UdpClient();
            JsonElement metrics = default;
            await Poll.UntilAsync(async () =>
            {
                await udp.SendAsync(Encoding.ASCII.GetBytes("phases.hits:1|c\nphases.took:12|ms"), new IPEndPoint(IPAddress.Loopback, observe.Setup.StatsdPort));
                var stats = await observe.StatsAsync();
                metrics = stats.GetProperty("metrics");
                // A flush with the StatsD points delivered, and the store's last write is that kind of flush (it created its series).
                return metrics.TryGetProperty("observe_flush_phase_seconds", out _) && metrics.TryGetProperty("observe_storage_write_phase_seconds", out _)
                    && stats.GetProperty("collector").GetProperty("flush").GetProperty("lastPhases").GetProperty("points").GetInt64() > 10;
            }, TimeSpan.FromSeconds(30), "a flush's phases in /stats");

            var flush = Phases(metrics, "observe_flush_phase_seconds");
            Assert.Equal(["build", "delivered", "publish", "snapshot", "sources"], flush.Keys.Order());
            Assert.InRange(flush["delivered"], 1e-6, 30);
            Assert.All(flush.Where(p => p.Key != "delivered"), p => Assert.InRange(p.Value, 0, flush["delivered"]));
            Assert.True(metrics.GetProperty("observe_flush_full_collections").GetDouble() >= 0);

            var store = Phases(metrics, "observe_storage_write_phase_seconds");
            Assert.Equal(["commit", "create", "encode", "head_append", "head_insert", "lock_wait", "lookup", "register", "series_insert", "total"], store.Keys.Order());
            Assert.InRange(store["total"], 1e-6, 30);
            Assert.All(store.Where(p => p.Key != "total"), p => Assert.InRange(p.Value, 0, store["total"]));
            Assert.True(store["commit"] > 0, "every write commits");

            // Each sink's last queue wait and write (the embedded store is the sink "tsdb").
            var wait = Phases(metrics, "observe_sink_queue_wait_seconds");
            var write = Phases(metrics, "observe_sink_write_seconds");
            Assert.InRange(wait["tsdb"], 0, 30);
            Assert.InRange(write["tsdb"], 0, 30);
        }
        finally
        {
            output.WriteLine(observe.Log());
        }
    }

    private static Dictionary<string, double> Phases(JsonElement metrics, string family) =>
        metrics.GetProperty(family).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
}
