using Observe.Collector;
using Observe.Common;

namespace Observe.Host;

/// <summary>
/// Observe's own health as Graphite series (<c>observe.*</c>), added to every StatsD flush so they reach the embedded store
/// (and every other sink) like any metric and the "Observe itself" dashboard can graph them through /render. The series are
/// generated from the stages' stat lists (<see cref="ObserveStats"/>), as /metrics and /stats are.
/// Counters are written as per-second rates over the interval since the previous flush (<c>…_per_second</c>), so an
/// average rollup stays right; levels (queues, series, spool depth, durations) as their value at the flush.
/// Every input is optional: a stage that is switched off simply has no series.
/// </summary>
internal sealed class SelfMetrics(Func<IReadOnlyList<StatSource>> sources, int flushIntervalMs)
    : IFlushMetricSource
{
    private readonly Dictionary<string, double> _lastTotals = new(StringComparer.Ordinal);
    private long? _lastTimestamp;

    public void AddPoints(long timestamp, ICollection<MetricPoint> points)
    {
        // Seconds since the previous flush: the rates' denominator (the first flush uses the configured interval).
        var elapsed = _lastTimestamp is { } last && timestamp > last ? timestamp - last : Math.Max(1, flushIntervalMs / 1000.0);
        _lastTimestamp = timestamp;
        void Gauge(string name, double value) => points.Add(new MetricPoint("observe." + name, value, timestamp));
        void Rate(string name, double total)
        {
            var previous = _lastTotals.GetValueOrDefault(name);
            _lastTotals[name] = total;
            // A total that went down belongs to something restarted (a reloaded integration): count from zero again.
            var delta = total >= previous ? total - previous : total;
            points.Add(new MetricPoint("observe." + name + "_per_second", delta / elapsed, timestamp));
        }

        foreach (var source in sources())
        {
            if (source.Read() is not { } values) continue;
            // A labelled stat whose series has no place for its labels is the sum over them, as is its total series; both
            // exist (zero) whenever its stage does, so a dashboard's panel has a series on a quiet system.
            var series = new Dictionary<string, (StatKind Kind, double Value)>(StringComparer.Ordinal);
            foreach (var d in source.Descriptors)
            {
                if (d.Labels is { } l && !l.Any(label => d.Series.Contains('{' + label + '}', StringComparison.Ordinal))) series[d.Series] = (d.Kind, 0);
                if (d.TotalSeries is { } total) series[total] = (d.Kind, 0);
            }
            foreach (var (d, v) in values)
            {
                var name = SeriesName(d, v.Labels);
                series[name] = (d.Kind, series.GetValueOrDefault(name).Value + v.Value);
                if (d.TotalSeries is { } total) series[total] = (d.Kind, series[total].Value + v.Value);
            }
            foreach (var (name, (kind, value)) in series)
                if (kind == StatKind.Counter) Rate(name, value);
                else Gauge(name, value);
        }
    }

    /// <summary>The series of one value: the descriptor's name with each <c>{label}</c> replaced by that label's value as one node.</summary>
    internal static string SeriesName(IStatDescriptor d, IReadOnlyList<string>? values)
    {
        var name = d.Series;
        if (d.Labels is { } labels && values != null)
            for (var i = 0; i < labels.Count && i < values.Count; i++)
                name = name.Replace('{' + labels[i] + '}', Node(values[i]), StringComparison.Ordinal);
        return name;
    }

    /// <summary>A name as one Graphite node: anything but letters, digits, '-' and '_' becomes '_'.</summary>
    internal static string Node(string name)
    {
        var chars = name.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' ? ch : '_').ToArray();
        return chars.Length == 0 ? "_" : new string(chars);
    }
}
