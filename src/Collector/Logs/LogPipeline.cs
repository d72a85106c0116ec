using Microsoft.Extensions.Logging;
using Observe.Collector.Pipeline;

namespace Observe.Collector.Logs;

/// <summary>
/// Where every accepted log event goes: into the current batch, which goes to every <see cref="ILogSink"/> (one queue and
/// worker each, as the metric sinks have) when it holds <see cref="LogsOptions.BatchMaxEvents"/> events or
/// <see cref="LogsOptions.BatchMaxDelayMs"/> after it started; and into a count per service and level that becomes the
/// counters <c>logs.&lt;service&gt;.&lt;level&gt;</c> on every flush interval boundary, through the metric sinks.
/// Thread-safe: every listener thread and HTTP request calls it at once.
/// </summary>
internal sealed class LogPipeline : IAsyncDisposable
{
    internal static readonly string[] Sources = ["udp", "gelf_udp", "gelf_tcp", "http"];

    private readonly LogsOptions _options;
    private readonly SinkFanout? _metrics;
    private readonly long _flushIntervalMs;
    private readonly TimeProvider _time;
    private readonly List<SinkWorker<IReadOnlyList<LogEvent>>> _sinks;
    private readonly Lock _lock = new();
    private List<LogEvent> _pending;
    private Dictionary<(string Service, string Level), long> _counts = new();
    // Every (service, level) seen since start: an idle one is flushed as 0, as Etsy statsd does with counters.
    private readonly HashSet<(string Service, string Level)> _known = new();
    private readonly HashSet<string> _services = new(StringComparer.Ordinal);
    private readonly ITimer _batchTimer, _metricTimer;
    private readonly long[] _accepted = new long[Sources.Length];
    private readonly long[] _rejected = new long[Enum.GetValues<LogRejectReason>().Length];
    private long _batches;
    private readonly LogMetricRules? _rules;

    /// <param name="rules">the <c>logs.metrics</c> rules, fed into the StatsD aggregator; null = none.</param>
    public LogPipeline(LogsOptions options, IEnumerable<ILogSink> sinks, SinkFanout? metrics, int flushIntervalMs, TimeProvider time, ILogger log,
        LogMetricRules? rules = null)
    {
        _rules = rules is { Any: true } ? rules : null;
        _options = options;
        _metrics = string.IsNullOrEmpty(options.MetricPrefix) ? null : metrics;
        _flushIntervalMs = flushIntervalMs;
        _time = time;
        _pending = new List<LogEvent>(options.BatchMaxEvents);
        // A day of full batches per sink at 1000 logs/s before the oldest is dropped (counted).
        _sinks = sinks.Select(s => new SinkWorker<IReadOnlyList<LogEvent>>(s.Name, s.WriteAsync, b => b.Count, 86_400, log, time)).ToList();
        var delay = TimeSpan.FromMilliseconds(options.BatchMaxDelayMs);
        _batchTimer = time.CreateTimer(_ => FlushBatch(), null, delay, delay);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var toBoundary = TimeSpan.FromMilliseconds(flushIntervalMs - now % flushIntervalMs);
        _metricTimer = time.CreateTimer(_ => FlushMetrics(), null, toBoundary, TimeSpan.FromMilliseconds(flushIntervalMs));
    }

    /// <summary>Parses one JSON object from <paramref name="source"/> (an index into <see cref="Sources"/>) and accepts or counts it.</summary>
    public bool HandleJson(ReadOnlySpan<byte> json, int source, out string? error)
    {
        if (json.Length > _options.MaxMessageBytes)
        {
            Reject(LogRejectReason.TooLarge);
            error = $"message of {json.Length} bytes is longer than logs.maxMessageBytes ({_options.MaxMessageBytes})";
            return false;
        }
        if (!LogJsonParser.TryParse(json, _time.GetUtcNow(), out var e, out var reason, out error))
        {
            Reject(reason);
            return false;
        }
        Accept(e!, source);
        return true;
    }

    public void Reject(LogRejectReason reason) => Interlocked.Increment(ref _rejected[(int)reason]);

    public void Accept(LogEvent e, int source)
    {
        Interlocked.Increment(ref _accepted[source]);
        _rules?.Apply(e);
        List<LogEvent>? full = null;
        lock (_lock)
        {
            _pending.Add(e);
            if (_pending.Count >= _options.BatchMaxEvents) { full = _pending; _pending = new List<LogEvent>(_options.BatchMaxEvents); }
            if (_metrics != null)
            {
                var key = (MetricService(e.Service), e.Level);
                _counts[key] = _counts.GetValueOrDefault(key) + 1;
            }
        }
        if (full != null) Publish(full);
    }

    private string MetricService(string? service)
    {
        var name = MetricNode(service);
        if (_services.Contains(name)) return name;
        if (_services.Count >= _options.MaxMetricServices) return "other";
        _services.Add(name);
        return name;
    }

    /// <summary>A service name as one Graphite path node: anything but letters, digits, <c>_</c> and <c>-</c> becomes <c>_</c>.</summary>
    internal static string MetricNode(string? service)
    {
        if (string.IsNullOrWhiteSpace(service)) return "unknown";
        var ok = true;
        foreach (var c in service) if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-')) { ok = false; break; }
        if (ok) return service;
        return string.Create(service.Length, service, (span, s) =>
        {
            for (var i = 0; i < s.Length; i++) span[i] = char.IsAsciiLetterOrDigit(s[i]) || s[i] is '_' or '-' ? s[i] : '_';
        });
    }

    internal void FlushBatch()
    {
        List<LogEvent> batch;
        lock (_lock)
        {
            if (_pending.Count == 0) return;
            batch = _pending;
            _pending = new List<LogEvent>(_options.BatchMaxEvents);
        }
        Publish(batch);
    }

    private void Publish(List<LogEvent> batch)
    {
        Interlocked.Increment(ref _batches);
        foreach (var s in _sinks) s.Enqueue(batch);
    }

    /// <summary>Sends the counts of the interval that just ended, stamped with its boundary (as a StatsD flush is).</summary>
    /// <param name="atStop">the interval is cut short: stamp it with its end, not with the boundary just passed.</param>
    internal void FlushMetrics(bool atStop = false)
    {
        if (_metrics == null) return;
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var boundary = (atStop ? (nowMs / _flushIntervalMs + 1) * _flushIntervalMs : (nowMs + _flushIntervalMs / 2) / _flushIntervalMs * _flushIntervalMs) / 1000;
        Dictionary<(string, string), long> counts;
        List<(string, string)> idle;
        lock (_lock)
        {
            counts = _counts;
            _counts = new Dictionary<(string, string), long>(counts.Count);
            foreach (var k in counts.Keys) _known.Add(k);
            idle = _known.Where(k => !counts.ContainsKey(k)).ToList();
        }
        if (counts.Count == 0 && idle.Count == 0) return;
        var prefix = _options.MetricPrefix;
        var points = new List<MetricPoint>(counts.Count + idle.Count);
        foreach (var ((service, level), n) in counts) points.Add(new MetricPoint($"{prefix}.{service}.{level}", n, boundary));
        foreach (var (service, level) in idle) points.Add(new MetricPoint($"{prefix}.{service}.{level}", 0, boundary));
        _metrics.Publish(new MetricBatch(boundary, points));
    }

    public LogIngestStats Stats(string? udpEndpoint, string? gelfEndpoint, int pendingGelfMessages)
    {
        var accepted = new Dictionary<string, long>();
        for (var i = 0; i < Sources.Length; i++) accepted[Sources[i]] = Interlocked.Read(ref _accepted[i]);
        var rejected = new Dictionary<string, long>();
        foreach (var r in Enum.GetValues<LogRejectReason>()) rejected[ReasonName(r)] = Interlocked.Read(ref _rejected[(int)r]);
        return new LogIngestStats(udpEndpoint, gelfEndpoint, accepted.Values.Sum(), accepted, rejected, pendingGelfMessages,
            Interlocked.Read(ref _batches), _sinks.Select(s => s.Stats).ToList(), RuleDrops: _rules?.Drops());
    }

    internal static string ReasonName(LogRejectReason r) => r switch
    {
        LogRejectReason.InvalidJson => "invalid_json",
        LogRejectReason.NotAnObject => "not_an_object",
        LogRejectReason.MissingMessage => "missing_message",
        LogRejectReason.TooLarge => "too_large",
        LogRejectReason.BadCompression => "bad_compression",
        LogRejectReason.BadChunk => "bad_chunk",
        LogRejectReason.ChunkTimeout => "chunk_timeout",
        LogRejectReason.ChunkOverflow => "chunk_overflow",
        LogRejectReason.InvalidUtf8 => "invalid_utf8",
        _ => r.ToString(),
    };

    /// <summary>Sends what is pending (logs and this interval's counts) and waits for the log sinks to write it.</summary>
    public async Task StopAsync(CancellationToken ct)
    {
        _batchTimer.Dispose();
        _metricTimer.Dispose();
        FlushBatch();
        FlushMetrics(atStop: true);
        foreach (var s in _sinks) await s.DrainAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        _batchTimer.Dispose();
        _metricTimer.Dispose();
        foreach (var s in _sinks) await s.DisposeAsync();
    }
}
