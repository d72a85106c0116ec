using Microsoft.Data.Sqlite;
using Observe.Collector;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>
/// Issue 21: creating series (a first flush at a million StatsD names creates 13.7 M): their rows go into the series table in
/// few statements, their names into the trie beside the head append, and nothing of either is lost.
/// </summary>
public class SeriesCreationTests
{
    private const long Now = 1_800_000_000;

    private static readonly string[] Odd = ["q\"uote.count", "back\\slash.count", "ünï.cödé.count", "tab\tname.count", "emoji.\U0001F600.count", "nul\0in.count", "semi;tag=v"];

    [Fact]
    public async Task A_write_creating_many_series_inserts_their_rows_in_few_statements_and_an_open_reads_them_back()
    {
        var o = TestStore.Options();
        var names = Enumerable.Range(0, 10_000).Select(i => $"create.k{i}.count").Concat(Odd).ToArray();
        long statements;
        using (var s = TimeSeriesStore.Open(o, ManualTimeProvider.AtUnixSeconds(Now)))
        {
            long before = s.SeriesInsertStatements;
            await s.WriteAsync(new MetricBatch(Now - 10, names.Select((n, i) => new MetricPoint(n, i, Now - 10)).ToArray()), default);
            statements = s.SeriesInsertStatements - before;
        }
        // 10 007 rows: 19 of 512, then 256 + 16 + 8 + 4 + 2 + 1 (64 to a statement and the rest one by one made 172).
        Assert.InRange(statements, 1, 10_007 / TimeSeriesStore.SeriesInsertBatch + 9);
        using (var c = new SqliteConnection($"Data Source={Path.Combine(o.DataDir, "tsdb.db")};Mode=ReadOnly;Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT id, name FROM series ORDER BY id";
            using var r = cmd.ExecuteReader();
            var rows = new List<(long, string)>();
            while (r.Read()) rows.Add((r.GetInt64(0), r.GetString(1)));
            Assert.Equal(names.Select((n, i) => ((long)i + 1, n)), rows); // ids in the order of the points, names byte for byte
        }
        using (var s = TimeSeriesStore.Open(o, ManualTimeProvider.AtUnixSeconds(Now)))
        {
            Assert.Equal(names.Length, s.SeriesCount);
            foreach (var (n, i) in new[] { (names[0], 0), (names[9_999], 9_999) }.Concat(Odd.Select((n, j) => (n, 10_000 + j))))
                Assert.Equal((double)i, s.Fetch(n, Now - 30, Now)!.Values.Single(v => v != null)!.Value);
            Assert.Equal(["semi;tag=v"], s.TaggedSeries());
        }
    }

    [Fact]
    public async Task A_find_right_after_the_write_that_created_many_series_lists_every_one_also_with_writes_at_once()
    {
        var o = TestStore.Options();
        o.MaxFindResults = 100_000;
        using var s = TimeSeriesStore.Open(o, ManualTimeProvider.AtUnixSeconds(Now));
        int n = TimeSeriesStore.TrieMeanwhileMin + 5_000;
        MetricBatch Batch(string prefix, long ts) => new(ts, Enumerable.Range(0, n).Select(i => new MetricPoint($"{prefix}.k{i}.count", i, ts)).ToArray());

        await s.WriteAsync(Batch("first", Now - 30), default);
        Assert.Equal(n, s.Find("first.*").Count);
        Assert.Equal(n, s.Find("first.*.count").Count);
        Assert.True(s.LastWrite!.RegisterSeconds >= 0 && s.LastWrite.TotalSeconds >= s.LastWrite.RegisterSeconds);

        // Two writes at once, each filling the trie on a thread of its own: one trie writer at a time, no name lost.
        var writes = new[] { "second", "third", "fourth" }.Select((p, i) => Task.Run(async () => await s.WriteAsync(Batch(p, Now - 20 + i), default))).ToArray();
        await Task.WhenAll(writes);
        foreach (var p in new[] { "second", "third", "fourth" }) Assert.Equal(n, s.Find(p + ".*.count").Count);
        Assert.Equal(4 * n, s.SeriesCount);
    }

    [Fact]
    public async Task A_new_name_twice_in_one_write_and_a_known_one_after_it_each_find_their_one_series()
    {
        using var s = TimeSeriesStore.Open(TestStore.Options(), ManualTimeProvider.AtUnixSeconds(Now));
        TestStore.Write(s, Now - 20, ("known.a", 1, Now - 20));
        await s.WriteAsync(new MetricBatch(Now - 10, [new("twice.a", 2, Now - 20), new("known.a", 3, Now - 10), new("twice.a", 4, Now - 10)]), default);
        Assert.Equal(2, s.SeriesCount);
        Assert.Equal([2.0, 4.0], s.Fetch("twice.a", Now - 30, Now - 10)!.Values.Where(v => v != null).Select(v => v!.Value));
        Assert.Equal([1.0, 3.0], s.Fetch("known.a", Now - 30, Now - 10)!.Values.Where(v => v != null).Select(v => v!.Value));
    }
}
