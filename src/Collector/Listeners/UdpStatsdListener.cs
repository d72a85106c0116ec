using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Observe.Common;

namespace Observe.Collector.Listeners;

/// <summary>
/// StatsD over UDP: one socket per receive thread, all bound to the same port with SO_REUSEPORT so the
/// kernel spreads datagrams across them. Each thread owns one 64 KiB buffer for its whole life and
/// hands the received span straight to the packet handler, so receiving allocates nothing per packet.
/// </summary>
internal sealed class UdpStatsdListener : IDisposable
{
    private const int MaxDatagram = 65536;
    private readonly List<Socket> _sockets = [];
    private readonly List<Thread> _threads = [];
    private readonly PacketHandler _handler;
    private readonly ILogger _log;
    private readonly string _name;
    private volatile bool _stopping;
    private readonly LogRateLimit _handlerErrorLog = new(1, TimeSpan.FromSeconds(10));

    /// <param name="from">the sender; the same object is reused for the next datagram.</param>
    internal delegate void PacketHandler(ReadOnlySpan<byte> packet, SocketAddress from);

    /// <param name="name">names the receive threads and the log lines (the log listeners reuse this class).</param>
    public UdpStatsdListener(IPEndPoint endpoint, int sockets, int receiveBufferBytes, PacketHandler handler, ILogger log, string name = "statsd")
    {
        _name = name;
        _handler = handler;
        _log = log;
        var count = sockets > 0 ? sockets : Environment.ProcessorCount;
        ListenerBinding.EnsureUdpPortFree(endpoint, name);
        var bindTo = endpoint;
        for (var i = 0; i < count; i++)
        {
            var s = new Socket(bindTo.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            // On Linux this sets SO_REUSEPORT (and SO_REUSEADDR): the kernel load-balances across the sockets.
            s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            s.ReceiveBufferSize = receiveBufferBytes; // capped by net.core.rmem_max
            try { ListenerBindException.Bind(name, "udp", bindTo, () => s.Bind(bindTo)); }
            catch { s.Dispose(); foreach (var open in _sockets) open.Dispose(); throw; }
            // With port 0 the first bind picks the port; the others must join that one.
            bindTo = (IPEndPoint)s.LocalEndPoint!;
            _sockets.Add(s);
        }
        LocalEndPoint = bindTo;
        EffectiveReceiveBufferBytes = _sockets[0].ReceiveBufferSize;
    }

    public IPEndPoint LocalEndPoint { get; }
    public int EffectiveReceiveBufferBytes { get; }
    public int SocketCount => _sockets.Count;

    public void Start()
    {
        foreach (var socket in _sockets)
        {
            var t = new Thread(() => ReceiveLoop(socket)) { IsBackground = true, Name = _name + "-udp" };
            _threads.Add(t);
            t.Start();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ReceiveLoop(Socket socket)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(MaxDatagram, pinned: true);
        var from = new SocketAddress(socket.AddressFamily); // one per thread: recvfrom fills it in place
        while (!_stopping)
        {
            int n;
            try { n = socket.ReceiveFrom(buffer, SocketFlags.None, from); }
            catch (SocketException) when (_stopping) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                _log.LogWarning("{Name} udp receive failed: {Error}", _name, e.SocketErrorCode);
                continue;
            }
            try { _handler(buffer.AsSpan(0, n), from); }
            catch (Exception e)
            {
                // The handler must not throw; if it ever does, keep listening and say so (once per 10 s: a packet flood must not become a log flood).
                if (_handlerErrorLog.TryLog(out var more)) _log.LogError(e, "{Name} packet handler failed ({More} more failures not logged)", _name, more);
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        foreach (var s in _sockets) s.Dispose();
        foreach (var t in _threads) t.Join(TimeSpan.FromSeconds(2));
    }
}
