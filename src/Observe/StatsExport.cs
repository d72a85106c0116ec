using Observe.Common;
using Prometheus;

namespace Observe.Host;

/// <summary>
/// /metrics and /stats <c>metrics</c> generated from the stages' stat lists (<see cref="ObserveStats"/>); the third output,
/// the <c>observe.*</c> series, is <see cref="SelfMetrics"/>. Read at scrape time: nothing on the hot paths.
/// </summary>
internal static class StatsExport
{
    /// <summary>
    /// A total is a Prometheus counter (so rate() sees a restart as a reset). One older family,
    /// <c>observe_statsd_kernel_udp_drops</c>, is a total without the <c>_total</c> suffix: it stays a gauge, because an
    /// OpenMetrics scrape would rename a counter to <c>…_total</c> and break the dashboards that graph it.
    /// </summary>
    public static bool IsPrometheusCounter(IStatDescriptor d) => d.Kind != StatKind.Gauge && d.Family.EndsWith("_total", StringComparison.Ordinal);

    /// <summary>Registers every family of <paramref name="sources"/> on <paramref name="registry"/>, set from them at each scrape.</summary>
    public static void ToPrometheus(IReadOnlyList<StatSource> sources, CollectorRegistry registry)
    {
        var f = Metrics.WithCustomRegistry(registry);
        // A family can be in two lists (the TCP listeners of the collector and of the log ingest): created once.
        var families = new Dictionary<string, Prometheus.Collector>(StringComparer.Ordinal);
        foreach (var d in sources.SelectMany(s => s.Descriptors))
            if (!families.ContainsKey(d.Family))
            {
                var labels = d.Labels?.ToArray() ?? [];
                families[d.Family] = IsPrometheusCounter(d) ? f.CreateCounter(d.Family, d.Help, labels) : f.CreateGauge(d.Family, d.Help, labels);
            }
        registry.AddBeforeCollectCallback(() =>
        {
            foreach (var source in sources)
                foreach (var (d, v) in source.Read() ?? [])
                    switch (families[d.Family])
                    {
                        case Counter c when v.Labels is { } labels:
                            var values = labels.ToArray();
                            // A total that went down belongs to something restarted (a reloaded sink): a fresh child, a reset to Prometheus.
                            if (c.WithLabels(values).Value > v.Value) c.RemoveLabelled(values);
                            c.WithLabels(values).IncTo(v.Value);
                            break;
                        case Counter c:
                            c.IncTo(v.Value);
                            break;
                        case Gauge g when v.Labels is { } labels:
                            g.WithLabels(labels.ToArray()).Set(v.Value);
                            break;
                        case Gauge g:
                            g.Set(v.Value);
                            break;
                    }
        });
    }

    /// <summary>/stats <c>metrics</c>: every family with its value now, or its values by label, one level per label
    /// (<c>{"ops": {"irc": 4}}</c> for receiver and integration).</summary>
    public static SortedDictionary<string, object> ToJson(IReadOnlyList<StatSource> sources)
    {
        var json = new SortedDictionary<string, object>(StringComparer.Ordinal);
        foreach (var source in sources)
            foreach (var (d, v) in source.Read() ?? [])
            {
                if (v.Labels is not { Count: > 0 } labels)
                {
                    json[d.Family] = v.Value;
                    continue;
                }
                var level = json;
                var key = d.Family;
                foreach (var label in labels)
                {
                    if (!(level.TryGetValue(key, out var o) && o is SortedDictionary<string, object> next))
                        level[key] = next = new SortedDictionary<string, object>(StringComparer.Ordinal);
                    (level, key) = (next, label);
                }
                level[key] = v.Value;
            }
        return json;
    }
}
