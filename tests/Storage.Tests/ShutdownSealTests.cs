using Observe.Collector;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>
/// Issue 21 (restart to first /render): a clean stop (the host disposing the opening store after its stages stopped) seals the
/// head into chunks, so the next open replays no point, and what comes after the restart lands on those chunks as it would
/// have on the head.
/// </summary>
public sealed class ShutdownSealTests
{
    private const long Now = 1_000_200; // a whole minute: the 1-minute archive's slots start at Now − 60k

    private static StoreOpening Opening(StorageOptions options, TimeProvider time) =>
        new(() => TimeSeriesStore.Open(options, time), TimeSpan.FromSeconds(30));

    private static void Write(StoreOpening store, long ts, params (string Name, double Value)[] points) =>
        store.WriteAsync(new MetricBatch(ts, [.. points.Select(p => new MetricPoint(p.Name, p.Value, ts))]), default).AsTask().GetAwaiter().GetResult();

    [Fact]
    public void A_clean_stop_seals_the_head_and_the_next_open_replays_no_point()
    {
        var options = TestStore.Options();
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using (var first = Opening(options, time))
        {
            for (int i = 3; i >= 1; i--) Write(first, Now - i * 10, ("a.b", i), ("a.c", i * 2.5), ("t;host=x", -i));
            Assert.Equal(9, first.Store.HeadPointCount);
        }
        using var store = TimeSeriesStore.Open(options, time);
        Assert.Equal(0, store.HeadPointCount);
        Assert.Equal(0, store.ReplayedHeadPoints);
        Assert.Equal([3.0, 2, 1], store.Fetch("a.b", Now - 40, Now - 10)!.Values);
        Assert.Equal([7.5, 5, 2.5], store.Fetch("a.c", Now - 40, Now - 10)!.Values);
        Assert.Equal([-3.0, -2, -1], store.Fetch("t;host=x", Now - 40, Now - 10)!.Values);
    }

    [Fact]
    public void After_a_sealed_stop_a_later_write_to_a_sealed_slot_wins_and_rollups_include_the_points_on_both_sides()
    {
        var options = TestStore.Options();
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        // The minute [Now − 120, Now − 60): three slots before the stop, three after.
        using (var first = Opening(options, time))
            foreach (var (ts, v) in new[] { (Now - 120, 1.0), (Now - 110, 2.0), (Now - 100, 3.0) }) Write(first, ts, ("r.m", v));
        using (var second = Opening(options, time))
        {
            foreach (var (ts, v) in new[] { (Now - 100, 30.0), (Now - 90, 4.0), (Now - 80, 5.0), (Now - 70, 6.0) }) Write(second, ts, ("r.m", v));
            second.Store.Compact(force: true);
        }
        using var store = TimeSeriesStore.Open(options, time);
        Assert.Equal([1.0, 2, 30, 4, 5, 6], store.Fetch("r.m", Now - 130, Now - 70)!.Values);
        // Older than 6 h: the 1-minute archive, whose slot averages all six.
        var coarse = store.Fetch("r.m", Now - 7 * 3600, Now)!;
        Assert.Equal(60, coarse.Step);
        Assert.Equal((1 + 2 + 30 + 4 + 5 + 6) / 6.0, coarse.Values[(Now - 120 - coarse.Start) / 60]);
    }
}
