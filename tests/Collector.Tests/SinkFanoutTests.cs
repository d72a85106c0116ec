using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector;
using Observe.Collector.Pipeline;
using Observe.TestSupport;

namespace Observe.Collector.Tests;

public class SinkFanoutTests
{
    private sealed class FlakySink(int failFirst) : IMetricSink
    {
        private int _calls;
        public List<MetricBatch> Written { get; } = [];
        public string Name => "flaky";
        public ValueTask WriteAsync(MetricBatch batch, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) <= failFirst) throw new IOException("down");
            lock (Written) Written.Add(batch);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class BlockedSink : IMetricSink
    {
        public readonly TaskCompletionSource Release = new();
        public int Count;
        public string Name => "blocked";
        public async ValueTask WriteAsync(MetricBatch batch, CancellationToken cancellationToken)
        {
            await Release.Task.WaitAsync(cancellationToken);
            Interlocked.Increment(ref Count);
        }
    }

    private static MetricBatch Batch(long ts) => new(ts, [new MetricPoint("a", ts, ts)]);

    [Fact]
    public async Task A_failed_write_is_retried_until_it_succeeds_and_order_is_kept()
    {
        var sink = new FlakySink(failFirst: 2);
        await using var fanout = new SinkFanout([sink], 100, NullLogger.Instance);
        fanout.Publish(Batch(1));
        fanout.Publish(Batch(2));
        await Poll.UntilAsync(() => { lock (sink.Written) return sink.Written.Count == 2; }, TimeSpan.FromSeconds(10), "both batches written");
        Assert.Equal([1L, 2L], sink.Written.Select(b => b.Timestamp));
        var stats = Assert.Single(fanout.Stats);
        Assert.Equal(2, stats.WriteFailures);
        Assert.Equal(2, stats.BatchesWritten);
    }

    [Fact]
    public async Task A_stuck_sink_does_not_hold_up_another_and_overflow_is_counted()
    {
        var stuck = new BlockedSink();
        var healthy = new FlakySink(0);
        await using var fanout = new SinkFanout([stuck, healthy], 3, NullLogger.Instance);
        for (var i = 0; i < 10; i++)
        {
            fanout.Publish(Batch(i));
            var expected = i + 1;
            await Poll.UntilAsync(() => { lock (healthy.Written) return healthy.Written.Count == expected; }, TimeSpan.FromSeconds(10), "healthy sink keeps up");
        }
        var stuckStats = fanout.Stats.Single(s => s.Name == "blocked");
        Assert.Equal(6, stuckStats.BatchesDropped); // one in flight, three queued, six dropped
        Assert.Equal(0, fanout.Stats.Single(s => s.Name == "flaky").BatchesDropped);
        stuck.Release.SetResult();
        await Poll.UntilAsync(() => fanout.Stats.Single(s => s.Name == "blocked").BatchesQueued == 0, TimeSpan.FromSeconds(10), "stuck sink drained");
        Assert.Equal(10 - stuckStats.BatchesDropped, stuck.Count);
    }

    [Theory]
    [InlineData(1_700_000_003_000, 10_000, 7_000)]
    [InlineData(1_700_000_000_000, 10_000, 10_000)]
    [InlineData(1_700_000_009_999, 10_000, 1)]
    public void Flushes_align_to_interval_boundaries(long now, int interval, long expected)
    {
        Assert.Equal(expected, FlushScheduler.DelayToNextBoundary(now, interval));
    }
}
