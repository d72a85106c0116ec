using System.Globalization;
using System.Text;
using Observe.Collector;

namespace Observe.Storage.Sinks.Prometheus;

/// <summary>
/// Keeps the latest value of every series the flushes carried and renders them in the Prometheus
/// text format (0.0.4) for <c>/metrics</c>. Every series is a <c>gauge</c> of its latest flushed
/// value: StatsD output is already aggregated per interval (a counter's rate and count, a timer's
/// mean and percentiles), so a Prometheus counter would misstate it. No timestamps are exposed:
/// Prometheus stamps each scrape, as with statsd_exporter. A series that no flush carried for
/// <c>staleAfterFlushes</c> intervals is removed.
/// </summary>
internal sealed class PrometheusExposition : IMetricSink, IAggregatedMetricsExposition
{
    private readonly PrometheusNameMapper _mapper;
    private readonly long _staleAfterSeconds;
    private readonly object _gate = new();
    private readonly Dictionary<string, Entry> _series = new(StringComparer.Ordinal);
    private long _newestBatch;
    private long _nameConflicts;

    private sealed class Entry(PrometheusSeries series)
    {
        public PrometheusSeries Series { get; } = series;
        public double Value;
        public long LastSeen;
    }

    public PrometheusExposition(PrometheusNameMapper mapper, int staleAfterFlushes, TimeSpan flushInterval)
    {
        _mapper = mapper;
        _staleAfterSeconds = Math.Max(1, (long)Math.Ceiling(staleAfterFlushes * flushInterval.TotalSeconds));
    }

    public string Name => "prometheus-exposition";

    /// <summary>Series on /metrics now (after dropping stale ones at the last write).</summary>
    public int SeriesCount { get { lock (_gate) return _series.Count; } }

    /// <summary>Aggregated families left out because Observe's own metrics already use the name.</summary>
    public long NameConflicts => Interlocked.Read(ref _nameConflicts);

    public ValueTask WriteAsync(MetricBatch batch, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var p in batch.Points)
            {
                var s = _mapper.Map(p.Path);
                if (s == null) continue;
                if (!_series.TryGetValue(s.Key, out var e)) _series[s.Key] = e = new Entry(s);
                e.Value = p.Value;
                e.LastSeen = batch.Timestamp;
            }
            if (batch.Timestamp > _newestBatch) _newestBatch = batch.Timestamp;
            PruneStale();
        }
        return ValueTask.CompletedTask;
    }

    private void PruneStale()
    {
        List<string>? stale = null;
        foreach (var (key, e) in _series)
            if (_newestBatch - e.LastSeen >= _staleAfterSeconds) (stale ??= []).Add(key);
        if (stale != null) foreach (var k in stale) _series.Remove(k);
    }

    public async Task WriteAsync(Stream output, ISet<string> namesInUse, CancellationToken cancellationToken)
    {
        var text = Render(namesInUse);
        await output.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
    }

    /// <summary>The text exposition; families named in <paramref name="namesInUse"/> are skipped (a second TYPE line would fail the scrape).</summary>
    internal string Render(ISet<string>? namesInUse = null)
    {
        (PrometheusSeries Series, double Value)[] snapshot;
        lock (_gate) snapshot = _series.Values.Select(e => (e.Series, e.Value)).ToArray();
        // A family's samples must be consecutive: order by name, then by labels for a stable page.
        Array.Sort(snapshot, (a, b) =>
        {
            var c = string.CompareOrdinal(a.Series.Name, b.Series.Name);
            return c != 0 ? c : string.CompareOrdinal(a.Series.Key, b.Series.Key);
        });
        var sb = new StringBuilder(snapshot.Length * 64);
        string? family = null;
        var skipFamily = false;
        foreach (var (s, value) in snapshot)
        {
            if (s.Name != family)
            {
                family = s.Name;
                skipFamily = namesInUse != null && namesInUse.Contains(family);
                if (skipFamily) { Interlocked.Increment(ref _nameConflicts); continue; }
                sb.Append("# TYPE ").Append(family).Append(" gauge\n");
            }
            if (skipFamily) continue;
            sb.Append(s.Name);
            if (s.Labels.Length > 0)
            {
                sb.Append('{');
                for (var i = 0; i < s.Labels.Length; i++)
                {
                    if (i > 0) sb.Append(',');
                    sb.Append(s.Labels[i].Key).Append("=\"");
                    AppendEscaped(sb, s.Labels[i].Value);
                    sb.Append('"');
                }
                sb.Append('}');
            }
            sb.Append(' ').Append(FormatValue(value)).Append('\n');
        }
        return sb.ToString();
    }

    internal static string FormatValue(double v) =>
        double.IsNaN(v) ? "NaN" : double.IsPositiveInfinity(v) ? "+Inf" : double.IsNegativeInfinity(v) ? "-Inf" : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Label values escape backslash, double quote and line feed (text format 0.0.4).</summary>
    private static void AppendEscaped(StringBuilder sb, string v)
    {
        foreach (var c in v)
            switch (c)
            {
                case '\\': sb.Append(@"\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append(@"\n"); break;
                default: sb.Append(c); break;
            }
    }
}
