using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector.Listeners;
using Observe.Collector.Statsd;
using Observe.Collector.Tests.Statsd;
using Observe.TestSupport;

namespace Observe.Collector.Tests;

/// <summary>The receive thread with the sender's address (for the DogStatsD event policy) still allocates nothing per datagram.</summary>
public class UdpReceiveAllocationTests
{
    [Fact]
    public async Task Receiving_with_the_senders_address_and_an_event_policy_allocates_nothing_per_datagram()
    {
        var aggregator = StatsdTest.Aggregator();
        var policy = new StatsdEventPolicy(new StatsdEventOptions { Udp = true, Sources = ["10.0.0.0/8"] });
        long received = 0, start = 0, end = 0;
        const int warmUp = 1000, measured = 10_000;
        using var listener = new UdpStatsdListener(new IPEndPoint(IPAddress.Loopback, 0), 1, 1 << 20, (packet, from) =>
        {
            aggregator.HandlePacket(packet, new PacketSource(policy, false, from, null));
            var n = ++received; // one receive thread
            if (n == warmUp) start = GC.GetAllocatedBytesForCurrentThread();
            if (n == warmUp + measured) Volatile.Write(ref end, GC.GetAllocatedBytesForCurrentThread());
        }, NullLogger.Instance);
        listener.Start();
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Connect(listener.LocalEndPoint);
        // No timer: its list of values grows by design (Etsy keeps every value of the interval).
        var datagram = Encoding.ASCII.GetBytes("alloc.counter:1|c\nalloc.gauge:3|g\nalloc.tagged:2|c|#env:prod");
        // UDP may drop under load: keep sending until the receive thread has counted enough.
        await Poll.UntilAsync(() =>
        {
            for (var i = 0; i < 500; i++) sender.Send(datagram);
            return Volatile.Read(ref end) != 0;
        }, TimeSpan.FromSeconds(30), $"{warmUp + measured} datagrams received");
        var allocated = end - start;
        Assert.True(allocated < 2048, $"{allocated} bytes allocated on the receive thread for {measured} datagrams");
    }
}
