using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Observe.Collector.Listeners;

/// <summary>
/// A TCP listener for newline-delimited protocols (StatsD over TCP, Graphite plaintext). Each
/// connection is read through a pipe; every run of complete lines is handed over as one chunk,
/// as Etsy statsd's TCP server does. A line longer than the protocol's maximum is handed over cut, once
/// (so it is counted as one bad line), and the rest of it is skipped up to its newline: a client cannot
/// make Observe buffer without bound, and the tail of an overlong line is never taken for a line of its own.
/// </summary>
internal sealed class LineStreamListener : IAsyncDisposable
{
    private readonly int _maxLineBytes;
    private readonly TcpListener _listener;
    private readonly ChunkHandler _handler;
    private readonly ILogger _log;
    private readonly string _name;
    private readonly byte _delimiter;
    private readonly CancellationTokenSource _cts = new();
    private Task? _acceptLoop;
    private long _connections;

    internal delegate void ChunkHandler(ReadOnlySequence<byte> completeLines);

    /// <param name="delimiter">ends a line: <c>\n</c> for StatsD and Graphite, NUL for GELF over TCP.</param>
    public LineStreamListener(string name, IPEndPoint endpoint, int maxLineBytes, ChunkHandler handler, ILogger log, byte delimiter = (byte)'\n')
    {
        _name = name;
        _delimiter = delimiter;
        _maxLineBytes = maxLineBytes;
        _handler = handler;
        _log = log;
        _listener = new TcpListener(endpoint);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try { ListenerBindException.Bind(name, "tcp", endpoint, () => _listener.Start(512)); }
        catch { _listener.Server.Dispose(); throw; }
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
            var skipping = false; // inside an overlong line, up to its newline
            while (true)
            {
                var result = await reader.ReadAsync(_cts.Token);
                var buffer = result.Buffer;
                if (skipping)
                {
                    var end = buffer.PositionOf(_delimiter);
                    buffer = end is { } e ? buffer.Slice(buffer.GetPosition(1, e)) : buffer.Slice(buffer.End);
                    skipping = end == null;
                }
                var lastNewline = skipping ? null : buffer.PositionOfLast(_delimiter);
                if (lastNewline is { } pos)
                {
                    var complete = buffer.Slice(0, buffer.GetPosition(1, pos));
                    _handler(complete);
                    buffer = buffer.Slice(complete.End);
                }
                if (!skipping && buffer.Length > _maxLineBytes)
                {
                    // No newline within the limit: hand over the start as one (bad) line and skip the rest of it.
                    _handler(buffer.Slice(0, _maxLineBytes + 1));
                    buffer = buffer.Slice(buffer.End);
                    skipping = true;
                }
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty && !skipping) _handler(buffer); // last line without a trailing newline
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
