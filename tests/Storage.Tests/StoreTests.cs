using Microsoft.Data.Sqlite;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

public class StoreTests
{
    private const long Now = 1_000_200; // a multiple of 60 and of 600

    [Fact]
    public void Fetch_follows_whisper_window_rounding()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using var s = TimeSeriesStore.Open(TestStore.Options(), time);
        for (long t = 1_000_000; t <= 1_000_100; t += 10) TestStore.Write(s, t, ("a.b", t - 1_000_000, t + 3)); // quantised to t
        var w = s.Fetch("a.b", 1_000_005, 1_000_100)!;
        // fromInterval = from - from%step + step; untilInterval = until - until%step + step
        Assert.Equal((1_000_010, 1_000_110, 10L), (w.Start, w.End, w.Step));
        Assert.Equal(10, w.Values.Length);
        Assert.Equal([10.0, 20, 30, 40, 50, 60, 70, 80, 90, 100], w.Values.Select(v => v!.Value));
        // aligned from still starts one step later, as whisper does
        Assert.Equal(1_000_010, s.Fetch("a.b", 1_000_000, 1_000_050)!.Start);
        // zero-length range yields one slot
        var z = s.Fetch("a.b", 1_000_020, 1_000_020)!;
        Assert.Equal((1_000_030, 1_000_040), (z.Start, z.End));
        Assert.Null(s.Fetch("nope", 0, Now));
        Assert.Empty(s.Fetch("a.b", Now + 10, Now + 20)!.Values); // wholly in the future: whisper returns None
    }

    [Fact]
    public async Task Writes_during_compaction_are_kept_and_every_point_reads_back()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using var s = TimeSeriesStore.Open(TestStore.Options(), time);
        int n = TimeSeriesStore.CompactionGroup * 2 + 7; // several compaction groups
        var names = Enumerable.Range(0, n).Select(i => $"s.{i}").ToArray();
        long t0 = Now - 3600;
        for (int f = 0; f < 6; f++)
            TestStore.Write(s, t0 + f * 10, [.. names.Select((x, i) => (x, (double)(i + f) / 10, t0 + f * 10))]);
        var compaction = Task.Run(() => s.Compact(force: true));
        for (int f = 6; f < 30; f++) // interleaves with the compaction's groups
            TestStore.Write(s, t0 + f * 10, [.. names.Select((x, i) => (x, (double)(i + f) / 10, t0 + f * 10))]);
        await compaction;
        s.Compact(force: true);
        foreach (var i in new[] { 0, 1, TimeSeriesStore.CompactionGroup, n - 1 })
        {
            var w = s.Fetch(names[i], t0 - 10, t0 + 290)!;
            Assert.Equal(Enumerable.Range(0, 30).Select(f => (double?)((double)(i + f) / 10)), w.Values);
        }
        Assert.Equal(0, s.HeadPointCount);
    }

    [Fact]
    public void Last_write_to_a_slot_wins()
    {
        using var s = TimeSeriesStore.Open(TestStore.Options(), ManualTimeProvider.AtUnixSeconds(Now));
        TestStore.Write(s, 1_000_000, ("a", 1, 1_000_001));
        TestStore.Write(s, 1_000_000, ("a", 2, 1_000_009));
        Assert.Equal(2.0, s.Fetch("a", 999_999, 1_000_000)!.Values[0]);
        s.Compact(force: true);
        TestStore.Write(s, 1_000_000, ("a", 3, 1_000_005));
        Assert.Equal(3.0, s.Fetch("a", 999_999, 1_000_000)!.Values[0]);
        s.Compact(force: true);
        Assert.Equal(3.0, s.Fetch("a", 999_999, 1_000_000)!.Values[0]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RollupsFollowAggregationAndXFilesFactor(bool compact)
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        var o = TestStore.Options(retentions: "10s:1h,1m:1d");
        using var s = TimeSeriesStore.Open(o, time);
        // slot [999960, 1000020): 3 of 6 fine values known; slot [1000020,1000080): 1 of 6.
        foreach (var (t, v) in new[] { (999_960L, 1.0), (999_970, 2), (999_990, 6), (1_000_030, 9) })
            TestStore.Write(s, t, ("x.mean", v, t), ("x.count", v, t), ("x.lower", v, t), ("x.upper_90", v, t), ("stats.gauges.g", v, t));
        if (compact) s.Compact(force: true);
        long from = Now - 7200; // beyond 1h: the 1m archive answers
        double? At(string name, long slot) { var w = s.Fetch(name, from, Now)!; Assert.Equal(60, w.Step); return w.Values[(slot - w.Start) / 60]; }
        Assert.Equal(3.0, At("x.mean", 999_960));     // average, xff 0.3: 3/6 ok
        Assert.Null(At("x.mean", 1_000_020));         // 1/6 < 0.3
        Assert.Equal(9.0, At("x.count", 999_960));    // sum, xff 0
        Assert.Equal(9.0, At("x.count", 1_000_020));
        Assert.Equal(1.0, At("x.lower", 999_960));    // min, xff 0.1
        Assert.Equal(9.0, At("x.lower", 1_000_020));  // 1/6 >= 0.1
        Assert.Equal(6.0, At("x.upper_90", 999_960)); // max
        Assert.Equal(6.0, At("stats.gauges.g", 999_960)); // last
    }

    /// <summary>
    /// A late point into an already sealed 1m/10m slot is merged into the tail chunks (no extra rows), the rollups are
    /// recomputed from the finer archive (whisper propagates on every write), and all of it survives a reopen.
    /// </summary>
    [Fact]
    public void Late_data_is_merged_into_the_tail_chunks_and_rollups_recomputed()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        var o = TestStore.Options(retentions: "10s:1h,1m:1d,10m:30d");
        long Rows()
        {
            using var c = new SqliteConnection($"Data Source={Path.Combine(o.DataDir, "tsdb.db")};Pooling=False");
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT count(*) FROM chunk";
            return (long)cmd.ExecuteScalar()!;
        }
        using (var s = TimeSeriesStore.Open(o, time))
        {
            for (long t = Now - 1200; t < Now; t += 10) TestStore.Write(s, t, ("x.count", 1, t));
            s.Compact(force: true);
            Assert.Equal(3, Rows());
            TestStore.Write(s, Now, ("x.count", 5, Now - 590)); // late: slot Now-590 is sealed in all three archives
            s.Compact(force: true);
            Assert.Equal(3, Rows());
        }
        using var r = TimeSeriesStore.Open(o, time);
        Assert.Equal(5.0, r.Fetch("x.count", Now - 600, Now - 580)!.Values[0]);
        var m = r.Fetch("x.count", Now - 7200, Now)!; // 1m archive, sum
        Assert.Equal(60, m.Step);
        Assert.Equal(10.0, m.Values[(Now - 600 - m.Start) / 60]);
        Assert.Equal(6.0, m.Values[(Now - 540 - m.Start) / 60]);
        var t10 = r.Fetch("x.count", Now - 2 * 86400, Now)!; // 10m archive, sum
        Assert.Equal(600, t10.Step);
        Assert.Equal(64.0, t10.Values[(Now - 600 - t10.Start) / 600]);
        Assert.Equal(60.0, t10.Values[(Now - 1200 - t10.Start) / 600]);
    }

    /// <summary>Compactions that split 1m/10m slots (the render bench writes 24 h, compacting every 2 h from an unaligned start).</summary>
    [Trait("Category", "Slow")]
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RollupsAcrossCompactionBoundariesEqualWhisperAverages(bool reopen)
    {
        const long end = 10_000_000, start = end - 6 * 3600 + 30; // not a multiple of 60
        var time = ManualTimeProvider.AtUnixSeconds(end);
        var o = TestStore.Options(retentions: "10s:1h,1m:7d,10m:5y");
        var rnd = new Random(3);
        var pts = new SortedDictionary<long, double>();
        var s = TimeSeriesStore.Open(o, time);
        for (long t = start; t <= end; t += 10)
        {
            if (rnd.Next(3) > 0) { double v = rnd.Next(1, 40) / (double)rnd.Next(1, 9) + rnd.NextDouble(); pts[t] = v; TestStore.Write(s, t, ("x.mean", v, t)); }
            else TestStore.Write(s, t);
            if ((t - start) % 1970 == 0) s.Compact();
        }
        s.Compact();
        if (reopen) { s.Dispose(); s = TimeSeriesStore.Open(o, time); }
        var w = s.Fetch("x.mean", end - 5 * 3600, end)!;
        Assert.Equal(60, w.Step);
        var bad = new List<string>();
        for (int i = 0; i < w.Values.Length; i++)
        {
            long slot = w.Start + i * 60;
            var known = Enumerable.Range(0, 6).Select(j => slot + j * 10).Where(pts.ContainsKey).Select(t => pts[t]).ToList();
            double? expected = known.Count >= 2 ? known.Sum() / known.Count : null; // average, xFilesFactor 0.3
            if (expected != w.Values[i]) bad.Add($"slot {slot} (#{i}, {(slot - start) % 1970}): expected {expected}, got {w.Values[i]} known {string.Join('/', known)}");
        }
        Assert.True(bad.Count == 0, string.Join("\n", bad));
        s.Dispose();
    }

    [Fact]
    public void Archive_selection_is_finest_covering_from()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using var s = TimeSeriesStore.Open(TestStore.Options(retentions: "10s:1h,1m:1d,10m:30d"), time);
        TestStore.Write(s, Now - 100, ("a", 1, Now - 100));
        Assert.Equal(10, s.Fetch("a", Now - 3600, Now)!.Step);
        Assert.Equal(60, s.Fetch("a", Now - 3601, Now)!.Step);
        Assert.Equal(60, s.Fetch("a", Now - 86400, Now)!.Step);
        Assert.Equal(600, s.Fetch("a", Now - 86401, Now)!.Step);
        var clamped = s.Fetch("a", -5_000_000, Now)!; // before max retention: clamped to now - 30d
        Assert.Equal(600, clamped.Step);
        Assert.Equal(Now - 30 * 86400 + 600, clamped.Start);
    }

    [Fact]
    public void Retention_drops_old_chunks()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using var s = TimeSeriesStore.Open(TestStore.Options(retentions: "10s:1h,1m:2h"), time);
        TestStore.Write(s, Now - 600, ("a.count", 5, Now - 600)); // sum, xFilesFactor 0
        s.Compact(force: true);
        Assert.Contains(5.0, s.Fetch("a.count", Now - 700, Now)!.Values);
        time.UnixSeconds += 3600 + 10; // level-0 expired, 1m archive still holds it
        s.Compact();
        Assert.Contains(5.0, s.Fetch("a.count", Now - 700, time.UnixSeconds)!.Values);
        Assert.Equal(60, s.Fetch("a.count", Now - 700, time.UnixSeconds)!.Step);
        time.UnixSeconds += 7200;
        s.Compact();
        Assert.All(s.Fetch("a.count", Now - 700, time.UnixSeconds)!.Values, v => Assert.Null(v));
    }

    /// <summary>Head rows store integers and rates compactly and anything else raw: every double replays bit-exactly.</summary>
    [Fact]
    public void Head_rows_replay_every_double_exactly()
    {
        double[] values = [0, -0.0, 1, -7, 0.1, 4.9, -0.3, 1.0 / 3, double.NaN, double.PositiveInfinity, double.NegativeInfinity,
            double.Epsilon, double.MaxValue, 9007199254740993.0, -(double)(1L << 60), 123456789.5, BitConverter.Int64BitsToDouble(unchecked((long)0xFFF8_0000_DEAD_BEEF))];
        var o = TestStore.Options();
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using (var s = TimeSeriesStore.Open(o, time))
            TestStore.Write(s, Now - 100, [.. values.Select((v, i) => ($"h.v{i}", v, Now - 100 - i % 3))]);
        using var r = TimeSeriesStore.Open(o, time);
        Assert.Equal(0, r.CorruptHeadRows);
        for (int i = 0; i < values.Length; i++)
        {
            var w = r.Fetch($"h.v{i}", Now - 200, Now)!;
            long slot = Now - 100 - i % 3 - (Now - 100 - i % 3) % 10;
            Assert.Equal(BitConverter.DoubleToInt64Bits(values[i]), BitConverter.DoubleToInt64Bits(w.Values[(slot - w.Start) / 10]!.Value));
        }
    }

    [Fact]
    public void Compaction_moves_head_to_chunks_without_changing_reads()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now + 1500);
        var o = TestStore.Options();
        using var s = TimeSeriesStore.Open(o, time);
        var rnd = new Random(7);
        for (long t = Now - 1800; t < Now + 1800; t += 10)
            TestStore.Write(s, t, ("m.a", rnd.Next(100), t), ("m.b.count", rnd.NextDouble(), t), ("m.c;k=v", rnd.Next(), t + rnd.Next(-30, 30)));
        string[] names = ["m.a", "m.b.count", "m.c;k=v"];
        (long, long)[] ranges = [(Now - 2000, Now + 3600), (Now - 6 * 3600, Now + 3600), (Now - 30 * 86400, Now + 3600)];
        var before = names.SelectMany(n => ranges.Select(r => s.Fetch(n, r.Item1, r.Item2)!)).ToList();
        Assert.True(s.HeadPointCount > 0);
        s.Compact(); // seals everything before the current 10-minute boundary
        Assert.True(s.HeadPointCount > 0 && s.HeadPointCount < 3 * 360);
        Assert.Equal(Json(before), Json(names.SelectMany(n => ranges.Select(r => s.Fetch(n, r.Item1, r.Item2)!))));
        s.Compact(force: true);
        Assert.Equal(0, s.HeadPointCount);
        Assert.Equal(Json(before), Json(names.SelectMany(n => ranges.Select(r => s.Fetch(n, r.Item1, r.Item2)!))));
    }

    private static string Json(IEnumerable<SeriesWindow> ws) => System.Text.Json.JsonSerializer.Serialize(ws);

    [Fact]
    public void Reopen_after_dispose_keeps_everything()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        var o = TestStore.Options();
        List<SeriesWindow> before;
        using (var s = TimeSeriesStore.Open(o, time))
        {
            for (long t = Now - 900; t < Now; t += 10) TestStore.Write(s, t, ("r.a", t, t), ("r.b;x=1", -t, t));
            s.Compact(); // part sealed, part head
            for (long t = Now - 900; t < Now; t += 30) TestStore.Write(s, Now, ("r.a", 1, t));
            before = [s.Fetch("r.a", Now - 1000, Now)!, s.Fetch("r.b;x=1", Now - 1000, Now)!, s.Fetch("r.a", Now - 86400, Now)!];
            Assert.Equal(Now, s.LastPersistedBatchTimestamp);
        }
        using var r = TimeSeriesStore.Open(o, time);
        Assert.Equal(Json(before), Json([r.Fetch("r.a", Now - 1000, Now)!, r.Fetch("r.b;x=1", Now - 1000, Now)!, r.Fetch("r.a", Now - 86400, Now)!]));
        Assert.Equal(Now, r.LastPersistedBatchTimestamp);
        Assert.Equal([new MetricNode("r", false)], r.Find("*"));
        Assert.Equal([new MetricNode("r.a", true)], r.Find("r.*"));
        Assert.Equal(["r.b;x=1"], r.TaggedSeries());
        Assert.True(r.WaitUntilValidated(TimeSpan.FromSeconds(30)), "chunks checked after open");
        Assert.Equal(0, r.CorruptChunks + r.CorruptHeadRows);
    }

    [Fact]
    public void Torn_chunk_is_skipped_and_counted()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        var o = TestStore.Options();
        using (var s = TimeSeriesStore.Open(o, time))
        {
            for (long t = Now - 600; t < Now; t += 10) TestStore.Write(s, t, ("t.a", 42, t), ("t.b", 7, t));
            s.Compact(force: true);
        }
        using (var c = new SqliteConnection($"Data Source={Path.Combine(o.DataDir, "tsdb.db")};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            // Tear the level-0 chunk of t.a: cut its blob short, as a torn write would.
            // The chunk row id packs (series << 28 | level << 24 | chunk number).
            cmd.CommandText = "UPDATE chunk SET data = substr(data, 1, length(data) - 3) WHERE (id >> 24 & 15) = 0 AND (id >> 28) = (SELECT id FROM series WHERE name = 't.a')";
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }
        using var r = TimeSeriesStore.Open(o, time);
        Assert.True(r.WaitUntilValidated(TimeSpan.FromSeconds(30)), "chunks checked after open");
        Assert.Equal(1, r.CorruptChunks);
        var a = r.Fetch("t.a", Now - 601, Now)!;
        Assert.Equal(10, a.Step);
        Assert.All(a.Values, v => Assert.Null(v)); // never garbage
        Assert.All(r.Fetch("t.b", Now - 601, Now - 10)!.Values, v => Assert.Equal(7.0, v));
    }

    [Fact]
    public void A_corrupt_chunk_read_before_the_check_after_open_reaches_it_is_counted_once_and_never_served()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        var o = TestStore.Options();
        using (var s = TimeSeriesStore.Open(o, time))
        {
            for (long t = Now - 600; t < Now; t += 10) TestStore.Write(s, t, ("v.a", 42, t), ("v.b", 7, t));
            s.Compact(force: true);
        }
        using (var c = new SqliteConnection($"Data Source={Path.Combine(o.DataDir, "tsdb.db")};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE chunk SET data = substr(data, 1, length(data) - 3) WHERE (id >> 24 & 15) = 0 AND (id >> 28) = (SELECT id FROM series WHERE name = 'v.a')";
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }
        // Open no longer reads the blobs; the first read checks the one it touches, whether or not the background check has.
        using var r = TimeSeriesStore.Open(o, time);
        Assert.All(r.Fetch("v.a", Now - 601, Now)!.Values, v => Assert.Null(v));
        Assert.True(r.WaitUntilValidated(TimeSpan.FromSeconds(30)), "chunks checked after open");
        Assert.All(r.Fetch("v.a", Now - 601, Now)!.Values, v => Assert.Null(v));
        Assert.Equal(1, r.CorruptChunks);
        Assert.All(r.Fetch("v.b", Now - 601, Now - 10)!.Values, v => Assert.Equal(7.0, v));
    }
}
