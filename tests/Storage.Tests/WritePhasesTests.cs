using Observe.Collector;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>Issue 21: a write into the store is timed by phase (lock wait, name lookup, series creation, inserts, commit, head append).</summary>
public class WritePhasesTests
{
    private const long Now = 1_800_000_000;

    [Fact]
    public async Task A_write_reports_its_phases_and_the_series_it_created()
    {
        var o = TestStore.Options();
        using var s = TimeSeriesStore.Open(o, ManualTimeProvider.AtUnixSeconds(Now));
        Assert.Null(s.LastWrite);
        var points = Enumerable.Range(0, 2000).Select(i => new MetricPoint($"phase.k{i}.count", i, Now - 10)).ToArray();

        await s.WriteAsync(new MetricBatch(Now - 10, points), default);
        var first = s.LastWrite!;
        Assert.Equal((2000L, 2000), (first.Points, first.SeriesCreated));
        var parts = first.Phases.Where(p => p.Phase != "total").ToList();
        Assert.Equal(["lock_wait", "lookup", "create", "series_insert", "encode", "head_insert", "commit", "register", "head_append"], parts.Select(p => p.Phase));
        Assert.All(parts, p => Assert.InRange(p.Seconds, 0, first.TotalSeconds));
        Assert.InRange(parts.Sum(p => p.Seconds), 0.5 * first.TotalSeconds, first.TotalSeconds + 1e-6); // the phases cover the write
        Assert.True(first.SeriesInsertSeconds > 0 && first.CreateSeconds > 0, "creating 2 000 series is timed");

        await s.WriteAsync(new MetricBatch(Now, points.Select(p => p with { Timestamp = Now }).ToArray()), default);
        var second = s.LastWrite!;
        Assert.Equal((2000L, 0, 0.0), (second.Points, second.SeriesCreated, second.CreateSeconds));
        Assert.InRange(second.SeriesInsertSeconds, 0, 0.05); // nothing to insert
        Assert.Matches(@"^lock_wait \d+\.\d\d s, lookup \d+\.\d\d s, .*total \d+\.\d\d s, 0 series created, \d+ gen2 GCs$", s.DescribeLastWrite()!);
    }

    /// <summary>
    /// /stats and the host's observe.* series (which the flush thread itself adds to each flush) read the store's counts; waiting
    /// for the store lock made them wait for the write in progress: at a million StatsD names, each flush waited seconds for
    /// the previous one's write. They answer at once, with the counts as last seen.
    /// </summary>
    [Fact]
    public async Task The_counts_for_stats_do_not_wait_for_a_write_in_progress()
    {
        using var s = TimeSeriesStore.Open(TestStore.Options(), ManualTimeProvider.AtUnixSeconds(Now));
        TestStore.Write(s, Now - 20, ("held.a.count", 1, Now - 20));
        Assert.Equal((1, 1), s.CountsForStats());
        using var inWrite = new ManualResetEventSlim();
        using var resume = new ManualResetEventSlim();
        s.WriteHolding = () => { inWrite.Set(); resume.Wait(TimeSpan.FromSeconds(60)); };
        var write = Task.Run(() => TestStore.Write(s, Now - 10, ("held.a.count", 2, Now - 10), ("held.b.count", 3, Now - 10)));
        try
        {
            Assert.True(inWrite.Wait(TimeSpan.FromSeconds(30)), "the write holds the store lock");
            var counts = Task.Run(s.CountsForStats);
            Assert.True(await Task.WhenAny(counts, Task.Delay(TimeSpan.FromSeconds(10))) == counts, "the counts waited for the write");
            Assert.Equal((1, 1), await counts); // as last seen: the write is not committed
        }
        finally { resume.Set(); }
        await write;
        s.WriteHolding = null;
        Assert.Equal((2, 3), s.CountsForStats());
    }

    /// <summary>
    /// A write finds each point's series from the previous write's position when the name is the same (no hash lookup), so
    /// a batch in another order, and a write after one that failed (its new series forgotten), must still find the right ones.
    /// </summary>
    [Fact]
    public void Each_point_finds_its_series_whatever_the_order_and_after_a_write_that_failed()
    {
        using var s = TimeSeriesStore.Open(TestStore.Options(), ManualTimeProvider.AtUnixSeconds(Now));
        TestStore.Write(s, Now - 30, ("order.a.count", 1, Now - 30), ("order.b.count", 2, Now - 30));
        TestStore.Write(s, Now - 20, ("order.b.count", 20, Now - 20), ("order.a.count", 10, Now - 20));
        s.WriteHolding = () => throw new IOException("disk gone");
        Assert.Throws<IOException>(() => TestStore.Write(s, Now - 10, ("order.c.count", 300, Now - 10), ("order.a.count", 100, Now - 10)));
        s.WriteHolding = null;
        TestStore.Write(s, Now - 10, ("order.c.count", 3, Now - 10), ("order.a.count", 30, Now - 10));
        Assert.Equal(new double?[] { 1, 10, 30 }, s.Fetch("order.a.count", Now - 40, Now - 10)!.Values);
        Assert.Equal(new double?[] { 2, 20, null }, s.Fetch("order.b.count", Now - 40, Now - 10)!.Values);
        Assert.Equal(new double?[] { null, null, 3 }, s.Fetch("order.c.count", Now - 40, Now - 10)!.Values);
        Assert.Equal(3, s.SeriesCount);
    }

    /// <summary>A key added in the middle shifts every later position (a new counter before the timers): each later point
    /// still finds its own series (the walk follows the shift), and a batch with a name twice creates it once.</summary>
    [Fact]
    public void A_key_added_in_the_middle_shifts_the_positions_and_every_point_still_finds_its_series()
    {
        using var s = TimeSeriesStore.Open(TestStore.Options(), ManualTimeProvider.AtUnixSeconds(Now));
        string[] names = ["c.a.count", "c.b.count", "t.a.mean", "t.b.mean", "t.c.mean"];
        TestStore.Write(s, Now - 30, [.. names.Select((n, i) => (n, (double)i, Now - 30))]);
        string[] shifted = ["c.a.count", "c.b.count", "c.new.count", "c.new2.count", "t.a.mean", "t.b.mean", "t.c.mean", "c.new.count"];
        TestStore.Write(s, Now - 20, [.. shifted.Select((n, i) => (n, 10.0 + i, Now - 20))]);
        TestStore.Write(s, Now - 10, [.. shifted.Skip(1).Select((n, i) => (n, 100.0 + i, Now - 10))]); // shifted back by one
        Assert.Equal(7, s.SeriesCount);
        Assert.Equal(new double?[] { 0, 10, null }, s.Fetch("c.a.count", Now - 40, Now - 10)!.Values);
        Assert.Equal(new double?[] { 2, 14, 103 }, s.Fetch("t.a.mean", Now - 40, Now - 10)!.Values);
        Assert.Equal(new double?[] { 4, 16, 105 }, s.Fetch("t.c.mean", Now - 40, Now - 10)!.Values);
        Assert.Equal(new double?[] { null, 17, 106 }, s.Fetch("c.new.count", Now - 40, Now - 10)!.Values); // the later of two in a batch wins
        Assert.Equal(new double?[] { null, 13, 102 }, s.Fetch("c.new2.count", Now - 40, Now - 10)!.Values);
    }
}
