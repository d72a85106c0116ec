using System.Net;
using System.Net.Sockets;

namespace Observe.Collector.Listeners;

/// <summary>
/// Binding rules shared by the listeners. On Linux .NET's <see cref="SocketOptionName.ReuseAddress"/> sets SO_REUSEPORT
/// as well, with which a second process (a leftover Observe, a StatsD) binds the same port and silently takes part of
/// the traffic. So: the UDP listeners, which want SO_REUSEPORT for their own sockets, first bind a probe without it;
/// the TCP listeners set SO_REUSEADDR alone (a restart still binds despite TIME_WAIT, a second listener cannot).
/// </summary>
internal static class ListenerBinding
{
    private const int SolSocket = 1, SoReuseAddr = 2; // Linux <asm-generic/socket.h>

    /// <summary>Throws <see cref="IOException"/> naming the listener when anything already holds the UDP port.</summary>
    public static void EnsureUdpPortFree(IPEndPoint endpoint, string name)
    {
        if (endpoint.Port == 0) return; // the kernel picks a free one
        using var probe = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try { probe.Bind(endpoint); }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
        {
            throw InUse(name, "udp", endpoint, e);
        }
    }

    /// <summary>Lets a listening TCP socket bind while old connections on its port are in TIME_WAIT, without SO_REUSEPORT.</summary>
    public static void AllowRebind(Socket listener)
    {
        if (OperatingSystem.IsLinux()) listener.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
        else listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
    }

    public static IOException InUse(string name, string protocol, IPEndPoint endpoint, SocketException e) =>
        new($"{name}: {protocol} {endpoint} is already in use by another process (a second Observe, or a StatsD/carbon still running?): {e.Message}", e);
}
