using System.Net;
using System.Net.Sockets;
using System.Text;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// limits.memory in the real binary: with a budget below what the process needs at rest, it gives memory back and then
/// refuses new StatsD keys, counting each step and each refused sample on /metrics, and keeps serving (~10 s).
/// </summary>
public class MemoryBudgetBinaryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_budget_below_the_resident_size_refuses_new_keys_and_counts_instead_of_growing()
    {
        var dir = Repo.TempDir("membudget");
        int statsd = FreePort.Get(), graphite = FreePort.Get();
        await using var observe = await ObserveProcess.StartAsync(new ObserveSetup(dir)
        {
            ClientTimeout = TimeSpan.FromSeconds(30),
            Config = s => $$"""
            http: {port: {{s.HttpPort}}}
            collector:
              statsd: {port: {{statsd}}, flushInterval: 1000}
              graphite: {port: {{graphite}}, pickle: {port: 0} }
            storage: {dataDir: {{dir}}/data}
            limits: {memory: 16MB}
            logging: {level: warning}
            """,
        });
        var client = observe.Client;
        try
        {
            await Poll.UntilAsync(async () => (await client.GetStringAsync("/metrics")).Contains("\nobserve_memory_pressure_level 2\n"),
                TimeSpan.FromSeconds(20), "the budget refusing new things");
            using var udp = new UdpClient();
            for (int i = 0; i < 200; i++)
                await udp.SendAsync(Encoding.ASCII.GetBytes($"budget.k{i}:1|c"), new IPEndPoint(IPAddress.Loopback, statsd));
            await Poll.UntilAsync(async () => Metric(await client.GetStringAsync("/metrics"), "observe_statsd_keys_dropped_total") >= 150,
                TimeSpan.FromSeconds(20), "new keys refused and counted");
            var metrics = await client.GetStringAsync("/metrics");
            Assert.True(Metric(metrics, "observe_memory_reliefs_total") >= 1, "memory was given back first");
            Assert.True(Metric(metrics, "observe_memory_refusing_total") >= 1);
            Assert.Equal(0, Metric(metrics, "observe_statsd_active_keys")); // none of them became a key
            Assert.Contains("memory budget:", observe.Log());
            Assert.Equal("ok\n", await client.GetStringAsync("/health"));
            Assert.False(observe.Process.HasExited);
        }
        finally
        {
            output.WriteLine(observe.Log());
        }
    }

    private static double Metric(string page, string name) =>
        page.Split('\n').Where(l => l.StartsWith(name + " ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(-1).First();
}
