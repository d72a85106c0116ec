using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector;
using Observe.Collector.Pipeline;
using Observe.Collector.Statsd;
using Observe.TestSupport;

namespace Observe.Collector.Tests;

/// <summary>Flush metric sources (the host's observe.* self-metrics) ride in the StatsD flush; a broken one costs nothing else.</summary>
public class FlushMetricSourceTests
{
    private sealed class Source(Action<long, ICollection<MetricPoint>> add) : IFlushMetricSource
    {
        public void AddPoints(long timestamp, ICollection<MetricPoint> points) => add(timestamp, points);
    }

    [Fact]
    public async Task Source_points_join_the_flush_with_its_timestamp_and_a_throwing_source_adds_nothing()
    {
        var sink = new RecordingMetricSink();
        await using var fanout = new SinkFanout([sink], 10, NullLogger.Instance);
        var aggregator = new StatsdAggregator(new StatsdOptions());
        var good = new Source((ts, points) => points.Add(new MetricPoint("observe.test.value", 7, ts)));
        var broken = new Source((ts, points) => { points.Add(new MetricPoint("observe.half.written", 1, ts)); throw new InvalidOperationException("boom"); });
        var scheduler = new FlushScheduler(aggregator, fanout, 10_000, TimeProvider.System, NullLogger.Instance, [broken, good]);
        aggregator.HandlePacket(Encoding.ASCII.GetBytes("app.hits:3|c"));
        scheduler.FlushOnce(1_700_000_010_000);
        await fanout.DrainAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        var batch = Assert.Single(sink.Batches);
        Assert.Equal(3, batch.Points.Single(p => p.Path == "stats_counts.app.hits").Value);
        var own = Assert.Single(batch.Points, p => p.Path == "observe.test.value");
        Assert.Equal((7.0, 1_700_000_010L), (own.Value, own.Timestamp));
        Assert.DoesNotContain(batch.Points, p => p.Path == "observe.half.written");
    }
}
