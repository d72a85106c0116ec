using System.Buffers;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Observe.Collector.Listeners;
using Observe.Collector.Pipeline;

namespace Observe.Collector.Logs;

/// <summary>Starts the log listeners (UDP JSON, GELF UDP and TCP) in front of the <see cref="LogPipeline"/>; stops them in reverse.</summary>
internal sealed class LogIngestService : IHostedService, IAsyncDisposable
{
    private readonly LogsOptions _options;
    private readonly ILogger _log;
    private readonly GelfDecoder _gelfUdp, _gelfTcp;
    private readonly TimeProvider _time;

    public LogPipeline Pipeline { get; }
    public LogsOptions Options => _options;
    public UdpStatsdListener? Udp { get; private set; }
    public UdpStatsdListener? GelfUdp { get; private set; }
    public LineStreamListener? GelfTcp { get; private set; }

    public LogIngestService(LogsOptions options, IEnumerable<ILogSink> sinks, SinkFanout? metrics, int flushIntervalMs, ILoggerFactory loggers, TimeProvider time,
        LogMetricRules? rules = null)
    {
        _options = options;
        _log = loggers.CreateLogger("Observe.Logs");
        _time = time;
        Pipeline = new LogPipeline(options, sinks, metrics, flushIntervalMs, time, _log, rules);
        var g = options.Gelf;
        // One decoder per transport: each hands its payload to the pipeline tagged with where it came from.
        _gelfUdp = new GelfDecoder(options.MaxMessageBytes, g.ChunkTimeoutMs, g.MaxPendingMessages, time,
            json => Pipeline.HandleJson(json, 1, out _), Pipeline.Reject);
        _gelfTcp = new GelfDecoder(options.MaxMessageBytes, g.ChunkTimeoutMs, g.MaxPendingMessages, time,
            json => Pipeline.HandleJson(json, 2, out _), Pipeline.Reject);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled) return Task.CompletedTask;
        var u = _options.Udp;
        if (u.Enabled)
        {
            Udp = new UdpStatsdListener(new IPEndPoint(IPAddress.Parse(u.Address), u.Port), 1, u.ReceiveBufferBytes,
                (packet, sender) => Pipeline.HandleJson(TrimLine(packet), 0, out _), _log, "logs-json");
            Udp.Start();
            _log.LogInformation("JSON logs listening on udp {Endpoint}", Udp.LocalEndPoint);
        }
        var g = _options.Gelf;
        if (g.Enabled)
        {
            // UDP and TCP share the port. With port 0 the UDP socket picks it, and the TCP port of the same number may be
            // taken by someone else: then pick again (a fixed port that is taken is an error, as for every listener).
            for (var attempt = 1; ; attempt++)
            {
                GelfUdp = new UdpStatsdListener(new IPEndPoint(IPAddress.Parse(g.Address), g.Port), 1, g.ReceiveBufferBytes, (datagram, _) => _gelfUdp.HandleDatagram(datagram), _log, "gelf");
                if (!g.Tcp) break;
                try
                {
                    GelfTcp = new LineStreamListener("gelf-tcp", new IPEndPoint(GelfUdp.LocalEndPoint.Address, GelfUdp.LocalEndPoint.Port),
                        _options.MaxMessageBytes, HandleGelfTcp, _log, TcpLimits.Of(g.TcpMaxConnections, g.TcpIdleTimeoutMs), _time, delimiter: 0);
                    break;
                }
                catch (ListenerBindException) when (g.Port == 0 && attempt < 20)
                {
                    GelfUdp.Dispose();
                }
            }
            GelfUdp.Start();
            GelfTcp?.Start();
            _log.LogInformation("GELF listening on udp {Endpoint}{Tcp}", GelfUdp.LocalEndPoint, GelfTcp != null ? " and tcp" : "");
        }
        return Task.CompletedTask;
    }

    /// <summary>A UDP JSON line may end in a newline (as <c>echo | nc -u</c> sends it).</summary>
    private static ReadOnlySpan<byte> TrimLine(ReadOnlySpan<byte> packet) => packet.TrimEnd("\r\n "u8);

    /// <summary>GELF over TCP: messages separated by NUL bytes, uncompressed.</summary>
    private void HandleGelfTcp(ReadOnlySequence<byte> chunk, IPEndPoint from)
    {
        var reader = new SequenceReader<byte>(chunk);
        while (!reader.End)
        {
            if (!reader.TryReadTo(out ReadOnlySequence<byte> message, 0))
            {
                message = reader.UnreadSequence;
                reader.AdvanceToEnd();
            }
            if (message.IsEmpty) continue;
            if (message.IsSingleSegment) _gelfTcp.HandleDatagram(message.FirstSpan);
            else _gelfTcp.HandleDatagram(message.ToArray());
        }
    }

    public string? GelfEndpoint => GelfUdp?.LocalEndPoint.ToString();

    public LogIngestStats Snapshot() =>
        Pipeline.Stats(Udp?.LocalEndPoint.ToString(), GelfEndpoint, _gelfUdp.PendingMessages) with { GelfTcp = GelfTcp?.Stats };

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Udp?.Dispose();
        GelfUdp?.Dispose();
        if (GelfTcp != null) await GelfTcp.DisposeAsync();
        try { await Pipeline.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token); }
        catch (OperationCanceledException) { _log.LogWarning("log sinks did not drain within 10 s at shutdown"); }
    }

    public async ValueTask DisposeAsync()
    {
        _gelfUdp.Dispose();
        _gelfTcp.Dispose();
        await Pipeline.DisposeAsync();
    }
}
