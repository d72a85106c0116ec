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
    public async Task A_write_creating_fewer_series_than_a_block_inserts_rows_512_to_a_statement_name_for_name()
    {
        var o = TestStore.Options();
        var names = Enumerable.Range(0, TimeSeriesStore.SeriesBlockMin - 1 - Odd.Length).Select(i => $"create.k{i}.count").Concat(Odd).ToArray();
        long statements;
        using (var s = TimeSeriesStore.Open(o, ManualTimeProvider.AtUnixSeconds(Now)))
        {
            long before = s.SeriesInsertStatements;
            await s.WriteAsync(new MetricBatch(Now - 10, names.Select((n, i) => new MetricPoint(n, i, Now - 10)).ToArray()), default);
            statements = s.SeriesInsertStatements - before;
        }
        // 1 023 rows: 512 + 256 + 128 + 64 + 32 + 16 + 8 + 4 + 2 + 1 (64 to a statement and the rest one by one made 78).
        Assert.Equal(10, statements);
        using (var c = Open(o))
        {
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
            for (int i = 0; i < names.Length; i++) Assert.Equal((double)i, s.Fetch(names[i], Now - 30, Now)!.Values.Single(v => v != null)!.Value);
        }
    }
    [Fact]
    public async Task A_write_creating_many_series_stores_their_names_as_one_block_row_and_an_open_reads_them_back()
    {
        var o = TestStore.Options();
        var names = Enumerable.Range(0, 10_000).Select(i => $"stats.timers.block.k{i}.count").Concat(Odd).ToArray();
        long statements;
        using (var s = TimeSeriesStore.Open(o, ManualTimeProvider.AtUnixSeconds(Now)))
        {
            long before = s.SeriesInsertStatements;
            await s.WriteAsync(new MetricBatch(Now - 10, names.Select((n, i) => new MetricPoint(n, i, Now - 10)).ToArray()), default);
            statements = s.SeriesInsertStatements - before;
        }
        Assert.Equal(1, statements); // 10 007 rows of 512 made 20 (64 to a statement: 157 and 23 one by one)
        using (var c = new SqliteConnection($"Data Source={Path.Combine(o.DataDir, "tsdb.db")};Mode=ReadOnly;Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT (SELECT count(*) FROM series), (SELECT group_concat(first_id || ':' || count) FROM series_block), (SELECT sum(length(data)) FROM series_block), (SELECT user_version FROM pragma_user_version)";
            using var r = cmd.ExecuteReader();
            Assert.True(r.Read());
            Assert.Equal((0L, "1:10007", 4L), (r.GetInt64(0), r.GetString(1), r.GetInt64(3)));
            Assert.InRange(r.GetInt64(2), 1, names.Sum(n => n.Length) / 2); // front-coded: less than half the names' bytes (as the collector's, they share their start)
        }
        using (var s = TimeSeriesStore.Open(o, ManualTimeProvider.AtUnixSeconds(Now)))
        {
            Assert.Equal(names.Length, s.SeriesCount);
            // Each name gets back the value written under its id: the block's names are in id order.
            for (int i = 0; i < names.Length; i++) Assert.Equal((double)i, s.Fetch(names[i], Now - 30, Now)!.Values.Single(v => v != null)!.Value);
            Assert.Equal(["semi;tag=v"], s.TaggedSeries());
            Assert.Equal(10_000, s.Find("stats.timers.block.*.count").Count);
        }
    }

    [Fact]
    public void A_store_of_series_rows_and_blocks_opens_with_every_series_at_its_id_and_new_ids_follow_them_all()
    {
        var o = TestStore.Options();
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        var big = Enumerable.Range(0, TimeSeriesStore.SeriesBlockMin).Select(i => ($"mix.big.k{i}", (double)i, Now - 20)).ToArray();
        using (var s = TimeSeriesStore.Open(o, time))
        {
            TestStore.Write(s, Now - 30, ("mix.row.a", 1, Now - 30), ("mix.row.b", 2, Now - 30)); // rows (the layout of format 3)
            TestStore.Write(s, Now - 20, big); // a block
            TestStore.Write(s, Now - 10, ("mix.row.c", 3, Now - 10), ("mix.big.k5", 55, Now - 10)); // a row after it
        }
        SetUserVersion(o, 3); // as an older build left it: format 3 is read and marked 4
        using (var s = TimeSeriesStore.Open(o, time))
        {
            Assert.Equal(3 + big.Length, s.SeriesCount);
            Assert.Equal([1.0, null, null], s.Fetch("mix.row.a", Now - 40, Now - 10)!.Values);
            Assert.Equal([null, 5.0, 55.0], s.Fetch("mix.big.k5", Now - 40, Now - 10)!.Values);
            Assert.Equal([null, (double)(big.Length - 1), null], s.Fetch($"mix.big.k{big.Length - 1}", Now - 40, Now - 10)!.Values);
            Assert.Equal([null, null, 3.0], s.Fetch("mix.row.c", Now - 40, Now - 10)!.Values);
            TestStore.Write(s, Now, ("mix.row.d", 4, Now));
        }
        Assert.Equal(4L, UserVersion(o));
        using (var c = Open(o))
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT group_concat(id || '=' || name, ' ') FROM series";
            Assert.Equal($"1=mix.row.a 2=mix.row.b {3 + big.Length}=mix.row.c {4 + big.Length}=mix.row.d", (string)cmd.ExecuteScalar()!);
        }
        using (var s = TimeSeriesStore.Open(o, time))
        {
            Assert.Equal(4 + big.Length, s.SeriesCount);
            Assert.Equal([null, 5.0, 55.0, null], s.Fetch("mix.big.k5", Now - 40, Now)!.Values);
            Assert.Equal([null, null, null, 4.0], s.Fetch("mix.row.d", Now - 40, Now)!.Values);
        }
    }

    [Fact]
    public void A_block_that_does_not_verify_is_skipped_and_logged_the_other_series_served_and_its_ids_never_given_again()
    {
        var o = TestStore.Options();
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using (var s = TimeSeriesStore.Open(o, time))
        {
            TestStore.Write(s, Now - 20, ("kept.a", 1, Now - 20));
            TestStore.Write(s, Now - 20, [.. Enumerable.Range(0, TimeSeriesStore.SeriesBlockMin).Select(i => ($"lost.k{i}", (double)i, Now - 20))]);
            s.Compact(force: true); // sealed: the head row holding both kinds of series is gone
        }
        using (var c = Open(o))
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT data FROM series_block";
            var data = (byte[])cmd.ExecuteScalar()!;
            data[data.Length / 2] ^= 0x40;
            cmd.CommandText = "UPDATE series_block SET data = $d";
            cmd.Parameters.AddWithValue("$d", data);
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }
        var log = new ListLogger();
        using (var s = TimeSeriesStore.Open(o, time, log))
        {
            Assert.Equal(1, s.CorruptSeriesBlocks);
            Assert.Contains(log.Lines, l => l.Text.Contains("series block 2") && l.Text.Contains("not served"));
            Assert.Equal(1, s.SeriesCount);
            Assert.Equal([1.0], s.Fetch("kept.a", Now - 30, Now - 20)!.Values);
            Assert.Null(s.Fetch("lost.k0", Now - 30, Now - 20));
            TestStore.Write(s, Now - 10, ("after.a", 7, Now - 10));
        }
        using (var c = Open(o))
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT id FROM series WHERE name = 'after.a'";
            Assert.Equal(2L + TimeSeriesStore.SeriesBlockMin, (long)cmd.ExecuteScalar()!); // not an id of the lost block's series
        }
    }

    private static SqliteConnection Open(StorageOptions o)
    {
        var c = new SqliteConnection($"Data Source={Path.Combine(o.DataDir, "tsdb.db")};Pooling=False");
        c.Open();
        return c;
    }

    private static long UserVersion(StorageOptions o)
    {
        using var c = Open(o);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA user_version";
        return (long)cmd.ExecuteScalar()!;
    }

    private static void SetUserVersion(StorageOptions o, int v)
    {
        using var c = Open(o);
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"PRAGMA user_version={v}";
        cmd.ExecuteNonQuery();
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
