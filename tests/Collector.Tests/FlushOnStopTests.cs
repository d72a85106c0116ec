using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector;
using Observe.Collector.Pipeline;
using Observe.Collector.Statsd;
using Observe.TestSupport;

namespace Observe.Collector.Tests;

/// <summary>
/// The last flush at stop is stamped with the end of the interval its data belongs to: stamped "now", it would
/// land in the slot of the previous flush and replace it in a one-value-per-slot store.
/// </summary>
public class FlushOnStopTests
{
    [Theory]
    [InlineData(1_700_000_025_000, false, 1_700_000_030)] // immediate, mid-interval: stamped :30, not :20 (the previous flush)
    [InlineData(1_700_000_029_900, true, 1_700_000_030)]  // boundary: waits 100 ms for the interval's end, then flushes it
    public async Task The_last_flush_is_stamped_with_the_end_of_its_interval(long nowMs, bool waitForBoundary, long expectedTimestamp)
    {
        var sink = new RecordingMetricSink();
        await using var fanout = new SinkFanout([sink], 10, NullLogger.Instance);
        var aggregator = new StatsdAggregator(new StatsdOptions());
        var clock = ManualTimeProvider.AtUnixMilliseconds(nowMs);
        var scheduler = new FlushScheduler(aggregator, fanout, 10_000, clock, NullLogger.Instance);
        aggregator.HandlePacket(Encoding.ASCII.GetBytes("stop.hits:3|c"));
        var closed = false;
        var stopping = scheduler.StopAsync(waitForBoundary, TimeSpan.FromSeconds(20), () => { closed = true; return Task.CompletedTask; });
        if (waitForBoundary)
        {
            await Poll.UntilAsync(() => clock.PendingTimers > 0, TimeSpan.FromSeconds(10), "the wait for the boundary");
            clock.Advance(TimeSpan.FromMilliseconds(100));
        }
        var waited = await stopping;
        Assert.True(closed, "input closed before the last flush");
        Assert.Equal(waitForBoundary ? TimeSpan.FromMilliseconds(100) : TimeSpan.Zero, waited);
        await fanout.DrainAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        var batch = Assert.Single(sink.Batches);
        Assert.Equal(expectedTimestamp, batch.Timestamp);
        Assert.Equal(3, batch.Points.Single(p => p.Path == "stats_counts.stop.hits").Value);
    }

    [Fact]
    public async Task A_boundary_further_than_the_longest_wait_is_not_waited_for()
    {
        var sink = new RecordingMetricSink();
        await using var fanout = new SinkFanout([sink], 10, NullLogger.Instance);
        var scheduler = new FlushScheduler(new StatsdAggregator(new StatsdOptions()), fanout, 3_600_000, ManualTimeProvider.AtUnixMilliseconds(1_700_000_000_000), NullLogger.Instance);
        var waited = await scheduler.StopAsync(true, TimeSpan.FromSeconds(20), () => Task.CompletedTask);
        Assert.Equal(TimeSpan.Zero, waited);
        await fanout.DrainAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        Assert.Equal(1_700_002_800, Assert.Single(sink.Batches).Timestamp); // the end of the hour in progress
    }

    /// <summary>System time, but every timer fires 5 ms before it is due (as coarse timers sometimes do).</summary>
    private sealed class EarlyTimers : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            base.CreateTimer(callback, state, dueTime > TimeSpan.FromMilliseconds(5) ? dueTime - TimeSpan.FromMilliseconds(5) : dueTime, period);
    }

    [Fact]
    public async Task A_timer_firing_early_still_stamps_each_flush_with_its_own_boundary()
    {
        var sink = new RecordingMetricSink();
        await using var fanout = new SinkFanout([sink], 100, NullLogger.Instance);
        await using var scheduler = new FlushScheduler(new StatsdAggregator(new StatsdOptions()), fanout, 1000, new EarlyTimers(), NullLogger.Instance);
        scheduler.Start();
        await Observe.TestSupport.Poll.UntilAsync(() => { lock (sink.Batches) return sink.Batches.Count >= 3; }, TimeSpan.FromSeconds(10), "three flushes");
        long[] stamps;
        lock (sink.Batches) stamps = sink.Batches.Select(b => b.Timestamp).ToArray();
        // Stamped "now" they would read one second early (the previous flush's slot); stamped with the boundary they follow on.
        Assert.All(stamps.Zip(stamps.Skip(1)), p => Assert.Equal(p.First + 1, p.Second));
    }
}
