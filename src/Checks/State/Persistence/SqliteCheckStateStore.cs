using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Observe.Alerting.Pipeline.Persistence;
using Observe.Common;
using Observe.Durability;

namespace Observe.Checks.State.Persistence;

/// <summary>
/// Check state in <c>&lt;dataDir&gt;/checks/state.db</c>: one row per check (its snapshot as JSON), the event history,
/// the availability timeline and one row per Observe run (start, last alive) so that time Observe was down counts as
/// unmonitored. WAL + synchronous=FULL: every batch is one fsynced transaction.
/// </summary>
internal sealed class SqliteCheckStateStore : ICheckStateStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS checks(key TEXT PRIMARY KEY, json TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY, key TEXT NOT NULL, time INTEGER NOT NULL, json TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS events_key_time ON events(key, time);
        CREATE TABLE IF NOT EXISTS spans(id INTEGER PRIMARY KEY, key TEXT NOT NULL, time INTEGER NOT NULL, state INTEGER NOT NULL, downtime INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS spans_key_time ON spans(key, time);
        CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, started INTEGER NOT NULL, alive INTEGER NOT NULL);
        """;

    internal static readonly JsonSerializerOptions Json = JsonDefaults.Web;
    private readonly SqliteConnection _db;
    private readonly Lock _lock = new();
    private readonly long _run;

    public SqliteCheckStateStore(string path, DateTimeOffset now, ILogger log)
    {
        const string holds = "every check's state, acknowledgements, downtimes and comments, the check event history and the availability timeline";
        _db = SqliteStateFile.Open(path, Schema, holds, log);
        try
        {
            // A file that opens but whose rows do not parse is as unreadable as a torn one: read it all once now.
            LoadStates();
        }
        catch (JsonException e)
        {
            _db.Dispose();
            SqliteStateFile.MoveAside(path, e.Message, holds, log);
            _db = SqliteStateFile.Open(path, Schema, holds, log);
        }
        RunStarted = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
        _run = Scalar("INSERT INTO runs(started, alive) VALUES ($a, $a) RETURNING id", now.ToUnixTimeMilliseconds());
    }

    public DateTimeOffset RunStarted { get; }

    public IReadOnlyDictionary<string, EntrySnapshot> LoadStates()
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT key, json FROM checks");
            return StoreRows.States(cmd);
        }
    }

    public IReadOnlyList<CheckEvent> RecentEvents(string key, int max)
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT json FROM events WHERE key = $a ORDER BY time DESC, id DESC LIMIT $b", key, max);
            return StoreRows.EventsNewestFirst(cmd);
        }
    }

    public IReadOnlyDictionary<string, StateSpan> LastSpans()
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT key, time, state, downtime FROM spans WHERE id IN (SELECT MAX(id) FROM spans GROUP BY key)");
            return StoreRows.KeyedSpans(cmd);
        }
    }

    public void Write(StateBatch batch)
    {
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            if (batch.States.Count > 0)
            {
                using var up = Command("INSERT INTO checks(key, json) VALUES ($a, $b) ON CONFLICT(key) DO UPDATE SET json = excluded.json", "", "");
                up.Transaction = tx;
                foreach (var (key, s) in batch.States)
                {
                    up.Parameters[0].Value = key; up.Parameters[1].Value = JsonSerializer.Serialize(s, Json);
                    up.ExecuteNonQuery();
                }
            }
            if (batch.Events.Count > 0)
            {
                using var ev = Command("INSERT INTO events(key, time, json) VALUES ($a, $b, $c)", "", 0L, "");
                ev.Transaction = tx;
                foreach (var (key, e) in batch.Events)
                {
                    ev.Parameters[0].Value = key; ev.Parameters[1].Value = e.Time.ToUnixTimeMilliseconds(); ev.Parameters[2].Value = JsonSerializer.Serialize(e, Json);
                    ev.ExecuteNonQuery();
                }
            }
            if (batch.Spans.Count > 0)
            {
                using var sp = Command("INSERT INTO spans(key, time, state, downtime) VALUES ($a, $b, $c, $d)", "", 0L, 0, 0);
                sp.Transaction = tx;
                foreach (var (key, s) in batch.Spans)
                {
                    sp.Parameters[0].Value = key; sp.Parameters[1].Value = s.Time.ToUnixTimeMilliseconds();
                    sp.Parameters[2].Value = (int)s.HardState; sp.Parameters[3].Value = s.InDowntime ? 1 : 0;
                    sp.ExecuteNonQuery();
                }
            }
            using (var alive = Command("UPDATE runs SET alive = $a WHERE id = $b", batch.AliveAt.ToUnixTimeMilliseconds(), _run)) { alive.Transaction = tx; alive.ExecuteNonQuery(); }
            tx.Commit();
        }
    }

    public IReadOnlyList<StateSpan> Timeline(string key, DateTimeOffset from, DateTimeOffset until)
    {
        lock (_lock)
        {
            using var cmd = Command("""
                SELECT time, state, downtime FROM (SELECT time, state, downtime, id FROM spans WHERE key = $a AND time <= $b ORDER BY time DESC, id DESC LIMIT 1)
                UNION ALL SELECT time, state, downtime FROM (SELECT time, state, downtime, id FROM spans WHERE key = $a AND time > $b AND time < $c ORDER BY time, id LIMIT 1000001)
                """, key, from.ToUnixTimeMilliseconds(), until.ToUnixTimeMilliseconds());
            return StoreRows.Spans(cmd);
        }
    }

    public IReadOnlyList<(DateTimeOffset Start, DateTimeOffset End)> Uptime(DateTimeOffset from, DateTimeOffset until)
    {
        lock (_lock)
        {
            using var cmd = Command("SELECT started, alive FROM runs WHERE alive >= $a AND started <= $b ORDER BY started", from.ToUnixTimeMilliseconds(), until.ToUnixTimeMilliseconds());
            return StoreRows.Runs(cmd);
        }
    }

    public void Prune(DateTimeOffset before)
    {
        var t = before.ToUnixTimeMilliseconds();
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            foreach (var sql in new[]
            {
                "DELETE FROM events WHERE time < $a",
                // keep each check's newest step before the cut: it is the state in effect at the start of what is kept
                "DELETE FROM spans WHERE time < $a AND id NOT IN (SELECT MAX(id) FROM spans WHERE time < $a GROUP BY key)",
                "DELETE FROM runs WHERE alive < $a",
            })
            {
                using var cmd = Command(sql, t);
                cmd.Transaction = tx;
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    private SqliteCommand Command(string sql, params object[] args)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        for (var i = 0; i < args.Length; i++) cmd.Parameters.AddWithValue("$" + (char)('a' + i), args[i]);
        return cmd;
    }

    private long Scalar(string sql, params object[] args)
    {
        lock (_lock)
        {
            using var cmd = Command(sql, args);
            return (long)cmd.ExecuteScalar()!;
        }
    }

    public void Dispose()
    {
        lock (_lock) _db.Dispose();
    }
}
