using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector.Listeners;
using Observe.TestSupport;

namespace Observe.Collector.Tests;

/// <summary>Issue 15 finding 4: a TCP listener holds at most maxConnections and closes connections idle for the idle timeout.</summary>
public class TcpListenerLimitTests
{
    [Fact]
    public async Task Connections_over_the_cap_are_reset_and_counted_and_idle_ones_are_closed()
    {
        var clock = new ManualTimeProvider();
        long lines = 0;
        await using var listener = new LineStreamListener("test", new IPEndPoint(IPAddress.Loopback, 0), 1024,
            (chunk, _) => Interlocked.Add(ref lines, chunk.Length), NullLogger.Instance, new TcpLimits(2, TimeSpan.FromSeconds(30)), clock);
        listener.Start();

        var clients = new List<Socket>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(c);
                // Over the cap the reset can arrive before the connect's completion is seen: that is a refusal too.
                try { await c.ConnectAsync(listener.LocalEndPoint); } catch (SocketException) when (i >= 2) { }
                if (i == 1) await Poll.UntilAsync(() => listener.Stats.Open == 2, TimeSpan.FromSeconds(10), "two connections served");
            }
            await Poll.UntilAsync(() => listener.Stats.Accepted == 5, TimeSpan.FromSeconds(10), "five connections accepted");
            Assert.Equal((2, 3L), (listener.Stats.Open, listener.Stats.Refused));
            // The two within the cap are served.
            await clients[0].SendAsync("a:1|c\n"u8.ToArray());
            await Poll.UntilAsync(() => Interlocked.Read(ref lines) == 6, TimeSpan.FromSeconds(10), "the line of a served connection");
            // Refused ones were reset: reading ends (0 bytes or a reset) at once.
            foreach (var refused in clients.Skip(2)) Assert.True(await ClosedAsync(refused), "a refused connection is still open");

            // Idle: the clock passes 30 s without a byte from either client → both closed, counted; the listener takes new ones.
            await Poll.UntilAsync(() => clock.PendingTimers >= 2, TimeSpan.FromSeconds(10), "both idle timers armed");
            clock.Advance(TimeSpan.FromSeconds(31));
            await Poll.UntilAsync(() => listener.Stats is { Open: 0, IdleClosed: 2 }, TimeSpan.FromSeconds(10), "idle connections closed");
            Assert.True(await ClosedAsync(clients[0]) && await ClosedAsync(clients[1]), "an idle connection is still open");
            using var again = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await again.ConnectAsync(listener.LocalEndPoint);
            await again.SendAsync("b:1|c\n"u8.ToArray());
            await Poll.UntilAsync(() => Interlocked.Read(ref lines) == 12, TimeSpan.FromSeconds(10), "a new connection served after the idle ones left");
            Assert.Equal(3, listener.Stats.Refused);
        }
        finally { foreach (var c in clients) c.Dispose(); }
    }

    private static async Task<bool> ClosedAsync(Socket s)
    {
        var buffer = new byte[16];
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return await s.ReceiveAsync(buffer, SocketFlags.None, cts.Token) == 0;
        }
        catch (SocketException) { return true; } // reset
        catch (OperationCanceledException) { return false; }
    }

    [Theory]
    [InlineData(1000, 65536L, 1000)]   // systemd's LimitNOFILE in deploy/observe.service: as configured
    [InlineData(1000, 1400L, 94)]      // (1400 - 1024 reserved) / 4 listeners
    [InlineData(1000, 300L, 8)]        // never below 8
    [InlineData(50, 1400L, 50)]
    public void Caps_are_fitted_to_the_descriptor_limit(int configured, long limit, int expected) =>
        Assert.Equal(expected, DescriptorBudget.Fit(configured, "test", NullLogger.Instance, limit));

    [Fact]
    public void The_descriptor_limit_is_read_from_proc() =>
        Assert.True(DescriptorBudget.OpenFilesLimit() is > 0, "RLIMIT_NOFILE not found in /proc/self/limits");
}
