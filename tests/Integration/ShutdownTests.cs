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
        // 2 s flushes into a 2 s archive: one slot per flush, so a flush that replaced another would lose counts.
        var setup = new ObserveSetup(Repo.TempDir("sigterm")) { FlushIntervalMs = 2000, Retentions = "2s:1d", LogLevel = null };
        using var client = setup.Client();
        var start = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 4;

        long sent;
        var observe = await ObserveProcess.StartAsync(setup, "observe-1.log");
        try
        {
            using var cts = new CancellationTokenSource();
            var sender = Task.Run(() => Send(setup.StatsdPort, cts.Token));
            // Steady load across several flushes, then SIGTERM right after the last packet (still unread in the kernel).
            await Poll.UntilAsync(async () => await Flushes(client) >= 3 && await Received(client) > 0, TimeSpan.FromSeconds(30), "three flushes under load");
            cts.Cancel();
            sent = await sender;
            Assert.True(await observe.Process.TerminateAsync(TimeSpan.FromSeconds(25)), "observe did not exit within 25 s of SIGTERM");
            Assert.Equal(0, observe.Process.ExitCode);
            output.WriteLine($"sent {sent} counts; log:\n{observe.Log()}");
            Assert.Contains("stopping: receiving StatsD until the flush interval ends", observe.Log());
            Assert.DoesNotContain("did not drain", observe.Log());
        }
        finally { await observe.DisposeAsync(); }

        await using var again = await ObserveProcess.StartAsync(setup, "observe-2.log");
        var slots = await again.RenderAsync("stats_counts.ops.sigterm", start);
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
