using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector.Listeners;
using Observe.TestSupport;

namespace Observe.Collector.Tests;

/// <summary>The pickle listener frames the stream and shares the TCP listeners' connection cap and idle timeout.</summary>
public class PickleListenerTests
{
    private static readonly byte[] EtsyFrame = PythonPickles.Frame("(l(S'a.b'\n(L1700000000L\nS'1.5'\ntta(S'c;z=1;a=2'\n(L1700000000L\nS'2'\ntta."u8.ToArray());

    [Fact]
    public async Task Frames_sent_in_pieces_decode_and_the_cap_and_idle_timeout_hold()
    {
        var clock = new ManualTimeProvider();
        var points = new ConcurrentQueue<MetricPoint>();
        await using var listener = new PickleListener(new IPEndPoint(IPAddress.Loopback, 0),
            new PickleListenerOptions { MaxConnections = 1, IdleTimeoutMs = 30_000 }, points.Enqueue, NullLogger.Instance, clock);
        listener.Start();
        using var first = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await first.ConnectAsync(listener.LocalEndPoint);
        await Poll.UntilAsync(() => listener.Stats.Open == 1, TimeSpan.FromSeconds(10), "the first connection served");
        using var second = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try { await second.ConnectAsync(listener.LocalEndPoint); } catch (SocketException) { }
        await Poll.UntilAsync(() => listener.Stats.Refused == 1, TimeSpan.FromSeconds(10), "the second connection refused");

        // Two frames, sent in pieces that cut the length prefix and the pickle.
        var bytes = EtsyFrame.Concat(EtsyFrame).ToArray();
        var pos = 0;
        foreach (var end in new[] { 2, 32, EtsyFrame.Length + 3, bytes.Length })
        {
            await first.SendAsync(bytes.AsMemory(pos, end - pos));
            pos = end;
            await Task.Yield();
        }
        await Poll.UntilAsync(() => points.Count == 4, TimeSpan.FromSeconds(10), "four points");
        Assert.Equal([new("a.b", 1.5, 1700000000), new("c;a=2;z=1", 2, 1700000000), new("a.b", 1.5, 1700000000), new("c;a=2;z=1", 2, 1700000000)],
            points.ToArray());
        Assert.Equal(2, listener.FramesReceived);

        await Poll.UntilAsync(() => clock.PendingTimers >= 1, TimeSpan.FromSeconds(10), "the idle timer armed");
        clock.Advance(TimeSpan.FromSeconds(31));
        await Poll.UntilAsync(() => listener.Stats is { Open: 0, IdleClosed: 1 }, TimeSpan.FromSeconds(10), "the idle connection closed");
    }
}
