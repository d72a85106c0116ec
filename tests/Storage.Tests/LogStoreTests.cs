using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Primitives;
using Observe.Collector;
using Observe.Storage.Logs;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

public class LogStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly ManualTimeProvider _clock = ManualTimeProvider.AtUnixSeconds(T0.ToUnixTimeSeconds());
    private readonly LogStore _store;

    public LogStoreTests()
    {
        _store = LogStore.Open(Path.Combine(TestStore.TempDir(), "logs.db"), new LogStoreOptions { RetentionDays = 7 }, _clock, startRetentionTimer: false);
    }

    public void Dispose() => _store.Dispose();

    private static LogEvent Log(int secondsAfterT0, string level, string service, string message, string host = "web1", Dictionary<string, string>? fields = null) =>
        new(T0.AddSeconds(secondsAfterT0), level, host, service, message, fields ?? new Dictionary<string, string>());

    private void Seed() => _store.Insert([
        Log(1, "info", "shop", "GET /cart 200 in 12ms"),
        Log(2, "error", "shop", "payment gateway timeout after 30s", fields: new() { ["order"] = "A-17", ["gateway"] = "stripe" }),
        Log(3, "warn", "api", "slow query on orders table", host: "db1"),
        Log(4, "error", "api", "NullReferenceException in OrderController", fields: new() { ["trace"] = "at Foo.Bar()" }),
        Log(-3600, "info", "shop", "an hour earlier: timeout"),
    ]);

    private List<LogEvent> Search(string? q = null, string? service = null, string[]? levels = null, string? host = null,
        DateTimeOffset? from = null, DateTimeOffset? until = null, int limit = 100) =>
        _store.Search(new LogQuery(q, service, levels, host, from?.ToUnixTimeMilliseconds(), until?.ToUnixTimeMilliseconds(), limit));

    [Fact]
    public void Bundled_sqlite_has_fts5_with_contentless_delete()
    {
        using var c = new SqliteConnection("Data Source=:memory:");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT sqlite_version(), sqlite_compileoption_used('ENABLE_FTS5')";
        using var r = cmd.ExecuteReader();
        r.Read();
        Assert.True(Version.Parse(r.GetString(0)) >= new Version(3, 43), $"contentless_delete needs SQLite 3.43, bundled is {r.GetString(0)}");
        Assert.Equal(1, r.GetInt64(1));
    }

    [Fact]
    public void Searches_newest_first_with_every_filter()
    {
        Seed();
        Assert.Equal(["NullReferenceException in OrderController", "slow query on orders table", "payment gateway timeout after 30s",
            "GET /cart 200 in 12ms", "an hour earlier: timeout"], Search().Select(e => e.Message));
        Assert.Equal(["payment gateway timeout after 30s", "an hour earlier: timeout"], Search(q: "timeout").Select(e => e.Message));
        Assert.Equal(["payment gateway timeout after 30s"], Search(q: "timeout", from: T0).Select(e => e.Message));
        Assert.Equal(["payment gateway timeout after 30s"], Search(q: "stripe").Select(e => e.Message)); // fields are indexed too
        Assert.Equal(["payment gateway timeout after 30s"], Search(q: "\"gateway timeout\"").Select(e => e.Message));
        Assert.Equal(["NullReferenceException in OrderController", "slow query on orders table"], Search(q: "message:order*").Select(e => e.Message));
        Assert.Equal(2, Search(service: "api").Count);
        Assert.Equal(["NullReferenceException in OrderController", "payment gateway timeout after 30s"], Search(levels: ["error"]).Select(e => e.Message));
        Assert.Equal(3, Search(levels: ["error", "warn"]).Count);
        Assert.Equal(["slow query on orders table"], Search(host: "db1").Select(e => e.Message));
        Assert.Equal(["payment gateway timeout after 30s", "GET /cart 200 in 12ms"], Search(from: T0, until: T0.AddSeconds(3)).Select(e => e.Message));
        Assert.Single(Search(limit: 1));
        var withFields = Search(q: "stripe").Single();
        Assert.Equal("A-17", withFields.Fields["order"]);
        Assert.Equal(T0.AddSeconds(2), withFields.Timestamp);
        Assert.Equal(("error", "web1", "shop"), (withFields.Level, withFields.Host, withFields.Service));
    }

    [Theory]
    [InlineData("\"unterminated")]
    [InlineData("AND")]
    [InlineData("nosuchcolumn:word")]
    [InlineData("(a OR")]
    public void FullTextSyntaxErrorsAreUserErrors(string q)
    {
        Seed();
        var e = Assert.Throws<LogQueryException>(() => Search(q: q));
        Assert.StartsWith("q: ", e.Message);
    }

    [Fact]
    public void Retention_deletes_old_logs_from_table_and_index()
    {
        Seed();
        _clock.UnixSeconds = T0.AddDays(7).AddSeconds(-1800).ToUnixTimeSeconds(); // the log from an hour before T0 is now past 7 days
        Assert.Equal(1, _store.DeleteExpired());
        Assert.Equal(["payment gateway timeout after 30s"], Search(q: "timeout").Select(e => e.Message));
        Assert.Equal(4, Search().Count);
        _clock.UnixSeconds = T0.AddDays(8).ToUnixTimeSeconds();
        Assert.Equal(4, _store.DeleteExpired());
        Assert.Empty(Search(q: "timeout OR order* OR cart"));
        Assert.Equal(5, _store.Stats.DeletedByRetention);
    }

    [Fact]
    public void Logs_survive_reopening()
    {
        Seed();
        var path = _store.DatabasePath;
        _store.Dispose();
        using var again = LogStore.Open(path, new LogStoreOptions(), _clock, startRetentionTimer: false);
        Assert.Equal(2, again.Search(new LogQuery("timeout", null, null, null, null, null, 10)).Count);
    }

    [Fact]
    public void Query_parameters_are_parsed_or_named_in_a_400()
    {
        var now = T0.AddMilliseconds(250);
        QueryCollection Q(params (string K, string V)[] kv) => new(kv.ToDictionary(x => x.K, x => new StringValues(x.V)));
        var q = LogSearchApi.ParseQuery(Q(("q", "timeout"), ("level", "Error, warn"), ("from", "-1h"), ("until", "now"), ("limit", "5")), 10_000, now);
        Assert.Equal(["error", "warn"], q.Levels);
        Assert.Equal(T0.AddHours(-1).ToUnixTimeMilliseconds(), q.FromMs);
        Assert.Equal(now.ToUnixTimeMilliseconds() + 1, q.UntilMs);
        Assert.Equal(5, q.Limit);
        Assert.Equal(DateTimeOffset.Parse("2026-11-23T10:00:00Z").ToUnixTimeMilliseconds(),
            LogSearchApi.ParseQuery(Q(("from", "2026-11-23T11:00:00+01:00")), 100, now).FromMs);
        Assert.Equal(DateTimeOffset.Parse("2026-11-22T11:30:00Z").ToUnixTimeMilliseconds(),
            LogSearchApi.ParseQuery(Q(("from", "11:30_20261122")), 100, now).FromMs);
        Assert.Equal(1795430000000, LogSearchApi.ParseQuery(Q(("until", "1795430000")), 100, now).UntilMs);
        Assert.Null(LogSearchApi.ParseQuery(Q(), 100, now).FromMs);
        Assert.Equal(LogSearchApi.DefaultLimit, LogSearchApi.ParseQuery(Q(), 100_000, now).Limit);
        Assert.StartsWith("from:", Assert.Throws<LogQueryException>(() => LogSearchApi.ParseQuery(Q(("from", "last tuesdayish")), 100, now)).Message);
        Assert.StartsWith("limit:", Assert.Throws<LogQueryException>(() => LogSearchApi.ParseQuery(Q(("limit", "101")), 100, now)).Message);
        Assert.StartsWith("limit:", Assert.Throws<LogQueryException>(() => LogSearchApi.ParseQuery(Q(("limit", "-1")), 100, now)).Message);
    }
}
