using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Observe.Common;

namespace Observe.Collector.Listeners;

/// <summary>
/// What every TCP listener shares (StatsD over TCP, Graphite plaintext and pickle, GELF): at most
/// <see cref="TcpLimits.MaxConnections"/> connections (fitted to the descriptor limit: <see cref="DescriptorBudget"/>)
/// are open at once: one more is accepted and reset at once (counted), so idle clients cannot use up the process's file
/// descriptors; a connection that sends nothing for <see cref="TcpLimits.IdleTimeout"/> is closed (counted). Accept
/// failures (EMFILE …) back off and are logged at most once per 10 s with the number left out. Each connection is read
/// through a pipe; the subclass frames it (<see cref="ServeAsync"/>).
/// </summary>
internal abstract class TcpStreamListener : IAsyncDisposable
{
    private readonly TcpListener _listener;
    protected readonly ILogger Log;
    protected readonly string Name;
    private readonly CancellationTokenSource _cts = new();
    private readonly TcpLimits _limits;
    private readonly TimeProvider _time;
    private readonly LogRateLimit _acceptErrorLog, _refusedLog;
    private Task? _acceptLoop;
    private long _connections, _refused, _idleClosed, _acceptErrors;
    private int _open;

    protected TcpStreamListener(string name, IPEndPoint endpoint, ILogger log, TcpLimits limits, TimeProvider? time)
    {
        Name = name;
        _limits = limits with { MaxConnections = DescriptorBudget.Fit(limits.MaxConnections, name, log) };
        _time = time ?? TimeProvider.System;
        _acceptErrorLog = new LogRateLimit(1, TimeSpan.FromSeconds(10), _time);
        _refusedLog = new LogRateLimit(1, TimeSpan.FromSeconds(10), _time);
        Log = log;
        _listener = new TcpListener(endpoint);
        ListenerBinding.AllowRebind(_listener.Server);
        try { ListenerBindException.Bind(name, "tcp", endpoint, () => _listener.Start(512)); }
        catch { _listener.Server.Dispose(); throw; }
        LocalEndPoint = (IPEndPoint)_listener.LocalEndpoint;
    }

    public IPEndPoint LocalEndPoint { get; }
    public long Connections => Interlocked.Read(ref _connections);

    public TcpListenerStats Stats => new(Name, LocalEndPoint.ToString(), _limits.MaxConnections, Interlocked.Read(ref _connections), Volatile.Read(ref _open),
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
                if (_acceptErrorLog.TryLog(out var more))
                    Log.LogWarning("{Name} accept failed: {Error} ({More} more failures not logged)", Name, e.SocketErrorCode, more);
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
        if (_refusedLog.TryLog(out var more))
            Log.LogWarning("{Name}: {Max} connections open, refusing more ({More} more refused and not logged)", Name, _limits.MaxConnections, more);
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
        try { await ServeAsync(new TcpConnection(reader, idleTimer, idleTimeout, idle.Token), from); }
        catch (OperationCanceledException) { if (!_cts.IsCancellationRequested) Interlocked.Increment(ref _idleClosed); }
        catch (IOException) { }
        catch (SocketException) { }
        catch (Exception e) { Log.LogError(e, "{Name} connection failed", Name); }
        finally { await reader.CompleteAsync(); }
    }

    /// <summary>Reads one connection to its end (returning closes it); reads go through <see cref="TcpConnection.ReadAsync"/>.</summary>
    protected abstract Task ServeAsync(TcpConnection connection, IPEndPoint from);

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        _listener.Stop();
        if (_acceptLoop != null) { try { await _acceptLoop; } catch { } }
    }
}

/// <summary>One open connection: its pipe, read with the idle timeout re-armed before each read.</summary>
internal sealed class TcpConnection(PipeReader reader, ITimer idleTimer, TimeSpan idleTimeout, CancellationToken token)
{
    public PipeReader Reader => reader;

    public ValueTask<ReadResult> ReadAsync()
    {
        idleTimer.Change(idleTimeout, Timeout.InfiniteTimeSpan);
        return reader.ReadAsync(token);
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
