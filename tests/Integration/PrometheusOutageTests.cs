using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Prometheus is stopped for 60 s while the real `observe` process takes steady StatsD load and remote-writes every
/// flush through its disk spool; after Prometheus is back, the samples it stored add up to exactly what was sent.
/// </summary>
public class PrometheusOutageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Remote_write_loses_nothing_while_Prometheus_is_down_for_60_seconds()
    {
        await using var prometheus = await PrometheusPeer.StartAsync("prom-outage");
        var dir = Repo.TempDir("prom-outage-observe");
        var setup = new ObserveSetup(dir)
        {
            FlushIntervalMs = 1000,
            Sinks = $$"""
                embedded: {enabled: false}
                spool: {retryMaxSeconds: 2}
                remoteWrite:
                  - {name: prom, url: "{{prometheus.RemoteWriteUrl}}"}
                """,
        };
        var statsd = setup.StatsdPort;
        await using var observe = await ObserveProcess.StartAsync(setup);
        var client = observe.Client;
        try
        {

            // Steady load: one increment every 50 ms until told to stop; each send is counted.
            var sent = 0;
            using var stopLoad = new CancellationTokenSource();
            var load = Task.Run(async () =>
            {
                using var udp = new UdpClient();
                var line = Encoding.ASCII.GetBytes("outage.hits:1|c");
                var target = new IPEndPoint(IPAddress.Loopback, statsd);
                while (!stopLoad.IsCancellationRequested)
                {
                    await udp.SendAsync(line, line.Length, target);
                    Interlocked.Increment(ref sent);
                    try { await Task.Delay(50, stopLoad.Token); } catch (OperationCanceledException) { }
                }
            });

            async Task<double> Stored() => (await prometheus.QueryAsync("sum_over_time(stats_counts_outage_hits[30m])")) is [var r] ? r.Value : 0;
            await Poll.UntilAsync(async () => await Stored() > 0, TimeSpan.FromSeconds(30), "first flushes in Prometheus");

            await prometheus.StopAsync();
            var downAt = DateTime.UtcNow;
            // The spool holds what Prometheus cannot take: wait until it has held records, then for the rest of the 60 s.
            await Poll.UntilAsync(async () => await SpoolRecordsAsync(client) >= 10, TimeSpan.FromSeconds(40), "records waiting in the spool");
            var remaining = TimeSpan.FromSeconds(60) - (DateTime.UtcNow - downAt);
            if (remaining > TimeSpan.Zero) await Task.Delay(remaining); // the outage itself, as the issue asks: not a synchronisation
            var heldAtRestart = await SpoolRecordsAsync(client);
            await prometheus.StartAsync();

            await Poll.UntilAsync(async () => await Stored() > 0, TimeSpan.FromSeconds(30), "Prometheus answering again");
            stopLoad.Cancel();
            await load;
            var total = Volatile.Read(ref sent);
            // The last increments are flushed within a second; then the spool drains.
            await Poll.UntilAsync(async () => await Stored() >= total && await SpoolRecordsAsync(client) == 0, TimeSpan.FromSeconds(60),
                $"all {total} increments stored");
            Assert.Equal(total, await Stored());
            var stats = await SpoolAsync(client);
            output.WriteLine($"sent {total} increments; spool held {heldAtRestart} flush records at restart; spool stats {stats}");
            Assert.Equal(0, stats.GetProperty("rejected").GetInt64());
            Assert.Equal(0, stats.GetProperty("droppedOldest").GetInt64());
            Assert.True(heldAtRestart >= 50, $"only {heldAtRestart} records were spooled during the 60 s outage");
        }
        catch
        {
            output.WriteLine(File.Exists(Path.Combine(dir, "observe.log")) ? await File.ReadAllTextAsync(Path.Combine(dir, "observe.log")) : "");
            output.WriteLine(prometheus.Log());
            throw;
        }
    }

    private static async Task<JsonElement> SpoolAsync(HttpClient client)
    {
        var stats = await client.GetFromJsonAsync<JsonElement>("/stats");
        return stats.GetProperty("spools").EnumerateArray().Single(s => s.GetProperty("sink").GetString() == "prom");
    }

    private static async Task<long> SpoolRecordsAsync(HttpClient client) => (await SpoolAsync(client)).GetProperty("records").GetInt64();
}
