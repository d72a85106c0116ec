using System.Diagnostics;

namespace Observe.Collector.Pipeline;

/// <summary>
/// One StatsD flush on its way through the sinks (issue 21: where a slow flush goes): the collector's own phases, then each
/// sink's wait in its queue and its write; <see cref="FlushScheduler"/> is told once the last sink wrote it. One object per
/// flush, nothing per point.
/// </summary>
internal sealed class FlushTrace
{
    private readonly Action<FlushTrace> _delivered;
    private readonly (TimeSpan Queued, TimeSpan Write, string? Detail)[] _sinks;
    private readonly TimeSpan _slow;
    private int _pending;

    /// <param name="slow">past this (from the start) a sink is asked for its own account of the write</param>
    public FlushTrace(long stampMs, int sinks, TimeSpan slow, Action<FlushTrace> delivered)
    {
        _slow = slow;
        StampMs = stampMs;
        _sinks = new (TimeSpan, TimeSpan, string?)[sinks];
        _pending = sinks;
        _delivered = delivered;
        Start = Stopwatch.GetTimestamp();
        Gen2AtStart = GC.CollectionCount(2);
        PauseAtStart = GC.GetTotalPauseDuration();
        GcAtStart = GcCensus.Instance.Snapshot();
    }

    public long StampMs { get; }
    /// <summary>Stopwatch ticks when the flush began (on its boundary).</summary>
    public long Start { get; }
    public int Gen2AtStart { get; }
    public TimeSpan PauseAtStart { get; }
    /// <summary>Collections by kind and reason when the flush began (the slow-flush line tells which ran during it).</summary>
    public GcCensus.Counts GcAtStart { get; }
    public long Points { get; set; }
    public TimeSpan Snapshot { get; set; }
    public TimeSpan Build { get; set; }
    public TimeSpan Sources { get; set; }
    public TimeSpan Publish { get; set; }

    /// <summary>Each sink's (wait in its queue, write, what it said of the write), in the fan-out's order; complete once delivered.</summary>
    public ReadOnlySpan<(TimeSpan Queued, TimeSpan Write, string? Detail)> Sinks => _sinks;

    /// <summary>Sink <paramref name="index"/> wrote the batch (on its worker). Its own account of the write is asked only when the
    /// flush is already slow, so a quick flush costs no string.</summary>
    public void SinkWritten(int index, TimeSpan queued, TimeSpan write, IMetricSink sink)
    {
        var detail = Stopwatch.GetElapsedTime(Start) > _slow ? sink.DescribeLastWrite() : null;
        _sinks[index] = (queued, write, detail);
        if (Interlocked.Decrement(ref _pending) == 0) _delivered(this);
    }
}
