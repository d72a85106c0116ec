using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// The real `observe` process is killed with SIGKILL during sustained StatsD ingest, five times. After
/// each restart every flush the store had acknowledged before the kill reads back through /render with
/// the value it had, and nothing unreadable is served.
/// </summary>
public class ObserveCrashTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Sigkill_during_ingest_loses_no_acknowledged_flush()
    {
        // 1 s flushes into a 1 s archive: every flush has its own slot, so each one can be checked.
        var setup = new ObserveSetup(Repo.TempDir("crash")) { FlushIntervalMs = 1000, Retentions = "1s:1d" };
        var statsd = setup.StatsdPort;
        var acknowledged = new Dictionary<long, double>();
        var rng = new Random(7);
        var start = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5;

        for (var round = 1; round <= 6; round++)
        {
            var observe = await ObserveProcess.StartAsync(setup, $"observe-{round}.log");
            var client = observe.Client;
            try
            {

                // Everything acknowledged before earlier kills must read back unchanged.
                var now = await RenderJson.PointsAsync(client, "stats_counts.crash.hits", start);
                foreach (var (ts, value) in acknowledged)
                {
                    Assert.True(now.TryGetValue(ts, out var v) && v == value,
                        $"round {round}: flush {ts} was acknowledged as {value}, now reads {(now.TryGetValue(ts, out var x) ? x.ToString() : "null")}");
                }
                Assert.All(now.Values, v => Assert.True(double.IsFinite(v)));
                if (round == 6) break; // the last round only verifies

                // Sustained ingest until a few more flushes are acknowledged, then SIGKILL at a random moment.
                using var cts = new CancellationTokenSource();
                var sender = Task.Run(() => Send(statsd, cts.Token));
                var before = await LastPersisted(client);
                var want = 2 + rng.Next(3);
                // Flushes before the first packet arrives carry no point: wait for at least two new acknowledged values too.
                long persisted = 0;
                var seen = new Dictionary<long, double>();
                await Poll.UntilAsync(async () =>
                {
                    persisted = await LastPersisted(client);
                    if (persisted < before + want) return false;
                    seen = await RenderJson.PointsAsync(client, "stats_counts.crash.hits", start);
                    return seen.Count(kv => kv.Key <= persisted && !acknowledged.ContainsKey(kv.Key)) >= 2;
                }, TimeSpan.FromSeconds(30), "flushes persisted");
                foreach (var (ts, value) in seen)
                    if (ts <= persisted) acknowledged[ts] = value;
                await Task.Delay(rng.Next(0, 1000)); // a random point in the next flush cycle to kill at
                observe.Process.Kill9();
                cts.Cancel();
                await sender;
                output.WriteLine($"round {round}: killed with {acknowledged.Count} acknowledged flushes (last {persisted})");
            }
            finally
            {
                await observe.DisposeAsync();
            }
        }
        Assert.True(acknowledged.Count >= 10, $"only {acknowledged.Count} flushes acknowledged");
    }

    private static async Task<long> LastPersisted(HttpClient client)
    {
        var stats = await client.GetFromJsonAsync<JsonElement>("/stats");
        return stats.GetProperty("storage").GetProperty("lastPersistedBatchTimestamp").GetInt64();
    }

    private static void Send(int port, CancellationToken ct)
    {
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Connect("127.0.0.1", port);
        var packet = Encoding.ASCII.GetBytes("crash.hits:1|c\ncrash.latency:12|ms\ncrash.level:5|g");
        var spin = new SpinWait();
        while (!ct.IsCancellationRequested)
        {
            try { udp.Send(packet); } catch (SocketException) { }
            // About 2 000 packets/s: sustained, without starving the 2-core machine.
            for (var i = 0; i < 20 && !ct.IsCancellationRequested; i++) spin.SpinOnce(-1);
            ct.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(0.5));
        }
    }
}
