using Prometheus;

namespace Observe.Collector.Pipeline;

/// <summary>
/// The four per-sink gauges (written, failures, dropped, queued) that metric and log sinks both export, named
/// <c>observe_{prefix}_…</c>; set from <see cref="SinkStats"/> at scrape time.
/// </summary>
internal sealed class SinkStatsGauges(MetricFactory f, string prefix, string written, string writtenHelp, string what)
{
    private readonly Gauge _written = f.CreateGauge($"observe_{prefix}_{written}_written_total", writtenHelp, "sink");
    private readonly Gauge _failed = f.CreateGauge($"observe_{prefix}_write_failures_total", $"Failed writes per {what}", "sink");
    private readonly Gauge _dropped = f.CreateGauge($"observe_{prefix}_batches_dropped_total", $"Batches dropped per {what} (queue full)", "sink");
    private readonly Gauge _queued = f.CreateGauge($"observe_{prefix}_batches_queued", $"Batches waiting per {what}", "sink");

    public void Set(IEnumerable<SinkStats> sinks)
    {
        foreach (var sink in sinks)
        {
            _written.WithLabels(sink.Name).Set(sink.PointsWritten);
            _failed.WithLabels(sink.Name).Set(sink.WriteFailures);
            _dropped.WithLabels(sink.Name).Set(sink.BatchesDropped);
            _queued.WithLabels(sink.Name).Set(sink.BatchesQueued);
        }
    }
}
