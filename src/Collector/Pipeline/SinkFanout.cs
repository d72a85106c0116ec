using Microsoft.Extensions.Logging;

namespace Observe.Collector.Pipeline;

/// <summary>
/// Delivers every batch to every sink. Each sink has its own queue and worker, so a slow or failed
/// sink never delays the others or the flush. A failed write is retried with the shared capped, jittered backoff, the
/// batch kept; only when a sink's queue is full is its oldest batch dropped, and that is counted and logged.
/// </summary>
internal sealed class SinkFanout : IAsyncDisposable
{
    private readonly List<SinkWorker<MetricBatch>> _workers;

    public SinkFanout(IEnumerable<IMetricSink> sinks, int queueCapacity, ILogger log, TimeProvider? time = null)
    {
        _workers = sinks.Select(s => new SinkWorker<MetricBatch>(s.Name, s.WriteAsync, b => b.Points.Count, queueCapacity, log, time)).ToList();
    }

    public IReadOnlyList<SinkStats> Stats => _workers.Select(w => w.Stats).ToList();

    public void Publish(MetricBatch batch)
    {
        if (batch.Points.Count == 0) return;
        foreach (var w in _workers) w.Enqueue(batch);
    }

    /// <summary>Waits until every queued batch has been written (or the token fires).</summary>
    public async Task DrainAsync(CancellationToken ct)
    {
        foreach (var w in _workers) await w.DrainAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var w in _workers) await w.DisposeAsync();
    }
}
