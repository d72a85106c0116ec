using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Observe.TestSupport;

/// <summary>
/// A Graphite plaintext receiver for tests. Each accepted TCP connection is recorded as one
/// "flush" (Etsy statsd's graphite backend opens one connection per flush).
/// </summary>
public sealed class GraphiteLineRecorder : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _accept;
    private readonly ConcurrentQueue<IReadOnlyList<string>> _flushes = new();
    public int Port { get; }

    public GraphiteLineRecorder()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = AcceptLoop();
    }

    /// <summary>Completed connections, in order of completion.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Flushes => _flushes.ToArray();

    private Task AcceptLoop() => TcpAccept.EachAsync(_listener, async client =>
    {
        var lines = new List<string>();
        using var reader = new StreamReader(client.GetStream(), Encoding.UTF8);
        try
        {
            while (await reader.ReadLineAsync(_cts.Token) is { } line)
                if (line.Length > 0) lines.Add(line);
        }
        catch (Exception) { }
        _flushes.Enqueue(lines);
    }, _cts.Token);

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        _listener.Stop();
        try { await _accept; } catch { }
    }
}
