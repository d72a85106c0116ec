using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// SIGTERM to the real `observe` process while a client sends a counter steadily: the interval in progress is
/// flushed, the process exits by itself, and after a restart /render returns every count that was sent.
/// </summary>
public class ShutdownTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Sigterm_during_steady_statsd_load_flushes_the_last_interval_and_it_reads_back_after_restart()
    {
        var dir = Repo.TempDir("sigterm");
        int http = FreePort.Get(), statsd = FreePort.Get();
        var configPath = Path.Combine(dir, "observe.yaml");
        // 2 s flushes into a 2 s archive: one slot per flush, so a flush that replaced another would lose counts.
        await File.WriteAllTextAsync(configPath, $$"""
            http: {port: {{http}}}
            collector:
              statsd: {port: {{statsd}}, flushInterval: 2000}
              graphite: {enabled: false}
            storage:
              dataDir: {{dir}}/data
              schemas:
                - {name: all, pattern: ".*", retentions: "2s:1d"}
            """);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}"), Timeout = TimeSpan.FromSeconds(10) };
        var start = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 4;

        long sent;
        var observe = ObserveBinary.Run(configPath, dir, Path.Combine(dir, "observe-1.log"));
        try
        {
            await Poll.UntilAsync(async () => (await client.GetAsync("/health")).IsSuccessStatusCode, TimeSpan.FromSeconds(30), "observe up");
            using var cts = new CancellationTokenSource();
            var sender = Task.Run(() => Send(statsd, cts.Token));
            // Steady load across several flushes, then SIGTERM right after the last packet (still unread in the kernel).
            await Poll.UntilAsync(async () => await Flushes(client) >= 3 && await Received(client) > 0, TimeSpan.FromSeconds(30), "three flushes under load");
            cts.Cancel();
            sent = await sender;
            Assert.True(await observe.TerminateAsync(TimeSpan.FromSeconds(25)), "observe did not exit within 25 s of SIGTERM");
            Assert.Equal(0, observe.ExitCode);
            output.WriteLine($"sent {sent} counts; log:\n{observe.Log()}");
            Assert.Contains("stopping: receiving StatsD until the flush interval ends", observe.Log());
            Assert.DoesNotContain("did not drain", observe.Log());
        }
        finally { await observe.DisposeAsync(); }

        await using var again = ObserveBinary.Run(configPath, dir, Path.Combine(dir, "observe-2.log"));
        await Poll.UntilAsync(async () => (await client.GetAsync("/health")).IsSuccessStatusCode, TimeSpan.FromSeconds(30), "observe up again");
        var slots = await ObserveBinary.RenderAsync(client, "stats_counts.ops.sigterm", start);
        output.WriteLine(string.Join(" ", slots.Select(s => $"{s.Key}={s.Value}")));
        Assert.True(slots.Count >= 3, $"only {slots.Count} flushes stored");
        Assert.Equal(sent, slots.Values.Sum());
    }

    private static async Task<long> Flushes(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonElement>("/stats")).GetProperty("collector").GetProperty("flush").GetProperty("count").GetInt64();

    private static async Task<long> Received(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonElement>("/stats")).GetProperty("collector").GetProperty("statsd").GetProperty("metricsReceived").GetInt64();

    /// <summary>About 1 000 counter packets a second until cancelled; returns how many were sent.</summary>
    private static long Send(int port, CancellationToken ct)
    {
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Connect("127.0.0.1", port);
        var packet = Encoding.ASCII.GetBytes("ops.sigterm:1|c");
        long sent = 0;
        while (!ct.IsCancellationRequested)
        {
            udp.Send(packet);
            sent++;
            ct.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(1));
        }
        return sent;
    }
}
