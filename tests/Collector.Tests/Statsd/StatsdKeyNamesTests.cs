using System.Text;
using Observe.Collector.Statsd;

namespace Observe.Collector.Tests.Statsd;

/// <summary>Issue 21: each new key's output names are made once, while the interval runs, not by the flush at the boundary.</summary>
public class StatsdKeyNamesTests
{
    private static void SendKeys(StatsdAggregator a, string prefix, int keys)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < keys; i++)
        {
            sb.Append(prefix).Append(".counter.").Append(i).Append(":1|c\n");
            sb.Append(prefix).Append(".timer.").Append(i).Append(":12|ms");
            a.HandlePacket(Encoding.ASCII.GetBytes(sb.ToString()));
            sb.Clear();
        }
    }

    private static void WaitForNames(StatsdAggregator a)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (a.KeyNames.Pending > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{a.KeyNames.Pending} keys' names still not made after 30 s");
            Thread.Yield();
        }
    }

    /// <summary>
    /// At 1 M new names the flush spent 9.2 s making ~16 M names on its thread at the boundary (three allocations each, a
    /// StringBuilder and its buffer besides the string: ≈ 4.8 kB per counter + timer pair), and the receive path waited. A
    /// flush of keys created during the interval now allocates on its thread only its list of points.
    /// </summary>
    [Fact]
    public void A_flush_of_new_keys_allocates_no_names_on_the_flush_thread()
    {
        const int keys = 5_000;
        var a = StatsdTest.Aggregator(o => o.DeleteIdleStats = true); // every key goes after its flush: the next ones are new
        SendKeys(a, "warm", keys); // sizes the flush's reused lists
        WaitForNames(a);
        a.Flush(1_700_000_000_000);
        SendKeys(a, "fresh", keys);
        WaitForNames(a);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var batch = a.Flush(1_700_000_010_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var list = ((List<MetricPoint>)batch.Points).Capacity * 24L; // MetricPoint: a reference and two 8-byte numbers
        Assert.Equal(keys * 16, batch.Points.Count(p => p.Path.Contains(".fresh.", StringComparison.Ordinal)));
        Assert.Contains(batch.Points, p => p.Path == "stats.timers.fresh.timer.4999.upper_90");
        Assert.True(allocated - list < keys * 32L, $"{(allocated - list) / (double)keys:F0} bytes per key pair besides the list of points");
        Assert.True(a.KeyNames.Prebuilt >= 2L * keys);
    }

    /// <summary>Keys arriving while flushes run (the work item and the flush both make names): every flush names a key with the same
    /// string objects, which the store compares by reference first.</summary>
    [Fact]
    public async Task A_key_is_named_with_the_same_strings_in_every_flush_while_keys_arrive_during_flushes()
    {
        var a = StatsdTest.Aggregator(o => o.Histogram = [new HistogramOptions { Metric = "timer.1", Bins = ["10", "inf"] }]);
        var flushes = 0;
        using var stop = new CancellationTokenSource();
        var flusher = Task.Run(() => { while (!stop.IsCancellationRequested) { a.Flush(1_700_000_000_000); Interlocked.Increment(ref flushes); } });
        SendKeys(a, "k", 3_000);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Volatile.Read(ref flushes) < 2 && DateTime.UtcNow < deadline) Thread.Yield();
        stop.Cancel();
        await flusher;
        SendKeys(a, "k", 3_000);
        var first = a.Flush(1_700_000_010_000).Points.ToDictionary(p => p.Path, p => p.Path);
        SendKeys(a, "k", 3_000);
        var second = a.Flush(1_700_000_020_000).Points;
        var unseen = second.Select(p => p.Path).Where(p => !first.ContainsKey(p)).ToList();
        Assert.True(unseen.Count == 0, "named only in the second flush: " + string.Join(", ", unseen));
        Assert.Equal(first.Count, second.Count);
        Assert.Contains(second, p => p.Path == "stats.timers.k.timer.12.histogram.bin_10");
        foreach (var p in second)
            if (!p.Path.StartsWith("stats.statsd.", StringComparison.Ordinal) && p.Path != "statsd.numStats")
                Assert.Same(first[p.Path], p.Path);
        Assert.True(flushes >= 2);
    }
}
