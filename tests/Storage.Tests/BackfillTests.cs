using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>Finding 10 of issue 15: a lone point older than the finest archive is kept in the archive covering it (whisper's file_update).</summary>
public class BackfillTests
{
    private const long Now = 1_800_000_000;

    [Fact]
    public void A_point_older_than_the_finest_archive_is_kept_in_the_coarser_one_before_and_after_compaction_and_restart()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        var o = TestStore.Options(retentions: "10s:6h,1m:1d");
        long ts = Now - 8 * 3600;
        using (var s = TimeSeriesStore.Open(o, time))
        {
            TestStore.Write(s, Now, ("bf.single", 77, ts));
            Assert.Equal(77, Value(s, "bf.single", ts));
            s.Compact(force: true);
            Assert.Equal(77, Value(s, "bf.single", ts));
            Assert.Equal(0, s.PointsBeyondRetention);
        }
        // Replayed from the head row (not compacted yet) after a restart: the same archive.
        var o2 = TestStore.Options(retentions: "10s:6h,1m:1d");
        using (var s = TimeSeriesStore.Open(o2, time)) TestStore.Write(s, Now, ("bf.other", 5, ts));
        using (var s = TimeSeriesStore.Open(o2, time)) Assert.Equal(5, Value(s, "bf.other", ts));
        using (var s = TimeSeriesStore.Open(o, time)) Assert.Equal(77, Value(s, "bf.single", ts));
    }

    [Fact]
    public void A_backfilled_slot_among_sealed_coarse_data_replaces_only_its_slot()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using var s = TimeSeriesStore.Open(TestStore.Options(retentions: "10s:1h,1m:1d"), time);
        long old = Now - 5 * 3600;
        // Regular data back then (written back then), rolled up into the 1m archive.
        time.UnixSeconds = old + 600;
        for (long t = old - 300; t < old + 300; t += 10) TestStore.Write(s, t + 1, ("bf.mixed", 1, t));
        s.Compact(force: true);
        time.UnixSeconds = Now;
        Assert.Equal(1, Value(s, "bf.mixed", old - 120));
        TestStore.Write(s, Now, ("bf.mixed", 9, old));
        s.Compact(force: true);
        Assert.Equal(9, Value(s, "bf.mixed", old));
        Assert.Equal(1, Value(s, "bf.mixed", old - 120));
        Assert.Equal(1, Value(s, "bf.mixed", old + 120));
    }

    [Fact]
    public void A_point_older_than_every_archive_is_dropped_and_counted()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using var s = TimeSeriesStore.Open(TestStore.Options(retentions: "10s:1h,1m:1d"), time);
        TestStore.Write(s, Now, ("bf.ancient", 1, Now - 2 * 86400), ("bf.ancient", 2, Now - 60));
        Assert.Equal(1, s.PointsBeyondRetention);
        Assert.Equal(2, Value(s, "bf.ancient", Now - 60));
    }

    /// <summary>The value /render would show for the slot holding <paramref name="ts"/>, reading from a little before it.</summary>
    private static double? Value(TimeSeriesStore s, string name, long ts)
    {
        var w = s.Fetch(name, ts - ts % 60 - 1, Now)!;
        for (int i = 0; i < w.Values.Length; i++)
        {
            long slot = w.Start + i * w.Step;
            if (slot <= ts && ts < slot + w.Step) return w.Values[i];
        }
        return null;
    }
}
