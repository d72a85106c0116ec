using Observe.Collector.Listeners;

namespace Observe.Collector.Pipeline;

/// <summary>
/// Etsy statsd writes DogStatsD tags in the order the client sent them (<c>x;env=prod;dc=ams</c>);
/// carbon and Observe's store name a tagged series by its tags sorted (<c>x;dc=ams;env=prod</c>), so
/// that one series does not split into several by tag order. The aggregator and the carbon wire stay Etsy-exact;
/// <see cref="SinkFanout"/> puts names into canonical form here for every other sink (the store, Prometheus, InfluxDB).
/// Results are cached: the same names recur every flush. Not thread-safe: the caller locks.
/// </summary>
internal sealed class TaggedPathCanonicaliser
{
    private const int MaxCached = 200_000;
    private readonly Dictionary<string, string> _cache = new(StringComparer.Ordinal);

    public MetricBatch Canonicalise(MetricBatch batch)
    {
        List<MetricPoint>? rewritten = null;
        var points = batch.Points;
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            if (!p.Path.Contains(';')) { rewritten?.Add(p); continue; }
            var canonical = Lookup(p.Path);
            if (rewritten == null)
            {
                if (ReferenceEquals(canonical, p.Path)) continue;
                rewritten = new List<MetricPoint>(points.Count);
                for (var j = 0; j < i; j++) rewritten.Add(points[j]);
            }
            rewritten.Add(p with { Path = canonical });
        }
        return rewritten == null ? batch : batch with { Points = rewritten };
    }

    private string Lookup(string path)
    {
        if (_cache.TryGetValue(path, out var c)) return c;
        // A name that cannot be parsed as tags (e.g. `a;b`) is passed on as it is.
        c = GraphitePlaintextParser.NormaliseTagged(path) ?? path;
        if (c == path) c = path; // keep the same reference so unchanged batches are not copied
        if (_cache.Count >= MaxCached) _cache.Clear();
        _cache[path] = c;
        return c;
    }
}
