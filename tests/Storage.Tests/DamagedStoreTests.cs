using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Observe.Durability;
using Observe.Storage.Graphite;
using Observe.Storage.Logs;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>Finding 9 of issue 15: a damaged store file is moved aside, named once, its loss described; the store opens empty.</summary>
public class DamagedStoreTests
{
    private const long Now = 1_800_000_000;

    public enum Damage { Truncated, ZeroedHeader }

    private static void Spoil(string path, Damage damage)
    {
        SqliteConnection.ClearAllPools();
        var bytes = File.ReadAllBytes(path);
        if (damage == Damage.Truncated) File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        else { Array.Clear(bytes, 0, 100); File.WriteAllBytes(path, bytes); }
    }

    private static void Checkpoint(string path)
    {
        // Everything into the main file (and no -wal left), so spoiling the file spoils the data.
        using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
        cmd.ExecuteNonQuery();
    }

    private static DamagedStore AssertQuarantined(string path, ListLogger log)
    {
        var found = Assert.Single(StoreQuarantine.Damaged, d => d.File == Path.GetFullPath(path));
        Assert.True(File.Exists(found.MovedTo), $"{found.MovedTo} missing");
        Assert.Matches(@"\.corrupt-\d{8}T\d{6}Z$", found.MovedTo);
        var line = Assert.Single(log.Lines, l => l.Level == LogLevel.Error && l.Text.Contains(Path.GetFullPath(path)));
        Assert.False(line.HasException); // one line, no stack
        Assert.Contains(found.MovedTo, line.Text);
        return found;
    }

    [Theory]
    [InlineData(Damage.Truncated)]
    [InlineData(Damage.ZeroedHeader)]
    public void A_damaged_tsdb_is_moved_aside_with_its_series_and_time_range_and_a_fresh_one_works(Damage damage)
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        var o = TestStore.Options();
        var path = Path.Combine(o.DataDir, "tsdb.db");
        using (var s = TimeSeriesStore.Open(o, time))
        {
            // Enough series, chunks and flushes that half the file holds part of them: the first hour sealed, the second in
            // the head (compaction gives the head's pages back since issue 21: sealed alone, this is a file of a few pages).
            for (long t = Now - 7200; t < Now; t += 10)
            {
                TestStore.Write(s, t, [.. Enumerable.Range(0, 50).Select(i => ($"dmg.s{i}", (double)i, t))]);
                if (t == Now - 3610) s.Compact(force: true);
            }
        }
        Checkpoint(path);
        Spoil(path, damage);
        var log = new ListLogger();
        using var r = TimeSeriesStore.Open(o, time, log);
        var found = AssertQuarantined(path, log);
        // A truncated file still shows its series and time range; a zeroed header hides everything.
        if (damage == Damage.Truncated)
        {
            Assert.Contains("50 series (dmg.s0, dmg.s1", found.Lost);
            Assert.Contains($"from {DateTimeOffset.FromUnixTimeSeconds(Now - 7200):u}", found.Lost);
        }
        else Assert.Contains("unreadable", found.Lost);
        TestStore.Write(r, Now, ("dmg.after", 3, Now - 10));
        Assert.Equal(3, r.Fetch("dmg.after", Now - 11, Now)!.Values[0]);
    }

    [Trait("Category", "Slow")]
    [Theory]
    [InlineData(Damage.Truncated)]
    [InlineData(Damage.ZeroedHeader)]
    public void A_damaged_log_store_or_events_store_is_moved_aside_and_a_fresh_one_works(Damage damage)
    {
        var dir = TestStore.TempDir();
        var logsPath = Path.Combine(dir, "logs.db");
        var options = new LogStoreOptions();
        using (var l = LogStore.Open(logsPath, options, startRetentionTimer: false))
            for (var b = 0; b < 20; b++)
                l.Insert([.. Enumerable.Range(0, 200).Select(i => new Collector.LogEvent(DateTimeOffset.UtcNow, "info", "h", "svc", $"message {b} {i} " + new string('x', 200), new Dictionary<string, string>()))]);
        using (var e = GraphiteEventStore.Open(dir))
            for (var i = 0; i < 2000; i++) e.Add($"event {i} " + new string('y', 100), ["t"], "", Now + i);
        Checkpoint(logsPath);
        Checkpoint(Path.Combine(dir, "events.db"));
        Spoil(logsPath, damage);
        Spoil(Path.Combine(dir, "events.db"), damage);

        var log = new ListLogger();
        using var logs = LogStore.Open(logsPath, options, startRetentionTimer: false, log: log);
        using var events = GraphiteEventStore.Open(dir, log);
        AssertQuarantined(logsPath, log);
        AssertQuarantined(Path.Combine(dir, "events.db"), log);
        logs.Insert([new Collector.LogEvent(DateTimeOffset.UtcNow, "info", "h", "svc", "after", new Dictionary<string, string>())]);
        Assert.Single(logs.Search(new LogQuery("after", null, null, null, null, null, 10)));
        events.Add("after", ["t"], "", Now);
    }

    [Fact]
    public void The_loss_of_a_damaged_file_whose_rows_read_back_null_is_still_described()
    {
        // A damaged page can hand back NULL where the schema says NOT NULL (seen with a truncated auto_vacuum file): the
        // description skips such rows instead of failing as a whole ("lost: unknown (The data is NULL at ordinal 0 …)").
        var path = Path.Combine(Repo.TempDir("loss-nulls"), "tsdb.db");
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE series (id INTEGER PRIMARY KEY, name TEXT);
                CREATE TABLE chunk (id INTEGER PRIMARY KEY, min_ts INTEGER, max_ts INTEGER);
                CREATE TABLE head (seq INTEGER PRIMARY KEY, batch_ts INTEGER, max_ts INTEGER);
                INSERT INTO series VALUES (1, NULL), (2, 'stats.web.requests');
                INSERT INTO chunk VALUES (1, NULL, NULL), (2, 1800000000, 1800000600);
                INSERT INTO head VALUES (1, NULL, 1800000700);
                """;
            cmd.ExecuteNonQuery();
        }
        var lost = TimeSeriesStore.DescribeLoss(path);
        Assert.Contains("stats.web.requests", lost);
        Assert.Contains("points from 2027-01-15 08:00:00Z to 2027-01-15 08:10:00Z", lost);
    }

    [Fact]
    public void Each_corrupt_chunk_is_logged_with_its_series_and_time_range_rate_limited()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        var o = TestStore.Options();
        using (var s = TimeSeriesStore.Open(o, time))
        {
            for (long t = Now - 600; t < Now; t += 10)
                TestStore.Write(s, t, [.. Enumerable.Range(0, 30).Select(i => ($"flip.s{i}", (double)i, t))]);
            s.Compact(force: true);
        }
        using (var c = new SqliteConnection($"Data Source={Path.Combine(o.DataDir, "tsdb.db")};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            // Flip bytes in the middle of every level-0 chunk blob (the CRC no longer matches).
            cmd.CommandText = "UPDATE chunk SET data = CAST(substr(data, 1, 20) || randomblob(4) || substr(data, 25) AS BLOB) WHERE (id >> 24 & 15) = 0";
            Assert.Equal(30, cmd.ExecuteNonQuery());
        }
        var log = new ListLogger();
        using var r = TimeSeriesStore.Open(o, time, log);
        Assert.True(r.WaitUntilValidated(TimeSpan.FromSeconds(30)), "chunks checked after open");
        Assert.Equal(30, r.CorruptChunks);
        var lines = log.Lines.Where(l => l.Text.Contains("corrupt chunk")).ToList();
        Assert.Equal(10, lines.Count); // at most 10 a minute
        Assert.Contains(lines, l => l.Text.Contains("flip.s0 (archive 0) covering " + $"{DateTimeOffset.FromUnixTimeSeconds(Now - 600):u}"));
        Assert.All(lines, l => Assert.False(l.HasException));
    }

    [Fact]
    public void A_corrupt_head_row_is_logged_with_its_flush_and_number_of_points()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        var o = TestStore.Options();
        using (var s = TimeSeriesStore.Open(o, time))
            TestStore.Write(s, Now - 10, [.. Enumerable.Range(0, 500).Select(i => ($"head.s{i}", (double)i, Now - 10))]);
        using (var c = new SqliteConnection($"Data Source={Path.Combine(o.DataDir, "tsdb.db")};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE head SET data = CAST(substr(data, 1, 40) || randomblob(4) || substr(data, 45) AS BLOB)";
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }
        var log = new ListLogger();
        using var r = TimeSeriesStore.Open(o, time, log);
        Assert.Equal(1, r.CorruptHeadRows);
        var line = Assert.Single(log.Lines, l => l.Text.Contains("corrupt head row"));
        Assert.Contains($"flush of {DateTimeOffset.FromUnixTimeSeconds(Now - 10):u}", line.Text);
        Assert.Contains("500 points", line.Text);
    }
}
