using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Observe.Storage.Tests;

/// <summary>
/// /stats, /metrics and the observe.* series read the store's stats. While a large store opens (seconds after a restart)
/// they waited for it up to storage.render.timeoutSeconds and then threw: /stats answered 500 after the wait, a Prometheus
/// scrape of /metrics stalled as long, and the self-metrics flush failed. They answer at once instead.
/// </summary>
public sealed class StoreStatsWhileOpeningTests
{
    [Fact]
    public async Task The_store_stats_answer_within_a_second_or_two_while_the_store_is_still_opening()
    {
        var o = TestStore.Options();
        o.Render.TimeoutSeconds = 10;
        Directory.CreateDirectory(o.DataDir);
        var path = Path.GetFullPath(Path.Combine(o.DataDir, "tsdb.db"));
        // Another connection's exclusive lock holds the open in SQLite's busy wait until the test lets go.
        using var locker = new SqliteConnection($"Data Source={path};Pooling=False");
        locker.Open();
        using (var cmd = locker.CreateCommand())
        {
            cmd.CommandText = "PRAGMA journal_mode=DELETE; CREATE TABLE x(a); BEGIN EXCLUSIVE; INSERT INTO x VALUES(1);";
            cmd.ExecuteNonQuery();
        }
        var services = new ServiceCollection();
        services.AddSingleton<StorageLimitHits>();
        services.AddObserveTsdb(o, embeddedSink: true);
        await using var sp = services.BuildServiceProvider();
        var reader = sp.GetRequiredService<ISeriesReader>();
        var stats = sp.GetRequiredService<Func<StorageStats>>();
        var watch = Stopwatch.StartNew();
        var opening = stats();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"the stats took {watch.Elapsed.TotalSeconds:F1} s while the store opened");
        Assert.False(reader.Opened.IsCompleted, "the store opened while locked");
        Assert.Equal(path, opening.DatabasePath);
        Assert.Equal(0, opening.Series);
        using (var cmd = locker.CreateCommand())
        {
            cmd.CommandText = "ROLLBACK;";
            cmd.ExecuteNonQuery();
        }
        await reader.Opened.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(path, stats().DatabasePath);
    }
}
