namespace Observe.Collector.Statsd;

/// <summary>
/// Parses StatsD packets and aggregates them per flush with Etsy statsd 0.9.0's semantics.
/// HandlePacket is called concurrently from every listener thread; Flush from the flush scheduler.
/// (Contract placeholder: the implementation lands with the StatsD aggregation work.)
/// </summary>
internal sealed class StatsdAggregator
{
    private readonly StatsdOptions _options;
    private readonly IStatsdEventSink? _events;

    public StatsdAggregator(StatsdOptions options, IStatsdEventSink? events = null)
    {
        _options = options;
        _events = events;
    }

    /// <summary>Totals since start, for /stats and /metrics.</summary>
    public StatsdTotals Totals => new(0, 0, 0, 0, 0, 0);

    public void HandlePacket(ReadOnlySpan<byte> packet) => throw new NotImplementedException();

    /// <summary>Produces one flush with Etsy's output names, including its internal statsd metrics.</summary>
    public MetricBatch Flush(long timestampMs) => throw new NotImplementedException();
}

/// <summary>Running totals of the StatsD ingest path.</summary>
internal readonly record struct StatsdTotals(
    long PacketsReceived, long MetricsReceived, long BadLinesSeen, long KeysDroppedByLimit,
    long EventsReceived, int ActiveKeys);
