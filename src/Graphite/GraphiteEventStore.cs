using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Observe.Durability;

namespace Observe.Storage.Graphite;

/// <summary>A Graphite event (annotation): <c>{when, what, tags, data, id}</c> as graphite-web returns it.</summary>
public sealed record GraphiteEvent(long Id, long When, string What, IReadOnlyList<string> Tags, string Data);

/// <summary>
/// Graphite events (annotations) kept in SQLite (<c>events.db</c> under the storage data dir).
/// Writers: the <c>POST /events/</c> endpoint, and in-process callers such as DeployMarkers (deploy
/// markers become events tagged <c>deploy &lt;service&gt; &lt;env&gt;</c>) and DogStatsD <c>_e{…}</c> events via
/// <see cref="Add"/>. Readers: <c>/events/get_data</c>, <c>/events/</c> and the <c>events()</c> render function.
/// </summary>
public sealed class GraphiteEventStore : IGraphiteEvents, IDisposable
{
    private readonly SqliteConnection _db;
    private readonly Lock _lock = new();

    private GraphiteEventStore(string connectionString)
    {
        _db = new SqliteConnection(connectionString);
        _db.Open();
        try { CreateSchema(); }
        catch
        {
            _db.Dispose();
            throw;
        }
    }

    private void CreateSchema()
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS events(
              id INTEGER PRIMARY KEY AUTOINCREMENT,
              when_ts INTEGER NOT NULL,
              what TEXT NOT NULL,
              tags TEXT NOT NULL,
              data TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS events_when ON events(when_ts);
            """;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Opens (creating if needed) <c>events.db</c> in <paramref name="dataDir"/>; a damaged one is moved aside (<see cref="StoreQuarantine"/>).</summary>
    public static GraphiteEventStore Open(string dataDir, ILogger? log = null)
    {
        Directory.CreateDirectory(dataDir);
        var path = Path.Combine(dataDir, "events.db");
        return StoreQuarantine.OpenOrQuarantine(path,
            () => new GraphiteEventStore(new SqliteConnectionStringBuilder { DataSource = path }.ToString()), log, StoreQuarantine.DescribeSqlite);
    }

    /// <summary>Opens the store under <see cref="StorageOptions.DataDir"/>.</summary>
    public static GraphiteEventStore Open(StorageOptions options) => Open(options.DataDir);

    /// <summary>An in-memory store (tests, or when no data dir is configured).</summary>
    public static GraphiteEventStore InMemory() =>
        new(new SqliteConnectionStringBuilder { DataSource = $"file:events-{Guid.NewGuid():N}?mode=memory&cache=shared" }.ToString());

    /// <summary>
    /// Records an event. <paramref name="when"/> is unix seconds (default: now). Tags are kept as given
    /// (joined with spaces, returned split on whitespace, as graphite-web does); matching uses the set
    /// of distinct tags. Returns the new event id.
    /// </summary>
    public long Add(string what, IEnumerable<string>? tags, string? data = null, long? when = null)
    {
        var joined = string.Join(" ", tags ?? []);
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "INSERT INTO events(when_ts, what, tags, data) VALUES ($w, $what, $tags, $data); SELECT last_insert_rowid();";
            cmd.Parameters.AddWithValue("$w", when ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            cmd.Parameters.AddWithValue("$what", what);
            cmd.Parameters.AddWithValue("$tags", joined);
            cmd.Parameters.AddWithValue("$data", data ?? "");
            return (long)cmd.ExecuteScalar()!;
        }
    }

    /// <summary>
    /// Events with <c>from ≤ when ≤ until</c>, oldest first. With tags: <paramref name="setOperation"/>
    /// "union" = any tag, otherwise (default and "intersection") = all tags.
    /// </summary>
    public IReadOnlyList<GraphiteEvent> Find(long? from, long? until, IReadOnlyList<string>? tags, string? setOperation)
    {
        var all = new List<GraphiteEvent>();
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT id, when_ts, what, tags, data FROM events WHERE when_ts >= $f AND when_ts <= $u ORDER BY when_ts, id";
            cmd.Parameters.AddWithValue("$f", from ?? long.MinValue);
            cmd.Parameters.AddWithValue("$u", until ?? long.MaxValue);
            using var r = cmd.ExecuteReader();
            while (r.Read())
                all.Add(new GraphiteEvent(r.GetInt64(0), r.GetInt64(1), r.GetString(2),
                    r.GetString(3).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries), r.GetString(4)));
        }
        if (tags == null) return all;
        var wanted = tags.Where(t => t.Length > 0).ToList();
        if (setOperation == "union") return all.Where(e => wanted.Any(e.Tags.Contains)).ToList();
        return all.Where(e => wanted.All(e.Tags.Contains)).ToList();
    }

    public void Dispose() => _db.Dispose();
}
