using System.Net;
using System.Net.Sockets;

namespace Observe.Collector.Statsd;

/// <summary>
/// Who may send DogStatsD events (<c>_e</c>) and service checks (<c>_sc</c>): StatsD has no authentication, and a service
/// check turns a passive check CRITICAL and an event is drawn as a deploy annotation, so both are off unless a listener
/// opts in (<c>collector.statsd.events.udp</c> / <c>.tcp</c>), and then, when <c>sources</c> is given, only from those
/// addresses or networks. Metrics are unaffected.
/// </summary>
internal sealed class StatsdEventPolicy
{
    private readonly bool _udp, _tcp;
    private readonly IPNetwork[] _sources;

    public StatsdEventPolicy(StatsdEventOptions options)
    {
        _udp = options.Udp;
        _tcp = options.Tcp;
        _sources = options.Sources.Select(s => TryParseSource(s, out var n) ? n : throw new ArgumentException($"'{s}' is not an IP address or network")).ToArray();
    }

    /// <summary>An address (<c>10.0.0.5</c>, a single host) or a network in CIDR form (<c>10.0.0.0/8</c>, <c>::1/128</c>).</summary>
    public static bool TryParseSource(string s, out IPNetwork network)
    {
        if (IPAddress.TryParse(s, out var a)) { network = new IPNetwork(a, a.AddressFamily == AddressFamily.InterNetwork ? 32 : 128); return true; }
        return IPNetwork.TryParse(s, out network);
    }

    /// <summary>Whether the packet's sender may send events; evaluated only for a packet that holds one.</summary>
    public bool Allows(in PacketSource source)
    {
        if (!(source.Tcp ? _tcp : _udp)) return false;
        if (_sources.Length == 0) return true;
        var address = source.TcpFrom ?? (source.UdpFrom is { } from ? ((IPEndPoint)new IPEndPoint(IPAddress.Any, 0).Create(from)).Address : null);
        if (address == null) return false;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        foreach (var n in _sources) if (n.Contains(address)) return true;
        return false;
    }
}

/// <summary>
/// Where a StatsD packet came from: the transport and the sender (a UDP datagram's raw address is turned into an
/// <see cref="IPAddress"/> only if the packet holds an event, so metrics pay nothing). No policy = a trusted caller (tests).
/// </summary>
internal readonly record struct PacketSource(StatsdEventPolicy? Policy, bool Tcp, SocketAddress? UdpFrom, IPAddress? TcpFrom)
{
    public bool AllowsEvents => Policy == null || Policy.Allows(this);
}
