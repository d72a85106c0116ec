using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Observe.Common;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>
/// Issue 21, a backlog fed as fast as the store accepts: sealed at once it became one chunk of thousands of points
/// (docs/storage.md says at most 720), and the head rows it had written left the file mostly free pages.
/// </summary>
public class BacklogDiskTests
{
    private const long Start = 1_000_200; // a multiple of 600

    [Fact]
    public void A_backlog_sealed_at_once_is_stored_in_chunks_of_at_most_720_points()
    {
        const int n = 2000;
        var time = ManualTimeProvider.AtUnixSeconds(Start + n * 10L + 10);
        var o = TestStore.Options(retentions: "10s:1d,1m:30d");
        o.SynchronousFull = false;
        using var s = TimeSeriesStore.Open(o, time);
        for (int i = 0; i < n; i++)
        {
            long t = Start + i * 10L;
            TestStore.Write(s, t, ("backlog.a", i % 17, t), ("backlog.b", i * 0.5, t));
        }
        s.Compact();
        var counts = ChunkPointCounts(o);
        Assert.All(counts, c => Assert.True(c.Points <= TimeSeriesStore.MaxChunkPoints, $"a level-{c.Level} chunk of {c.Points} points"));
        Assert.Equal(2 * n, counts.Where(c => c.Level == 0).Sum(c => c.Points));
        foreach (var (name, value) in new (string, Func<int, double>)[] { ("backlog.a", i => i % 17), ("backlog.b", i => i * 0.5) })
        {
            var w = s.Fetch(name, Start - 1, Start + n * 10L)!;
            for (int i = 0; i < n; i++) Assert.Equal(value(i), w.Values[(Start + i * 10L - w.Start) / w.Step]);
        }
    }

    [Fact]
    public void Pages_freed_by_compaction_and_retention_are_given_back()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Start);
        var o = TestStore.Options(retentions: "10s:2h");
        o.SynchronousFull = false;
        using var s = TimeSeriesStore.Open(o, time);
        const int flushes = 800;
        WriteBacklog(s, time, flushes);
        var full = Pages(o);
        s.Compact();
        var compacted = Pages(o);
        Assert.True(compacted.Free <= compacted.Pages / 16 + 1, $"{compacted.Free} of {compacted.Pages} pages free after compaction");
        Assert.True(compacted.Pages < full.Pages * 3 / 4, $"{compacted.Pages} pages after compaction, {full.Pages} before");
        // Retention: the first chunk of every series (720 slots) expires once a newer one exists; its pages go back too.
        time.UnixSeconds = Start + 720 * 10L + 2 * 3600 + 60;
        s.Compact();
        var expired = Pages(o);
        Assert.True(expired.Pages < compacted.Pages * 3 / 4, $"{expired.Pages} pages after retention, {compacted.Pages} before");
        Assert.True(expired.Free <= expired.Pages / 16 + 1, $"{expired.Free} of {expired.Pages} pages free after retention");
        Assert.True(s.PagesReclaimed > 0);
        Assert.Contains(s.Fetch("backlog.s0", Start + 7300, Start + flushes * 10L)!.Values, v => v != null);
    }

    /// <summary>The pages given back are one of the store's stats (<c>/metrics</c> <c>observe_tsdb_pages_reclaimed_total</c>,
    /// the <c>observe.storage.pages_reclaimed_per_second</c> series, <c>/stats</c> storage.pagesReclaimed): read through the store the
    /// host registers and its entry in the one stats list.</summary>
    [Fact]
    public void Pages_given_back_after_a_compaction_are_a_counter_of_the_stores_stats()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Start);
        var o = TestStore.Options(retentions: "10s:2h");
        o.SynchronousFull = false;
        var services = new ServiceCollection().AddSingleton<TimeProvider>(time).AddSingleton<StorageLimitHits>();
        services.AddObserveTsdb(o, embeddedSink: false);
        using var provider = services.BuildServiceProvider();
        var stats = provider.GetRequiredService<Func<StorageStats>>();
        var counter = Assert.Single(StorageHosting.StorageStatList, d => d.Family == "observe_tsdb_pages_reclaimed_total");
        Assert.Equal(StatKind.Counter, counter.Kind);
        double Counted() => Assert.Single(counter.Read(stats())).Value;
        Assert.Equal(0, Counted());

        var s = provider.GetRequiredService<StoreOpening>().Store;
        WriteBacklog(s, time, flushes: 800);
        s.Compact();
        Assert.True(Counted() > 0, "no pages counted after a compaction that freed the head rows' pages");
        Assert.Equal(s.PagesReclaimed, Counted());
    }

    /// <summary>Flushes of 300 series held in the head (800 flushes: head rows of ~1.5 MB), the clock then just past them:
    /// one compaction seals them all (two chunks per series) and frees the head rows' pages.</summary>
    private static void WriteBacklog(TimeSeriesStore s, ManualTimeProvider time, int flushes)
    {
        var rnd = new Random(7);
        var names = Enumerable.Range(0, 300).Select(i => $"backlog.s{i}").ToArray();
        for (int f = 0; f < flushes; f++)
        {
            long t = Start + f * 10L;
            TestStore.Write(s, t, names.Select(name => (name, (double)rnd.Next(1_000_000), t)).ToArray());
        }
        time.UnixSeconds = Start + flushes * 10L + 10;
    }

    /// <summary>Files written before format 3 (auto_vacuum NONE, user_version 2) open, read, write and compact as before.</summary>
    [Fact]
    public void A_format_2_database_without_incremental_vacuum_keeps_working()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Start + 100);
        var o = TestStore.Options();
        using (var s = TimeSeriesStore.Open(o, time))
        {
            TestStore.Write(s, Start, ("old.a", 1.5, Start));
            s.Compact(force: true);
        }
        using (var c = Connect(o))
        {
            Exec(c, "PRAGMA journal_mode=DELETE; PRAGMA auto_vacuum=NONE; VACUUM; PRAGMA user_version=2;");
            Assert.Equal(0L, Scalar(c, "PRAGMA auto_vacuum"));
        }
        using (var s = TimeSeriesStore.Open(o, time))
        {
            Assert.Equal(1.5, s.Fetch("old.a", Start - 10, Start + 100)!.Values.First(v => v != null));
            for (int f = 1; f <= 50; f++) TestStore.Write(s, Start + f * 10L, ("old.a", f, Start + f * 10L));
            time.UnixSeconds = Start + 600;
            s.Compact();
            Assert.Equal(0, s.PagesReclaimed);
            Assert.Equal(50.0, s.Fetch("old.a", Start - 10, Start + 600)!.Values.Last(v => v != null));
        }
        using (var c = Connect(o)) Assert.Equal(4L, Scalar(c, "PRAGMA user_version")); // opened by this build: marked with its format
    }

    private static SqliteConnection Connect(StorageOptions o)
    {
        var c = new SqliteConnection($"Data Source={Path.Combine(o.DataDir, "tsdb.db")};Pooling=False");
        c.Open();
        return c;
    }

    private static void Exec(SqliteConnection c, string sql) { using var cmd = c.CreateCommand(); cmd.CommandText = sql; cmd.ExecuteNonQuery(); }
    private static long Scalar(SqliteConnection c, string sql) { using var cmd = c.CreateCommand(); cmd.CommandText = sql; return (long)cmd.ExecuteScalar()!; }

    private static (long Pages, long Free) Pages(StorageOptions o)
    {
        using var c = Connect(o);
        return (Scalar(c, "PRAGMA page_count"), Scalar(c, "PRAGMA freelist_count"));
    }

    private static List<(int Level, int Points)> ChunkPointCounts(StorageOptions o)
    {
        using var c = Connect(o);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id >> 24 & 15, data FROM chunk";
        using var r = cmd.ExecuteReader();
        var list = new List<(int, int)>();
        while (r.Read()) list.Add((r.GetInt32(0), Gorilla.Decode((byte[])r.GetValue(1)).Ts.Length));
        return list;
    }
}
