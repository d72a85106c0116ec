using System.Globalization;
using FsCheck.Xunit;
using Observe.Collector;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>
/// Issue 21 (memory per series at a million names): head points live in each head row's column by series id
/// (<see cref="HeadColumn"/>) instead of an array per series; a point that does not fit there (another slot than its row's,
/// a second point of the series in one row) is one of the series' extra points. Reads, compaction, the head checkpoint and
/// the replay must see exactly what they saw before: the last point written to a slot.
/// </summary>
public class HeadColumnTests
{
    private const long Start = 1_000_200; // a multiple of 600

    /// <summary>Against a dictionary: adds (first one wins, a second is refused), lookups and clears, across pages and after reuse.</summary>
    [Property(MaxTest = 200)]
    public void A_column_agrees_with_a_dictionary(int seed)
    {
        var rnd = new Random(seed);
        var pool = new HeadPagePool();
        var column = new HeadColumn(pool);
        var model = new Dictionary<int, double>();
        int span = rnd.Next(1, 3000);
        for (int op = 0; op < 600; op++)
        {
            int id = rnd.Next(3) == 0 ? rnd.Next(span) : Math.Min(span - 1, op * span / 600); // ascending (a flush) and random
            double v = rnd.Next(5) == 0 ? BitConverter.Int64BitsToDouble(rnd.NextInt64()) : rnd.Next(1000) / 10.0;
            Assert.Equal(model.TryAdd(id, v), column.TryAdd(id, v));
            if (rnd.Next(200) == 0)
            {
                column.Clear(); // the row freed: its pages go back to the pool and are taken again, empty
                model.Clear();
            }
            Assert.Equal(model.Count, column.Count);
        }
        for (int id = 0; id < span + 300; id++)
        {
            Assert.Equal(model.TryGetValue(id, out double m), column.TryGet(id, out double x));
            Assert.Equal(BitConverter.DoubleToInt64Bits(m), BitConverter.DoubleToInt64Bits(x));
        }
    }

    /// <summary>
    /// Random flushes (most points at the batch's time; some late, some a series twice in one batch), compactions, checkpoints
    /// with a clean reopen and reopens that replay the head rows: every slot of the finest archive reads as the last value
    /// written to it, and the head counts what was written since the last compaction sealed it. Over 256 series, so the
    /// columns span pages.
    /// </summary>
    [Property(MaxTest = 30)]
    public void Reads_see_the_last_point_written_to_each_slot_through_compactions_checkpoints_and_replays(int seed)
    {
        var rnd = new Random(seed);
        var time = ManualTimeProvider.AtUnixSeconds(Start);
        var options = TestStore.Options();
        var store = TimeSeriesStore.Open(options, time);
        try
        {
            int series = rnd.Next(1, 400);
            var model = new Dictionary<(int, long), double>();
            for (int op = 0; op < 40; op++)
            {
                time.UnixSeconds += 10;
                long now = time.UnixSeconds;
                switch (rnd.Next(10))
                {
                    case 0:
                        store.Compact(force: rnd.Next(3) == 0);
                        break;
                    case 1:
                        if (rnd.Next(2) == 0) store.WriteHeadCheckpoint();
                        store.Dispose();
                        store = TimeSeriesStore.Open(options, time);
                        break;
                    default:
                        var points = new List<MetricPoint>();
                        foreach (int i in Enumerable.Range(0, series).Where(_ => rnd.Next(4) != 0))
                        {
                            long ts = rnd.Next(8) == 0 ? now - rnd.Next(0, 1200) : now;
                            double v = rnd.Next(20) == 0 ? BitConverter.Int64BitsToDouble(rnd.NextInt64() & ~(0x7FFL << 52)) : rnd.Next(1000) / 10.0;
                            points.Add(new MetricPoint($"hc.s{i}", v, ts));
                            // The same series again in this batch (at the same slot or another): the later point wins its slot.
                            if (rnd.Next(30) == 0) points.Add(new MetricPoint($"hc.s{i}", rnd.Next(1000), rnd.Next(2) == 0 ? ts : now - rnd.Next(0, 600)));
                        }
                        if (rnd.Next(2) == 0) points.Reverse(); // ids no longer ascending within the batch
                        foreach (var p in points) model[(int.Parse(p.Path[4..], CultureInfo.InvariantCulture), p.Timestamp - p.Timestamp % 10)] = p.Value;
                        store.WriteAsync(new MetricBatch(now, [.. points]), default).AsTask().GetAwaiter().GetResult();
                        break;
                }
            }
            long until = time.UnixSeconds;
            for (int i = 0; i < series; i++)
            {
                if (store.Fetch($"hc.s{i}", until - 3000, until) is not { } w) { Assert.DoesNotContain(model.Keys, k => k.Item1 == i); continue; }
                Assert.Equal(10, w.Step);
                for (int j = 0; j < w.Values.Length; j++)
                {
                    double? want = model.TryGetValue((i, w.Start + j * 10), out double m) ? m : null;
                    Assert.True(Same(want, w.Values[j]), $"hc.s{i} at {w.Start + j * 10}: {w.Values[j]} where {want} was written last");
                }
            }
        }
        finally { store.Dispose(); }
    }

    private static bool Same(double? a, double? b) =>
        a is { } x ? b is { } y && BitConverter.DoubleToInt64Bits(x) == BitConverter.DoubleToInt64Bits(y) : b == null;
}
