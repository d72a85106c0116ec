using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Observe.Collector;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>
/// Issue 21 (restart to first /render): a clean stop (the host disposing the opening store after its stages stopped) writes the
/// head checkpoint instead of sealing the head into chunks, and the next open loads it instead of replaying head rows. The head
/// rows stay the truth: rows written after the checkpoint are replayed, and a corrupt checkpoint, one whose rows were compacted
/// and whose seqs were reused, or one written under other schema rules is not taken for rows it does not match.
/// </summary>
public sealed class HeadCheckpointTests
{
    private const long Now = 1_000_200; // a whole minute: the 1-minute archive's slots start at Now − 60k

    private static StoreOpening Opening(StorageOptions options, TimeProvider time) =>
        new(() => TimeSeriesStore.Open(options, time), TimeSpan.FromSeconds(30));

    private static void Write(IMetricSink store, long ts, params (string Name, double Value)[] points) =>
        store.WriteAsync(new MetricBatch(ts, [.. points.Select(p => new MetricPoint(p.Name, p.Value, ts))]), default).AsTask().GetAwaiter().GetResult();

    private static long Scalar(StorageOptions o, string sql)
    {
        using var c = new SqliteConnection($"Data Source={Path.Combine(o.DataDir, "tsdb.db")};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar() is long v ? v : -1;
    }

    private static void Exec(StorageOptions o, string sql) => Scalar(o, sql);

    [Fact]
    public void A_clean_stop_writes_no_chunk_and_the_next_open_loads_the_checkpoint_instead_of_replaying_rows()
    {
        var options = TestStore.Options();
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using (var first = Opening(options, time))
        {
            for (int i = 3; i >= 1; i--) Write(first, Now - i * 10, ("a.b", i), ("a.c", i * 2.5), ("t;host=x", -i));
            Write(first, Now, ("a.b", 0.1));
            // The same slot again (a later write wins) and a back-filled point (older than 6 h: the 1-minute archive).
            TestStore.Write(first.Store, Now, ("a.b", 20, Now - 20), ("a.b", 7, Now - 8 * 3600));
            Assert.Equal(11, first.Store.HeadPointCount);
        }
        Assert.Equal(0, Scalar(options, "SELECT count(*) FROM chunk"));
        Assert.Equal(5, Scalar(options, "SELECT count(*) FROM head"));
        using (var store = TimeSeriesStore.Open(options, time))
        {
            Assert.Equal(0, store.ReplayedHeadPoints);
            Assert.Equal(5, store.CheckpointRows);
            Assert.Equal(12, store.CheckpointPoints);
            Assert.Equal(11, store.HeadPointCount);
            Assert.Equal([3.0, 20, 1, 0.1], store.Fetch("a.b", Now - 40, Now)!.Values);
            Assert.Equal([7.5, 5, 2.5], store.Fetch("a.c", Now - 40, Now - 10)!.Values);
            Assert.Equal([-3.0, -2, -1], store.Fetch("t;host=x", Now - 40, Now - 10)!.Values);
            Assert.Contains(7.0, store.Fetch("a.b", Now - 9 * 3600, Now - 7 * 3600)!.Values);
            // The loaded points keep their head rows: compaction seals them and deletes the rows as it would have.
            store.Compact(force: true);
            Assert.Equal(0, store.HeadPointCount);
        }
        Assert.Equal(0, Scalar(options, "SELECT count(*) FROM head"));
        using var sealedStore = TimeSeriesStore.Open(options, time);
        Assert.Equal(0, sealedStore.CheckpointRows + sealedStore.ReplayedHeadPoints);
        Assert.Equal([3.0, 20, 1, 0.1], sealedStore.Fetch("a.b", Now - 40, Now)!.Values);
        Assert.Contains(7.0, sealedStore.Fetch("a.b", Now - 9 * 3600, Now - 7 * 3600)!.Values);
    }

    [Fact]
    public void Rows_written_after_the_checkpoint_are_replayed_after_it_and_nothing_is_doubled()
    {
        var options = TestStore.Options();
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using (var store = TimeSeriesStore.Open(options, time))
        {
            for (int i = 5; i >= 3; i--) Write(store, Now - i * 10, ("x.y", i), ("x.z", i));
            var (rows, points, _) = store.WriteHeadCheckpoint();
            Assert.Equal((3, 6L), (rows, points));
            Write(store, Now - 20, ("x.y", 2));
            TestStore.Write(store, Now - 10, ("x.y", 50, Now - 50)); // rewrites a checkpointed slot: must win after the restart
        } // no checkpoint: as a SIGKILL leaves it
        using var again = TimeSeriesStore.Open(options, time);
        Assert.Null(again.CheckpointIgnored);
        Assert.Equal(3, again.CheckpointRows);
        Assert.Equal(6, again.CheckpointPoints);
        Assert.Equal(2, again.ReplayedHeadPoints);
        Assert.Equal(8, again.HeadPointCount);
        Assert.Equal([50.0, 4, 3, 2], again.Fetch("x.y", Now - 60, Now - 20)!.Values);
        Assert.Equal([5.0, 4, 3, null], again.Fetch("x.z", Now - 60, Now - 20)!.Values);
    }

    [Theory]
    [InlineData("UPDATE head_checkpoint SET data = CAST(substr(data, 1, 20) || x'FF' || substr(data, 22) AS BLOB)", "checksum")]
    [InlineData("UPDATE head_checkpoint SET data = CAST(substr(data, 1, length(data) / 2) AS BLOB)", "checksum")]
    [InlineData("UPDATE head_checkpoint SET data = x'00'", "version")]
    public void A_torn_or_corrupt_checkpoint_is_ignored_and_every_head_row_is_replayed(string damage, string why)
    {
        var options = TestStore.Options();
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using (var first = Opening(options, time))
            for (int i = 3; i >= 1; i--) Write(first, Now - i * 10, ("d.a", i), ("d.b", i + 0.5));
        Exec(options, damage);
        using (var store = TimeSeriesStore.Open(options, time))
        {
            Assert.Contains(why, store.CheckpointIgnored);
            Assert.Equal(0, store.CheckpointPoints);
            Assert.Equal(6, store.ReplayedHeadPoints);
            Assert.Equal(6, store.HeadPointCount);
            Assert.Equal([3.0, 2, 1], store.Fetch("d.a", Now - 40, Now - 10)!.Values);
            Assert.Equal([3.5, 2.5, 1.5], store.Fetch("d.b", Now - 40, Now - 10)!.Values);
        }
        Assert.Equal(0, Scalar(options, "SELECT count(*) FROM head_checkpoint")); // not read and ignored again at every open
    }

    [Fact]
    public void An_ignored_checkpoint_is_a_counter_of_the_stores_stats()
    {
        var options = TestStore.Options();
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using (var first = Opening(options, time)) Write(first, Now - 10, ("c.a", 1));
        Exec(options, "UPDATE head_checkpoint SET data = CAST(substr(data, 1, length(data) - 1) AS BLOB)");
        var services = new ServiceCollection().AddSingleton<TimeProvider>(time).AddSingleton<StorageLimitHits>();
        services.AddObserveTsdb(options, embeddedSink: false);
        using var provider = services.BuildServiceProvider();
        var counter = Assert.Single(StorageHosting.StorageStatList, d => d.Family == "observe_tsdb_head_checkpoints_ignored_total");
        Assert.Equal(1, Assert.Single(counter.Read(provider.GetRequiredService<Func<StorageStats>>()())).Value);
        Assert.Equal([1.0], provider.GetRequiredService<StoreOpening>().Store.Fetch("c.a", Now - 20, Now - 10)!.Values);
    }

    [Fact]
    public void A_checkpoint_whose_rows_were_compacted_and_whose_seqs_were_reused_is_not_taken_for_the_new_rows()
    {
        var options = TestStore.Options();
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using (var store = TimeSeriesStore.Open(options, time))
        {
            for (int i = 6; i >= 4; i--) Write(store, Now - i * 10, ("r.a", i), ("r.b", i));
            store.WriteHeadCheckpoint();
            store.Compact(force: true); // seals and deletes every head row the checkpoint covers
            Write(store, Now - 30, ("r.a", 30));
            Write(store, Now - 20, ("r.a", 20), ("r.b", 20));
        }
        Assert.Equal(1, Scalar(options, "SELECT min(seq) FROM head")); // the emptied table hands out seqs 1, 2 again
        using (var again = TimeSeriesStore.Open(options, time))
        {
            Assert.Equal(0, again.CheckpointRows);
            Assert.Equal(3, again.ReplayedHeadPoints);
            Assert.Equal(3, again.HeadPointCount);
            Assert.Equal([6.0, 5, 4, 30, 20], again.Fetch("r.a", Now - 70, Now - 20)!.Values);
            Assert.Equal([6.0, 5, 4, null, 20], again.Fetch("r.b", Now - 70, Now - 20)!.Values);
        }
        Assert.Equal(0, Scalar(options, "SELECT count(*) FROM head_checkpoint"));
    }

    [Fact]
    public void A_checkpoint_written_under_other_schema_rules_is_not_loaded()
    {
        var options = TestStore.Options();
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using (var first = Opening(options, time))
            foreach (var ts in new[] { Now - 110, Now - 100, Now - 50 }) Write(first, ts, ("s.a", ts));
        // Minute slots now: replayed under the new rule the three points fall into two slots (the later write wins).
        using var store = TimeSeriesStore.Open(TestStore.Options(options.DataDir, "1m:6h,10m:5y"), time);
        Assert.Contains("schemas", store.CheckpointIgnored);
        Assert.Equal(3, store.ReplayedHeadPoints);
        Assert.Equal([(double)(Now - 100), Now - 50], store.Fetch("s.a", Now - 180, Now - 60)!.Values);
    }

    [Fact]
    public void After_a_clean_stop_a_later_write_to_a_checkpointed_slot_wins_and_rollups_include_the_points_on_both_sides()
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
