using System.Text;
using Microsoft.Extensions.Logging;
using Observe.Collector;
using Observe.Collector.Pipeline;
using Observe.Collector.Statsd;
using Observe.TestSupport;

namespace Observe.Collector.Tests;

/// <summary>
/// Issue 21: where a flush goes, timed apart in the product. Each flush's phases (snapshot, build, observe.* sources, publish,
/// delivered to the last sink) and each sink's queue wait and write are kept for /stats; a flush slower than the threshold
/// is logged once with them and the slow sink's own account of its write.
/// </summary>
public class FlushPhasesTests
{
    /// <summary>A sink whose write takes <paramref name="ms"/> (a slow store) and that says where its write went.</summary>
    private sealed class SlowSink(string name, int ms) : IMetricSink
    {
        public int Described;
        public string Name => name;
        public async ValueTask WriteAsync(MetricBatch batch, CancellationToken cancellationToken)
        {
            // At least ms by the Stopwatch the phases are timed with: a timer may fire a fraction of a millisecond early
            // (seen in CI: a 300 ms delay measured 299.7 ms).
            var took = System.Diagnostics.Stopwatch.StartNew();
            while (took.ElapsedMilliseconds < ms) await Task.Delay(ms - (int)took.ElapsedMilliseconds + 1, cancellationToken);
        }
        public string? DescribeLastWrite()
        {
            Interlocked.Increment(ref Described);
            return "lookup 0.30 s, commit 0.01 s";
        }
    }

    private const long Stamp = 1_700_000_010_000;

    [Fact]
    public async Task A_slow_flush_reports_its_phases_each_sinks_wait_and_write_and_is_logged_once_with_the_sinks_account()
    {
        var slow = new SlowSink("slowstore", 300);
        var fast = new RecordingMetricSink("fast");
        var log = new ListLogger();
        await using var fanout = new SinkFanout([fast, slow], 10, log);
        var aggregator = new StatsdAggregator(new StatsdOptions());
        var scheduler = new FlushScheduler(aggregator, fanout, 10_000, TimeProvider.System, log) { SlowFlush = TimeSpan.FromMilliseconds(200) };
        aggregator.HandlePacket(Encoding.ASCII.GetBytes("app.hits:3|c\napp.took:5|ms"));

        scheduler.FlushOnce(Stamp);
        await Poll.UntilAsync(() => scheduler.LastPhases != null, TimeSpan.FromSeconds(10), "the flush delivered to both sinks");

        var p = scheduler.LastPhases!;
        var batch = Assert.Single(fast.Snapshot());
        Assert.Equal((Stamp, (long)batch.Points.Count), (p.TimestampMs, p.Points));
        Assert.All(new[] { p.SnapshotSeconds, p.BuildSeconds, p.SourcesSeconds, p.PublishSeconds }, s => Assert.InRange(s, 0, p.DeliveredSeconds));
        Assert.InRange(p.DeliveredSeconds, 0.3, 30); // the slow sink's write is part of it
        Assert.True(p.Gen2Collections >= 0 && p.GcPauseSeconds >= 0);
        var stats = fanout.Stats.ToDictionary(s => s.Name);
        Assert.InRange(stats["slowstore"].LastWriteSeconds, 0.3, p.DeliveredSeconds);
        Assert.InRange(stats["slowstore"].LastQueueWaitSeconds, 0, p.DeliveredSeconds - stats["slowstore"].LastWriteSeconds);
        // No upper bound on the writes' own times: a 2-core runner's thread pool can hold the 300 ms delay's continuation for a
        // second (seen: "wrote 1.19 s"); what is asserted is that each time is accounted where it belongs.
        Assert.InRange(stats["fast"].LastWriteSeconds, 0, p.DeliveredSeconds);

        var line = Assert.Single(log.Snapshot(), l => l.Text.Contains(" delivered in ", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Contains($"flush {Stamp / 1000} of {p.Points} points", line.Text);
        Assert.Contains("snapshot ", line.Text);
        Assert.Matches(@"slowstore queued \d+\.\d\d s, wrote \d+\.\d\d s \(lookup 0\.30 s, commit 0\.01 s\)", line.Text);
        Assert.Matches(@"fast queued \d+\.\d\d s, wrote 0\.\d\d s", line.Text);
        Assert.Contains("gen2 GCs", line.Text);
        Assert.Equal(1, slow.Described);
    }

    [Fact]
    public async Task A_quick_flush_keeps_its_phases_but_logs_nothing_and_asks_no_sink_for_its_account()
    {
        var sink = new SlowSink("store", 0);
        var log = new ListLogger();
        await using var fanout = new SinkFanout([sink], 10, log);
        var aggregator = new StatsdAggregator(new StatsdOptions());
        var scheduler = new FlushScheduler(aggregator, fanout, 10_000, TimeProvider.System, log) { SlowFlush = TimeSpan.FromSeconds(20) };
        aggregator.HandlePacket(Encoding.ASCII.GetBytes("app.hits:3|c"));

        scheduler.FlushOnce(Stamp);
        await Poll.UntilAsync(() => scheduler.LastPhases != null, TimeSpan.FromSeconds(10), "the flush delivered");

        Assert.InRange(scheduler.LastPhases!.DeliveredSeconds, 0, 20);
        Assert.DoesNotContain(log.Snapshot(), l => l.Text.Contains(" delivered in ", StringComparison.Ordinal));
        Assert.Equal(0, sink.Described);
    }
}
