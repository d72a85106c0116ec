using System.Collections.Concurrent;
using Observe.Alerting;
using Observe.Collector;

namespace Observe.TestSupport;

/// <summary>The tests' one metric sink that keeps what it is given: each batch in order, and every point.</summary>
public sealed class RecordingMetricSink(string name = "recording") : IMetricSink
{
    /// <summary>Every batch written, in order; lock it to read while writes may still come (or use <see cref="Snapshot"/>).</summary>
    public List<MetricBatch> Batches { get; } = [];
    public ConcurrentQueue<MetricPoint> Points { get; } = new();
    public string Name => name;

    public ValueTask WriteAsync(MetricBatch batch, CancellationToken cancellationToken)
    {
        lock (Batches) Batches.Add(batch);
        foreach (var p in batch.Points) Points.Enqueue(p);
        return ValueTask.CompletedTask;
    }

    /// <summary>The batches written so far.</summary>
    public List<MetricBatch> Snapshot() { lock (Batches) return [.. Batches]; }
}

/// <summary>The tests' one alert sink that keeps every alert event it is sent.</summary>
public sealed class RecordingAlertSink : IAlertSink
{
    public ConcurrentQueue<AlertEvent> Events { get; } = new();

    public ValueTask SendAsync(AlertEvent alert, CancellationToken cancellationToken)
    {
        Events.Enqueue(alert);
        return ValueTask.CompletedTask;
    }
}
