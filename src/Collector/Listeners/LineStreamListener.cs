using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Observe.Collector.Listeners;

/// <summary>
/// A TCP listener for newline-delimited protocols (StatsD over TCP, Graphite plaintext). Each
/// connection is read through a pipe; every run of complete lines is handed over as one chunk,
/// as Etsy statsd's TCP server does. A line longer than <see cref="MaxLineBytes"/> is handed over
/// cut (so it is counted as bad) rather than buffering without bound.
/// </summary>
internal sealed class LineStreamListener : IAsyncDisposable
{
    public const int MaxLineBytes = 64 * 1024;
    private readonly TcpListener _listener;
    private readonly ChunkHandler _handler;
    private readonly ILogger _log;
    private readonly string _name;
    private readonly CancellationTokenSource _cts = new();
    private Task? _acceptLoop;
    private long _connections;

    internal delegate void ChunkHandler(ReadOnlySequence<byte> completeLines);

    public LineStreamListener(string name, IPEndPoint endpoint, ChunkHandler handler, ILogger log)
    {
        _name = name;
        _handler = handler;
        _log = log;
        _listener = new TcpListener(endpoint);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start(512);
        LocalEndPoint = (IPEndPoint)_listener.LocalEndpoint;
    }

    public IPEndPoint LocalEndPoint { get; }
    public long Connections => Interlocked.Read(ref _connections);

    public void Start() => _acceptLoop = AcceptLoop();

    private async Task AcceptLoop()
    {
        while (!_cts.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptSocketAsync(_cts.Token); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e) { _log.LogWarning("{Name} accept failed: {Error}", _name, e.SocketErrorCode); continue; }
            Interlocked.Increment(ref _connections);
            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(Socket client)
    {
        using var _ = client;
        await using var stream = new NetworkStream(client, ownsSocket: false);
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024));
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(_cts.Token);
                var buffer = result.Buffer;
                var lastNewline = buffer.PositionOfLast((byte)'\n');
                if (lastNewline is { } pos)
                {
                    var complete = buffer.Slice(0, buffer.GetPosition(1, pos));
                    _handler(complete);
                    buffer = buffer.Slice(complete.End);
                }
                else if (buffer.Length > MaxLineBytes)
                {
                    // No newline within the limit: hand over what we have as one (bad) line and move on.
                    _handler(buffer);
                    buffer = buffer.Slice(buffer.End);
                }
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty) _handler(buffer); // last line without a trailing newline
                    reader.AdvanceTo(buffer.End);
                    break;
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
        catch (SocketException) { }
        catch (Exception e) { _log.LogError(e, "{Name} connection failed", _name); }
        finally { await reader.CompleteAsync(); }
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        _listener.Stop();
        if (_acceptLoop != null) { try { await _acceptLoop; } catch { } }
    }
}

internal static class SequenceExtensions
{
    public static SequencePosition? PositionOfLast(this ReadOnlySequence<byte> buffer, byte value)
    {
        if (buffer.IsSingleSegment)
        {
            var i = buffer.FirstSpan.LastIndexOf(value);
            return i < 0 ? null : buffer.GetPosition(i);
        }
        long offset = 0, found = -1;
        foreach (var segment in buffer)
        {
            var i = segment.Span.LastIndexOf(value);
            if (i >= 0) found = offset + i;
            offset += segment.Length;
        }
        return found < 0 ? null : buffer.GetPosition(found);
    }
}
