using System.Net;
using System.Net.Sockets;

namespace Observe.Collector.Listeners;

/// <summary>
/// A listener could not bind its address: names the listener, the protocol, the address and the port, so that
/// "Address already in use" says which of the five listeners it was. An IOException: the host reports it in one line.
/// </summary>
internal sealed class ListenerBindException(string listener, string protocol, IPEndPoint endpoint, SocketException inner)
    : IOException($"{listener} cannot listen on {protocol} {endpoint}: {inner.Message}" + (inner.SocketErrorCode == SocketError.AddressAlreadyInUse
        ? " (another process holds it: a second Observe, or a StatsD/carbon still running?)" : ""), inner)
{
    public SocketError SocketError => inner.SocketErrorCode;

    /// <summary>Runs <paramref name="bind"/>, turning a socket error into a <see cref="ListenerBindException"/>.</summary>
    public static void Bind(string listener, string protocol, IPEndPoint endpoint, Action bind)
    {
        try { bind(); }
        catch (SocketException e) { throw new ListenerBindException(listener, protocol, endpoint, e); }
    }
}
