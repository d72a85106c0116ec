namespace Observe.Collector;

/// <summary>
/// One flushed data point. <see cref="Path"/> is a Graphite path; a tagged series carries its tags as
/// <c>name;k1=v1;k2=v2</c>. A StatsD flush keeps the client's tag order (as Etsy statsd writes it on the carbon
/// wire); a sink that does not set <see cref="IMetricSink.KeepsClientTagOrder"/> gets the tags sorted by key
/// (Graphite's canonical form, as carbon stores them).
/// </summary>
public readonly record struct MetricPoint(string Path, double Value, long Timestamp);

/// <summary>One flush: every point produced by one aggregation interval (or one batch of plaintext input).</summary>
public sealed record MetricBatch(long Timestamp, IReadOnlyList<MetricPoint> Points);

/// <summary>
/// Receives flushed metrics. A batch counts as acknowledged once <see cref="WriteAsync"/> has
/// completed without throwing; a sink must not lose an acknowledged batch.
/// </summary>
public interface IMetricSink
{
    string Name { get; }
    ValueTask WriteAsync(MetricBatch batch, CancellationToken cancellationToken);

    /// <summary>
    /// True for a sink that forwards names on the carbon wire as Etsy statsd does (<c>x;tag1=a;tag3=c;tag2=b</c>, the
    /// client's order). Every other sink gets tagged names in canonical form, so one series is not split by tag order.
    /// </summary>
    bool KeepsClientTagOrder => false;

    /// <summary>
    /// Where the last <see cref="WriteAsync"/> went, by phase, in a few words (the embedded store: lock wait, name lookup, series
    /// creation, encode, insert, commit, head append); null for a sink that does not say. Asked on the sink's worker right after
    /// a write, only for a slow flush's log line.
    /// </summary>
    string? DescribeLastWrite() => null;
}

/// <summary>
/// Adds points to every StatsD flush (the host's self-metrics), so they travel with it through every sink's queue.
/// Called on the flush thread after aggregation: keep it quick; an exception is logged and the flush goes on without them.
/// </summary>
public interface IFlushMetricSource
{
    /// <param name="timestamp">The flush's timestamp (Unix seconds), to stamp the points with.</param>
    void AddPoints(long timestamp, ICollection<MetricPoint> points);
}

/// <summary>A DogStatsD event (<c>_e{…}</c>); becomes a Graphite event.</summary>
public sealed record StatsdEvent(
    string Title, string Text, long? Timestamp, string? Hostname, string? AggregationKey,
    string Priority, string? SourceType, string AlertType, IReadOnlyList<string> Tags);

/// <summary>A DogStatsD service check (<c>_sc|…</c>); becomes a passive check result.</summary>
public sealed record StatsdServiceCheck(
    string Name, int Status, long? Timestamp, string? Hostname, string? Message, IReadOnlyList<string> Tags);

/// <summary>Receives DogStatsD events and service checks as they are parsed (not per flush).</summary>
public interface IStatsdEventSink
{
    void OnEvent(StatsdEvent statsdEvent);
    void OnServiceCheck(StatsdServiceCheck serviceCheck);
}
