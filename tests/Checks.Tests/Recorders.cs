using System.Collections.Concurrent;
using Observe.Alerting;
using Observe.Collector;

namespace Observe.Checks.Tests;

internal sealed class RecordingAlertSink : IAlertSink
{
    public readonly ConcurrentQueue<AlertEvent> Events = new();
    public ValueTask SendAsync(AlertEvent alert, CancellationToken cancellationToken) { Events.Enqueue(alert); return ValueTask.CompletedTask; }
}

internal sealed class RecordingMetricSink : IMetricSink
{
    public readonly ConcurrentQueue<MetricPoint> Points = new();
    public string Name => "recording";
    public ValueTask WriteAsync(MetricBatch batch, CancellationToken cancellationToken)
    {
        foreach (var p in batch.Points) Points.Enqueue(p);
        return ValueTask.CompletedTask;
    }
}
