using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Observe.Collector.Listeners;
using Observe.Collector.Statsd;

namespace Observe.Collector.Pipeline;

/// <summary>Starts the listeners, the flush scheduler and the sink fan-out; stops them in reverse.</summary>
internal sealed class CollectorService : IHostedService, IAsyncDisposable
{
    private readonly CollectorOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<IFlushMetricSource> _flushSources;
    private readonly StatsdEventPolicy _eventPolicy;

    public StatsdAggregator Aggregator { get; }
    public SinkFanout Fanout { get; }
    public FlushScheduler? Scheduler { get; private set; }
    public UdpStatsdListener? Udp { get; private set; }
    public LineStreamListener? StatsdTcp { get; private set; }
    public LineStreamListener? GraphiteTcp { get; private set; }
    public PlaintextBatcher? Plaintext { get; private set; }
    public PickleListener? Pickle { get; private set; }

    public CollectorService(CollectorOptions options, IEnumerable<IMetricSink> sinks, IStatsdEventSink? events,
        ILoggerFactory loggers, TimeProvider time, IEnumerable<IFlushMetricSource>? flushSources = null, IMemoryPressure? pressure = null)
    {
        _flushSources = flushSources?.ToList() ?? [];
        _options = options;
        _log = loggers.CreateLogger("Observe.Collector");
        _time = time;
        Aggregator = new StatsdAggregator(options.Statsd, events) { Pressure = pressure };
        _eventPolicy = new StatsdEventPolicy(options.Statsd.Events);
        Fanout = new SinkFanout(sinks, queueCapacity: 8640, _log, time); // a day of 10 s flushes per sink
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var s = _options.Statsd;
        if (s.Enabled)
        {
            var ep = new IPEndPoint(IPAddress.Parse(s.Address), s.Port);
            Udp = new UdpStatsdListener(ep, s.UdpSockets, s.ReceiveBufferBytes,
                [MethodImpl(MethodImplOptions.AggressiveOptimization)] (packet, from) => Aggregator.HandlePacket(packet, new PacketSource(_eventPolicy, false, from, null)), _log);
            Udp.Start();
            if (s.Tcp)
            {
                StatsdTcp = new LineStreamListener("statsd-tcp", new IPEndPoint(ep.Address, Udp.LocalEndPoint.Port), s.MaxLineBytes, HandleStatsdChunk, _log,
                    TcpLimits.Of(s.TcpMaxConnections, s.TcpIdleTimeoutMs), _time);
                StatsdTcp.Start();
            }
            Scheduler = new FlushScheduler(Aggregator, Fanout, s.FlushInterval, _time, _log, _flushSources);
            Scheduler.Start();
            _log.LogInformation("statsd listening on udp {Udp} ({Sockets} sockets, rcvbuf {Buf} B){Tcp}, flush every {Interval} ms",
                Udp.LocalEndPoint, Udp.SocketCount, Udp.EffectiveReceiveBufferBytes, StatsdTcp != null ? " and tcp" : "", s.FlushInterval);
        }
        var g = _options.Graphite;
        if (g.Enabled)
        {
            Plaintext = new PlaintextBatcher(Fanout, _time, g);
            GraphiteTcp = new LineStreamListener("graphite", new IPEndPoint(IPAddress.Parse(g.Address), g.Port), g.MaxLineBytes, (chunk, _) => Plaintext.HandleChunk(chunk), _log,
                TcpLimits.Of(g.MaxConnections, g.IdleTimeoutMs), _time);
            GraphiteTcp.Start();
            _log.LogInformation("graphite plaintext listening on tcp {Endpoint}", GraphiteTcp.LocalEndPoint);
        }
        if (g.Enabled && g.Pickle.Enabled) // collector.graphite.enabled: false turns off both protocols
        {
            Pickle = new PickleListener(new IPEndPoint(IPAddress.Parse(g.Pickle.Address), g.Pickle.Port), g.Pickle, Plaintext!.Accept, _log, _time);
            Pickle.Start();
            _log.LogInformation("graphite pickle listening on tcp {Endpoint}", Pickle.LocalEndPoint);
        }
        return Task.CompletedTask;
    }

    private void HandleStatsdChunk(System.Buffers.ReadOnlySequence<byte> chunk, IPEndPoint from)
    {
        var source = new PacketSource(_eventPolicy, true, null, from.Address);
        if (chunk.IsSingleSegment) { Aggregator.HandlePacket(chunk.FirstSpan, source); return; }
        // A chunk is what one socket read completed: bounded by the pipe's buffer, so copying it is cheap.
        var length = (int)chunk.Length;
        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        try
        {
            System.Buffers.BuffersExtensions.CopyTo(chunk, rented.AsSpan());
            Aggregator.HandlePacket(rented.AsSpan(0, length), source);
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(rented); }
    }

    /// <summary>The longest a stop waits for the end of the flush interval (systemd's TimeoutStopSec is 30 s in deploy/observe.service).</summary>
    internal static readonly TimeSpan MaxStopWait = TimeSpan.FromSeconds(20);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // The host's token cancelled (its shutdown timeout, or a start that failed) means stop now: no wait for the boundary.
        var boundary = _options.Statsd.FlushOnStop == FlushOnStop.Boundary && !cancellationToken.IsCancellationRequested;
        if (Scheduler != null) await Scheduler.StopAsync(boundary, MaxStopWait, CloseListenersAsync);
        else await CloseListenersAsync();
        if (Plaintext != null) await Plaintext.DisposeAsync();
        using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        drain.CancelAfter(TimeSpan.FromSeconds(10));
        try { await Fanout.DrainAsync(drain.Token); }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _log.LogWarning("sinks not drained: the stop was cut short");
            Fanout.Abort();
        }
        catch (OperationCanceledException) { _log.LogWarning("sinks did not drain within 10 s at shutdown"); }
    }

    private async Task CloseListenersAsync()
    {
        Udp?.Dispose();
        if (StatsdTcp != null) await StatsdTcp.DisposeAsync();
        if (GraphiteTcp != null) await GraphiteTcp.DisposeAsync();
        if (Pickle != null) await Pickle.DisposeAsync();
    }

    public async ValueTask DisposeAsync() => await Fanout.DisposeAsync();

    public CollectorStats Snapshot()
    {
        var t = Aggregator.Totals;
        return new CollectorStats(
            new StatsdIngestStats(
                Udp?.LocalEndPoint.ToString(), Udp?.SocketCount ?? 0, Udp?.EffectiveReceiveBufferBytes ?? 0,
                Udp != null ? UdpDropCounter.Read(Udp.LocalEndPoint.Port) : 0,
                t.PacketsReceived, t.MetricsReceived, t.BadLinesSeen, t.KeysDroppedByLimit, t.EventsReceived, t.ActiveKeys,
                StatsdTcp?.Connections ?? 0, t.TagLimitDrops, t.EventsRefused),
            new GraphiteIngestStats(GraphiteTcp?.LocalEndPoint.ToString(), Plaintext?.LinesReceived ?? 0, Plaintext?.BadLines ?? 0, GraphiteTcp?.Connections ?? 0,
                Plaintext?.TagLimitDrops ?? 0),
            new FlushStats(_options.Statsd.FlushInterval, Scheduler?.Flushes ?? 0, Scheduler?.LastFlushUnixMs ?? 0,
                Scheduler?.LastFlushSeconds ?? 0, Scheduler?.LastFlushPoints ?? 0)
            { LastPhases = Scheduler?.LastPhases },
            Fanout.Stats,
            new TcpStreamListener?[] { StatsdTcp, GraphiteTcp, Pickle }.OfType<TcpStreamListener>().Select(l => l.Stats).ToList(),
            Pickle == null ? null : new PickleIngestStats(Pickle.LocalEndPoint.ToString(), Pickle.FramesReceived, Pickle.PointsReceived,
                Pickle.BadPoints, Pickle.Rejected));
    }
}

