using Observe.Collector;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>
/// Issue 15 finding 6 / issue 21 "the head stays bounded": each compaction releases the head up to the finest archive's
/// last complete slot (rollup slots still open are sealed partially and recomputed later), so the head holds a few
/// flushes, not everything since the coarsest archive's last boundary; reads stay whisper's, also after a reopen.
/// </summary>
public class HeadBoundTests
{
    private const long Start = 1_000_200; // a multiple of 600

    [Fact]
    public async Task Head_holds_a_few_flushes_whatever_the_coarsest_step()
    {
        const int keys = 300;
        var time = ManualTimeProvider.AtUnixSeconds(Start);
        var o = TestStore.Options(retentions: "10s:6h,1m:7d,10m:5y");
        using var s = TimeSeriesStore.Open(o, time);
        int maxHead = 0;
        var batch = new MetricPoint[keys];
        for (int flush = 0; flush < 360; flush++) // 1 h of 10 s flushes, compacting every 60 s as the default does
        {
            long t = Start + flush * 10;
            time.UnixSeconds = t + 10;
            for (int i = 0; i < keys; i++) batch[i] = new MetricPoint($"stats.k{i}.count", flush % 7 + i, t);
            await s.WriteAsync(new MetricBatch(t, batch), default);
            if (flush % 6 == 5) s.Compact();
            maxHead = Math.Max(maxHead, s.HeadPointCount);
        }
        // Before: up to (600 + 60) / 10 = 66 flushes per key (the 10-minute archive's boundary).
        Assert.True(maxHead <= keys * 8, $"head reached {maxHead} points = {maxHead / keys} flushes per key");
    }

    /// <summary>
    /// Issue 21: a backlog (batches of old points written as fast as they come, e.g. a spool replayed) is compacted as it
    /// arrives, not when the compaction timer fires, so the head stays bounded; nothing is lost on the way.
    /// </summary>
    [Fact]
    public async Task A_backlog_is_compacted_without_waiting_for_the_timer()
    {
        const int keys = 50, batches = 200;
        long now = Start + 86400, first = now - 4 * 3600;
        var time = ManualTimeProvider.AtUnixSeconds(now);
        var o = TestStore.Options(retentions: "10s:6h,1m:7d,10m:5y");
        o.CompactionIntervalSeconds = 60; // on, but this fake clock is never advanced: the timer does not fire
        using var s = TimeSeriesStore.Open(o, time);
        var batch = new MetricPoint[keys];
        for (int b = 0; b < batches; b++)
        {
            long t = first + b * 10;
            for (int i = 0; i < keys; i++) batch[i] = new MetricPoint($"stats.k{i}.count", b + i, t);
            await s.WriteAsync(new MetricBatch(t, batch), default);
        }
        await Poll.UntilAsync(() => s.HeadPointCount < TimeSeriesStore.CompactSoonerRows * keys, TimeSpan.FromSeconds(30), "the backlog compacted");
        var w = s.Fetch("stats.k3.count", first - 10, first + (batches - 1) * 10)!;
        Assert.Equal(Enumerable.Range(0, batches).Select(b => (double?)(b + 3)), w.Values);
    }

    /// <summary>Compacting every minute (partial 1m/10m slots) stores exactly what one compaction at the end stores.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Partial_rollups_read_as_one_final_compaction(bool reopen)
    {
        var time = ManualTimeProvider.AtUnixSeconds(Start);
        var often = TestStore.Options(retentions: "10s:1h,1m:7d,10m:5y");
        var once = TestStore.Options(retentions: "10s:1h,1m:7d,10m:5y");
        var a = TimeSeriesStore.Open(often, time);
        using var b = TimeSeriesStore.Open(once, time);
        var rnd = new Random(11);
        string[] names = ["p.mean", "p.x.count", "p.lower", "stats.gauges.g", "p.sparse"];
        for (long t = Start + 30; t < Start + 3 * 3600; t += 10)
        {
            time.UnixSeconds = t + 10;
            var pts = new List<(string, double, long)>();
            foreach (var n in names)
                if (rnd.Next(n == "p.sparse" ? 20 : 3) == 0 || (n != "p.sparse" && rnd.Next(2) == 0)) pts.Add((n, rnd.Next(1, 50) / (double)rnd.Next(1, 9), t));
            if (rnd.Next(40) == 0) pts.Add(("p.mean", 99.5, t - rnd.Next(1, 900))); // late data into sealed slots
            TestStore.Write(a, t, [.. pts]);
            TestStore.Write(b, t, [.. pts]);
            if ((t - Start) % 60 == 0) a.Compact();
            if (rnd.Next(150) == 0) a.Compact(force: true);
        }
        a.Compact(force: true);
        b.Compact(force: true);
        if (reopen) { a.Dispose(); a = TimeSeriesStore.Open(often, time); }
        (long, long)[] ranges = [(time.UnixSeconds - 3000, time.UnixSeconds), (time.UnixSeconds - 6 * 3600, time.UnixSeconds), (time.UnixSeconds - 30 * 86400, time.UnixSeconds)];
        foreach (var n in names)
            foreach (var (f, u) in ranges)
            {
                var x = a.Fetch(n, f, u)!; var y = b.Fetch(n, f, u)!;
                Assert.Equal(y.Step, x.Step);
                Assert.Equal(y.Values, x.Values);
            }
        a.Dispose();
    }
}

/// <summary>The store under limits.memory: relief seals the head at once; refusing drops and counts new series only.</summary>
public class StoreMemoryBudgetTests
{
    private sealed class Pressure : Observe.Collector.IMemoryPressure { public MemoryPressure Level { get; set; } }

    private const long Now = 1_000_200;

    [Fact]
    public void Relief_seals_the_head_and_refusing_counts_new_series_instead_of_growing()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        var pressure = new Pressure();
        using var s = TimeSeriesStore.Open(TestStore.Options(), time);
        s.Pressure = pressure;
        for (int f = 0; f < 30; f++) TestStore.Write(s, Now - 300 + f * 10, ("known.a", f, Now - 300 + f * 10));
        var before = s.Fetch("known.a", Now - 400, Now)!;
        Assert.Equal(30, s.HeadPointCount);

        pressure.Level = MemoryPressure.Relieve;        // first: give memory back, nothing refused
        s.Relieve();
        Assert.Equal(0, s.HeadPointCount);
        Assert.Equal(before.Values, s.Fetch("known.a", Now - 400, Now)!.Values);
        TestStore.Write(s, Now, ("new.b", 1, Now));
        Assert.Equal(2, s.SeriesCount);

        pressure.Level = MemoryPressure.RefuseNew;      // then: nothing new, counted; known series keep being written
        TestStore.Write(s, Now + 10, ("known.a", 99, Now + 10), ("new.c", 1, Now + 10), ("new.d", 1, Now + 10));
        Assert.Equal(2, s.SeriesCount);
        Assert.Equal(2, s.SeriesDroppedByLimit);
        time.UnixSeconds = Now + 20;
        Assert.Contains(99.0, s.Fetch("known.a", Now - 400, Now + 20)!.Values);

        pressure.Level = MemoryPressure.None;
        TestStore.Write(s, Now + 20, ("new.c", 1, Now + 20));
        Assert.Equal(3, s.SeriesCount);
    }
}
