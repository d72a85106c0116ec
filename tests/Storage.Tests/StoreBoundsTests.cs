using System.Diagnostics;
using Observe.Collector;
using Observe.Storage.Graphite;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>
/// Issue 15, findings 2 and 6 at the store: a glob cannot backtrack catastrophically and a find never holds the store
/// lock (flushes go on meanwhile); patterns leave no cache behind; series beyond storage.maxSeries are dropped and
/// counted; a pattern matching more than storage.maxFindResults nodes is refused.
/// </summary>
public class StoreBoundsTests
{
    private const long Now = 1_800_000_000;

    [Fact]
    public async Task The_reported_backtracking_glob_answers_at_once()
    {
        using var s = TimeSeriesStore.Open(TestStore.Options(), ManualTimeProvider.AtUnixSeconds(Now));
        TestStore.Write(s, Now, ("stats_counts.x." + new string('a', 60), 1, Now));
        // With a backtracking regex 7 terms took 4.9 s and 10 never returned.
        var find = Task.Run(() => s.Find("stats_counts.x.*a*a*a*a*a*a*a*a*a*a*b"));
        Assert.True(await Task.WhenAny(find, Task.Delay(TimeSpan.FromSeconds(10))) == find, "the find did not return within 10 s");
        Assert.Empty(await find);
        Assert.Single(s.Find("stats_counts.x.*a*a*a*a*a*a*a*a*a*a*"));
    }

    [Trait("Category", "Slow")]
    [Fact]
    public async Task Flushes_are_persisted_while_a_slow_find_runs()
    {
        var o = TestStore.Options();
        o.SynchronousFull = false; // no fsync per flush: the flushes are quick, the find is the slow part
        using var s = TimeSeriesStore.Open(o, ManualTimeProvider.AtUnixSeconds(Now));
        var names = Enumerable.Range(0, 10_000).Select(i => new MetricPoint($"slow.n{i}.{new string('a', 60)}", 1, Now - 60)).ToArray();
        await s.WriteAsync(new MetricBatch(Now - 60, names), default);
        // Linear in name × pattern, but with 10 000 names and a 300-term pattern still a noticeable while.
        // (128 brace alternatives: the automaton, not the piecewise matcher that rejects this at its suffix)
        var pattern = "slow.*." + string.Concat(Enumerable.Repeat("{a,b}", 7)) + string.Concat(Enumerable.Repeat("*a", 300)) + "*b";
        // Finds run back to back while the flushes go on, so the test does not depend on how slow one find is on this
        // machine (a single find once finished before the third flush on a quiet machine). A flush counts as "during a
        // find" when no find completed while it was written: under a store lock held by the find, every flush would
        // wait for one to complete.
        using var stop = new CancellationTokenSource();
        long findsDone = 0;
        var finder = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                Assert.Empty(s.Find(pattern));
                Interlocked.Increment(ref findsDone);
            }
        });
        while (Interlocked.Read(ref findsDone) == 0 && !finder.IsCompleted) await Task.Yield(); // one find measured: the finder is warm
        int duringFind = 0;
        var ts = Now;
        for (var i = 0; i < 10; i++)
        {
            ts += 10;
            var t = ts;
            var before = Interlocked.Read(ref findsDone);
            // A flush with an existing and a new series: both paths of the write must go on during the find.
            var write = s.WriteAsync(new MetricBatch(t, [new MetricPoint("slow.n1." + new string('a', 60), 2, t), new MetricPoint($"fresh.f{t}", 1, t)]), default).AsTask();
            var done = Task.Run(() => write);
            Assert.True(await Task.WhenAny(done, Task.Delay(TimeSpan.FromSeconds(5))) == done, "a flush waited more than 5 s for the find");
            await done;
            if (Interlocked.Read(ref findsDone) == before) duringFind++;
            Assert.Equal(t, s.LastPersistedBatchTimestamp);
        }
        stop.Cancel();
        await finder;
        Assert.True(duringFind >= 3, $"only {duringFind} of 10 flushes persisted while a find ran");
    }

    [Fact]
    public void Twenty_thousand_distinct_patterns_leave_no_cache_behind()
    {
        using var s = TimeSeriesStore.Open(TestStore.Options(), ManualTimeProvider.AtUnixSeconds(Now));
        TestStore.Write(s, Now, ("pat.b1.c", 1, Now), ("pat.b2.c", 1, Now));
        for (var i = 0; i < 200; i++) s.Find($"pat.warm{i}*.c");
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < 20_000; i++) s.Find($"pat.b{i}*.c");
        var grown = GC.GetTotalMemory(forceFullCollection: true) - before;
        // A compiled regex per distinct pattern kept for ever grew the heap by ~7 KB a pattern (277 MB for 35.6 k).
        Assert.True(grown < 10_000_000, $"the heap grew by {grown} bytes after 20 000 distinct patterns");
    }

    [Fact]
    public void New_series_beyond_maxSeries_are_dropped_and_counted_while_known_ones_keep_being_written()
    {
        var o = TestStore.Options();
        o.MaxSeries = 10;
        using var s = TimeSeriesStore.Open(o, ManualTimeProvider.AtUnixSeconds(Now));
        TestStore.Write(s, Now - 20, Enumerable.Range(0, 15).Select(i => ($"card.s{i:00}", (double)i, Now - 20)).ToArray());
        Assert.Equal(10, s.SeriesCount);
        Assert.Equal(5, s.SeriesDroppedByLimit);
        Assert.Equal(10, s.Find("card.*").Count);
        TestStore.Write(s, Now - 10, ("card.s00", 42, Now - 10), ("card.new", 1, Now - 10));
        Assert.Equal(6, s.SeriesDroppedByLimit);
        Assert.Contains(42, s.Fetch("card.s00", Now - 60, Now)!.Values);
        Assert.Null(s.Fetch("card.new", Now - 60, Now));
    }

    [Fact]
    public void A_pattern_matching_more_than_maxFindResults_nodes_is_refused_naming_the_key()
    {
        var o = TestStore.Options();
        o.MaxFindResults = 50;
        using var s = TimeSeriesStore.Open(o, ManualTimeProvider.AtUnixSeconds(Now));
        TestStore.Write(s, Now, Enumerable.Range(0, 100).Select(i => ($"pl.n{i}", 1.0, Now)).ToArray());
        var e = Assert.Throws<GraphiteLimitException>(() => s.Find("pl.*"));
        Assert.Equal("storage.maxFindResults", e.Key);
        Assert.Equal(11, s.Find("pl.n1*").Count); // n1, n10 … n19
    }
}
