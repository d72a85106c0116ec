using Microsoft.Data.Sqlite;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>
/// A store written by a newer Observe (a later on-disk format), opened by this one after a downgrade: it is refused, left
/// as it is, and the message says to run the newer build — "move the file away" would throw the data away.
/// </summary>
public class StoreFormatTests
{
    private const long Start = 1_000_200;

    [Fact]
    public void A_store_from_a_newer_build_is_refused_untouched_and_the_message_says_run_the_newer_build()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Start + 100);
        var o = TestStore.Options();
        using (var s = TimeSeriesStore.Open(o, time))
        {
            TestStore.Write(s, Start, ("new.a", 1.5, Start));
            s.Compact(force: true);
        }
        var path = Path.Combine(o.DataDir, "tsdb.db");
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA user_version=5;";
            cmd.ExecuteNonQuery();
        }
        var e = Assert.Throws<InvalidDataException>(() => TimeSeriesStore.Open(o, time));
        Assert.Contains("format 5", e.Message);
        Assert.Contains("newer", e.Message);
        Assert.DoesNotContain("move the file away", e.Message);
        using (var c = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA user_version";
            Assert.Equal(5L, (long)cmd.ExecuteScalar()!);
            cmd.CommandText = "SELECT count(*) FROM series";
            Assert.Equal(1L, (long)cmd.ExecuteScalar()!);
        }
    }
}
