using FsCheck.Xunit;
using Microsoft.Data.Sqlite;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>
/// Issue 21: the compact per-series state (archive state inline for three archives, an array only for more; head points in
/// one struct array) and series created in batches with ids assigned in memory.
/// </summary>
public class SeriesStateTests
{
    private const long Start = 1_000_200; // a multiple of 600

    [Property(MaxTest = 100)]
    public void Archive_state_round_trips_for_any_archive_count(int seed)
    {
        var rnd = new Random(seed);
        int n = rnd.Next(1, 8);
        var retentions = string.Join(',', Enumerable.Range(0, n).Select(k => $"{10 << k}s:{(k + 1) * 1000 * (10 << k)}s"));
        var s = new TimeSeriesStore.SeriesState(7, "a.b", new RuleSet(TestStore.Options(retentions: retentions)).KindFor("a.b"));
        Assert.Equal(n, s.ArchiveCount);
        var expected = new ArchiveState[n];
        for (int k = 0; k < n; k++)
        {
            Assert.Equal(long.MinValue, s.Arch(k).SealedMax);
            Assert.Null(s.Arch(k).Tail);
            expected[k] = new ArchiveState
            {
                SealedMax = rnd.NextInt64(),
                NextChunk = rnd.Next(1 << 24), // the chunk numbers a row id holds
                Tail = rnd.Next(3) == 0 ? null : new TailChunk(rnd.Next(1 << 24), rnd.NextInt64(), rnd.NextInt64(), rnd.Next(721), rnd.Next(2) == 0),
            };
            s.Arch(k) = expected[k];
        }
        s.Arch(rnd.Next(n)).NextChunk++; // in place, through the reference
        for (int k = 0; k < n; k++)
        {
            Assert.Equal(expected[k].SealedMax, s.Arch(k).SealedMax);
            Assert.Equal(expected[k].Tail, s.Arch(k).Tail);
        }
        Assert.Equal(expected.Sum(a => (long)a.NextChunk) + 1, Enumerable.Range(0, n).Sum(k => (long)s.Arch(k).NextChunk));
        Assert.Equal(expected.Select(a => a.Tail), s.CopyTails());
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Arch(Math.Max(n, 3)).SealedMax); // the three inline ones always exist
    }

    /// <summary>Five archives (two beyond the inline three): compacting every minute reads as one final compaction, also after a reopen.</summary>
    [Fact]
    public void Five_archives_seal_and_reopen_as_one_final_compaction()
    {
        const string retentions = "10s:1h,1m:3h,5m:1d,10m:7d,1h:5y";
        var time = ManualTimeProvider.AtUnixSeconds(Start);
        var often = TestStore.Options(retentions: retentions);
        var once = TestStore.Options(retentions: retentions);
        var a = TimeSeriesStore.Open(often, time);
        using var b = TimeSeriesStore.Open(once, time);
        var rnd = new Random(5);
        string[] names = ["p.mean", "p.count", "p.sparse"];
        for (long t = Start + 30; t < Start + 4 * 3600; t += 10)
        {
            time.UnixSeconds = t + 10;
            var pts = names.Where(n => rnd.Next(n == "p.sparse" ? 15 : 2) == 0).Select(n => (n, (double)rnd.Next(1, 500), t)).ToList();
            if (rnd.Next(60) == 0) pts.Add(("p.mean", 7.5, t - rnd.Next(1, 2000))); // late data into sealed slots
            TestStore.Write(a, t, [.. pts]);
            TestStore.Write(b, t, [.. pts]);
            if ((t - Start) % 60 == 0) a.Compact();
        }
        a.Compact(force: true);
        b.Compact(force: true);
        a.Dispose();
        a = TimeSeriesStore.Open(often, time);
        long now = time.UnixSeconds;
        foreach (var n in names)
            foreach (long back in new long[] { 3000, 2 * 3600, 20 * 3600, 3 * 86400, 30 * 86400 }) // each archive
            {
                var x = a.Fetch(n, now - back, now)!; var y = b.Fetch(n, now - back, now)!;
                Assert.Equal(y.Step, x.Step);
                Assert.Equal(y.Values, x.Values);
                if (n != "p.sparse") Assert.Contains(y.Values, v => v != null);
            }
        a.Dispose();
    }

    /// <summary>
    /// Compaction works through the series written lately, not every series: a series keeps its emptied head array while it
    /// is being written (no garbage per series per compaction) and gives it back once it got nothing for a whole interval.
    /// </summary>
    [Fact]
    public void Idle_series_leave_compaction_and_give_their_head_back()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Start);
        using var s = TimeSeriesStore.Open(TestStore.Options(), time);
        for (int f = 0; f < 3; f++)
        {
            long t = Start + f * 10;
            time.UnixSeconds = t + 10;
            TestStore.Write(s, t, [.. Enumerable.Range(0, 100).Where(i => f == 0 || i < 10).Select(i => ($"q.s{i}", (double)i, t))]);
            s.Compact();
        }
        // The last compaction forgot the 90 series idle since the one before; the 10 still written stay (heads emptied).
        Assert.Equal(10, s.SeriesWithHead);
        Assert.Equal(0, s.HeadPointCount);
        Assert.Equal([5.0, 5.0, 5.0], s.Fetch("q.s5", Start - 10, Start + 20)!.Values);
        Assert.Equal([50.0, null, null], s.Fetch("q.s50", Start - 10, Start + 20)!.Values);
        time.UnixSeconds = Start + 60;
        s.Compact();
        Assert.Equal(0, s.SeriesWithHead);
    }

    /// <summary>Many new series in one write (past the 64-row insert batch, with repeats) and more later: one row each, ids dense and stable over a reopen.</summary>
    [Fact]
    public void Series_created_in_batches_get_one_row_each_and_keep_their_ids()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Start + 100);
        var o = TestStore.Options();
        var first = Enumerable.Range(0, 150).Select(i => ($"m.s{i}", (double)i, Start)).ToList();
        first.Add(("m.s3", 33.0, Start + 10)); // the same new name twice in one batch
        var second = Enumerable.Range(140, 70).Select(i => ($"m.s{i}", (double)i + 1000, Start + 20)).ToArray();
        using (var s = TimeSeriesStore.Open(o, time))
        {
            TestStore.Write(s, Start + 10, [.. first]);
            Assert.Equal(150, s.SeriesCount);
            TestStore.Write(s, Start + 20, second);
            Assert.Equal(210, s.SeriesCount);
        }
        using (var s = TimeSeriesStore.Open(o, time))
        {
            Assert.Equal(210, s.SeriesCount);
            Assert.Equal([0.0, null, null], s.Fetch("m.s0", Start - 10, Start + 20)!.Values);
            Assert.Equal([3.0, 33.0, null], s.Fetch("m.s3", Start - 10, Start + 20)!.Values);
            Assert.Equal([145.0, null, 1145.0], s.Fetch("m.s145", Start - 10, Start + 20)!.Values);
            TestStore.Write(s, Start + 30, ("m.new", 1, Start + 30));
        }
        using var c = new SqliteConnection($"Data Source={Path.Combine(o.DataDir, "tsdb.db")};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT count(*), count(DISTINCT name), min(id), max(id) FROM series";
        using var r = cmd.ExecuteReader();
        Assert.True(r.Read());
        Assert.Equal([211L, 211L, 1L, 211L], new[] { r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3) });
    }
}
