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
/// At most <see cref="TcpLimits.MaxConnections"/> connections (fitted to the descriptor limit: <see cref="DescriptorBudget"/>)
/// are open at once: one more is accepted and reset at once (counted), so idle clients cannot use up the process's file
/// descriptors; a connection that sends nothing for <see cref="TcpLimits.IdleTimeout"/> is closed (counted). Accept
/// failures (EMFILE …) back off and are logged at most once per 10 s with the number left out.
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
    private readonly TcpLimits _limits;
    private readonly TimeProvider _time;
    private readonly LogThrottle _acceptErrorLog, _refusedLog, _handlerErrorLog;
    private Task? _acceptLoop;
    private long _connections, _refused, _idleClosed, _acceptErrors;
    private int _open;

    /// <param name="from">the client's address (one object per connection).</param>
    internal delegate void ChunkHandler(ReadOnlySequence<byte> completeLines, IPEndPoint from);

    /// <param name="delimiter">ends a line: <c>\n</c> for StatsD and Graphite, NUL for GELF over TCP.</param>
    public LineStreamListener(string name, IPEndPoint endpoint, int maxLineBytes, ChunkHandler handler, ILogger log, TcpLimits limits,
        TimeProvider? time = null, byte delimiter = (byte)'\n')
    {
        _name = name;
        _limits = limits with { MaxConnections = DescriptorBudget.Fit(limits.MaxConnections, name, log) };
        _time = time ?? TimeProvider.System;
        _acceptErrorLog = new LogThrottle(TimeSpan.FromSeconds(10), _time);
        _refusedLog = new LogThrottle(TimeSpan.FromSeconds(10), _time);
        _handlerErrorLog = new LogThrottle(TimeSpan.FromSeconds(10), _time);
        _delimiter = delimiter;
        _maxLineBytes = maxLineBytes;
        _handler = handler;
        _log = log;
        _listener = new TcpListener(endpoint);
        ListenerBinding.AllowRebind(_listener.Server);
        try { _listener.Start(512); }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && endpoint.Port != 0)
        {
            _listener.Dispose();
            throw ListenerBinding.InUse(name, "tcp", endpoint, e);
        }
        LocalEndPoint = (IPEndPoint)_listener.LocalEndpoint;
    }

    public IPEndPoint LocalEndPoint { get; }
    public long Connections => Interlocked.Read(ref _connections);

    public TcpListenerStats Stats => new(_name, LocalEndPoint.ToString(), _limits.MaxConnections, Interlocked.Read(ref _connections), Volatile.Read(ref _open),
        Interlocked.Read(ref _refused), Interlocked.Read(ref _idleClosed), Interlocked.Read(ref _acceptErrors));

    public void Start() => _acceptLoop = AcceptLoop();

    private async Task AcceptLoop()
    {
        var backoff = TimeSpan.Zero;
        while (!_cts.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptSocketAsync(_cts.Token); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                // Out of descriptors the pending connection stays in the backlog and accept fails again at once: back off
                // (10 ms doubling to 1 s) instead of spinning, and log the first failure of every 10 s.
                Interlocked.Increment(ref _acceptErrors);
                if (_acceptErrorLog.ShouldLog(out var more))
                    _log.LogWarning("{Name} accept failed: {Error} ({More} more failures not logged)", _name, e.SocketErrorCode, more);
                backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(10) : TimeSpan.FromTicks(Math.Min(TimeSpan.TicksPerSecond, backoff.Ticks * 2));
                try { await Task.Delay(backoff, _time, _cts.Token); } catch (OperationCanceledException) { return; }
                continue;
            }
            backoff = TimeSpan.Zero;
            Interlocked.Increment(ref _connections);
            if (Interlocked.Increment(ref _open) > _limits.MaxConnections)
            {
                Interlocked.Decrement(ref _open);
                Refuse(client);
                continue;
            }
            _ = Task.Run(async () =>
            {
                try { await Serve(client); }
                catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException) { client.Dispose(); } // reset before it was served
                finally { Interlocked.Decrement(ref _open); }
            });
        }
    }

    /// <summary>Over the cap: reset at once (linger 0 sends RST, so the descriptor is free again without TIME_WAIT).</summary>
    private void Refuse(Socket client)
    {
        Interlocked.Increment(ref _refused);
        try { client.LingerState = new LingerOption(true, 0); } catch (SocketException) { }
        client.Dispose();
        if (_refusedLog.ShouldLog(out var more))
            _log.LogWarning("{Name}: {Max} connections open, refusing more ({More} more refused and not logged)", _name, _limits.MaxConnections, more);
    }

    private async Task Serve(Socket client)
    {
        using var _ = client;
        var from = client.RemoteEndPoint as IPEndPoint ?? new IPEndPoint(IPAddress.None, 0);
        await using var stream = new NetworkStream(client, ownsSocket: false);
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024));
        // One timer per connection, re-armed before each read: a client silent for the idle timeout is closed.
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
        var idleTimeout = _limits.IdleTimeout > TimeSpan.Zero ? _limits.IdleTimeout : Timeout.InfiniteTimeSpan;
        using var idleTimer = _time.CreateTimer(static s => { try { ((CancellationTokenSource)s!).Cancel(); } catch (ObjectDisposedException) { } }, idle, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        try
        {
            var skipping = false; // inside an overlong line, up to its newline
            while (true)
            {
                idleTimer.Change(idleTimeout, Timeout.InfiniteTimeSpan);
                var result = await reader.ReadAsync(idle.Token);
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
                    Handle(complete, from);
                    buffer = buffer.Slice(complete.End);
                }
                if (!skipping && buffer.Length > _maxLineBytes)
                {
                    // No newline within the limit: hand over the start as one (bad) line and skip the rest of it.
                    Handle(buffer.Slice(0, _maxLineBytes + 1), from);
                    buffer = buffer.Slice(buffer.End);
                    skipping = true;
                }
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty && !skipping) Handle(buffer, from); // last line without a trailing newline
                    reader.AdvanceTo(buffer.End);
                    break;
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException) { if (!_cts.IsCancellationRequested) Interlocked.Increment(ref _idleClosed); }
        catch (IOException) { }
        catch (SocketException) { }
        catch (Exception e) { _log.LogError(e, "{Name} connection failed", _name); }
        finally { await reader.CompleteAsync(); }
    }

    /// <summary>The handler must not throw; if it ever does, that chunk is lost but the connection and the lines after it are kept.</summary>
    private void Handle(ReadOnlySequence<byte> lines, IPEndPoint from)
    {
        try { _handler(lines, from); }
        catch (Exception e)
        {
            if (_handlerErrorLog.ShouldLog(out var more)) _log.LogError(e, "{Name} line handler failed ({More} more failures not logged)", _name, more);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        _listener.Stop();
        if (_acceptLoop != null) { try { await _acceptLoop; } catch { } }
    }
}

/// <summary>Bounds of one TCP listener: connections open at once, and how long one may send nothing (zero = no limit).</summary>
internal readonly record struct TcpLimits(int MaxConnections, TimeSpan IdleTimeout)
{
    public static TcpLimits Of(int maxConnections, int idleTimeoutMs) => new(maxConnections, TimeSpan.FromMilliseconds(idleTimeoutMs));
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
