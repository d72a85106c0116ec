using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Observe.Collector;
using Observe.Durability;

namespace Observe.Storage.Logs;

/// <summary>A log search: every filter optional; <paramref name="Levels"/> any of; times in unix milliseconds, until exclusive.</summary>
internal sealed record LogQuery(string? Text, string? Service, IReadOnlyList<string>? Levels, string? Host, long? FromMs, long? UntilMs, int Limit);

/// <summary>Thrown for a search the store cannot run because of what the user wrote (HTTP 400).</summary>
internal sealed class LogQueryException(string message) : Exception(message);

/// <summary>
/// The embedded log store: one SQLite file (<c>logs.db</c>, WAL) with a row table indexed by time and by service, and a
/// contentless FTS5 index (<c>contentless_delete=1</c>, so retention can delete from it) over message and fields. Each
/// batch from the log fan-out is one transaction; a background timer deletes logs past the retention.
/// </summary>
internal sealed class LogStore : ILogSink, IDisposable
{
    private readonly SqliteConnection _write;
    private readonly string _connectionString;
    private readonly Lock _lock = new();
    private readonly LogStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ITimer? _retentionTimer;
    private long _inserted, _deleted, _lastRetentionUnixMs, _lastId;
    private bool _disposed;

    private static readonly IReadOnlyDictionary<string, string> NoFields = new Dictionary<string, string>();

    public string Name => "logstore";
    public string DatabasePath { get; }

    private LogStore(string path, LogStoreOptions options, TimeProvider time, bool startRetentionTimer)
    {
        DatabasePath = Path.GetFullPath(path); // /stats gives every path absolute, as the TSDB's
        _options = options;
        _time = time;
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate }.ToString();
        _write = new SqliteConnection(_connectionString);
        _write.Open();
        try { Initialise(); }
        catch
        {
            // A damaged file is moved aside by Open: nothing of this store may keep it open.
            _write.Dispose();
            throw;
        }
        if (startRetentionTimer)
        {
            var every = TimeSpan.FromMinutes(options.RetentionCheckMinutes);
            _retentionTimer = time.CreateTimer(_ => { try { DeleteExpired(); } catch (ObjectDisposedException) { } }, null, TimeSpan.Zero, every);
        }
    }

    private void Initialise()
    {
        Exec(_write, """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            PRAGMA cache_size=-32768;
            CREATE TABLE IF NOT EXISTS logs(
              id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, level TEXT NOT NULL, host TEXT, service TEXT,
              message TEXT NOT NULL, fields TEXT);
            CREATE INDEX IF NOT EXISTS logs_ts ON logs(ts);
            CREATE INDEX IF NOT EXISTS logs_service_ts ON logs(service, ts);
            CREATE VIRTUAL TABLE IF NOT EXISTS logs_fts USING fts5(message, fields, content='', contentless_delete=1);
            """);
        // The single writer numbers the rows itself, so one id serves both inserts without reading it back.
        using (var max = _write.CreateCommand())
        {
            max.CommandText = "SELECT COALESCE(MAX(id), 0) FROM logs";
            _lastId = (long)max.ExecuteScalar()!;
        }
    }

    /// <summary>Opens (creating) <paramref name="path"/>; the retention timer runs unless <paramref name="startRetentionTimer"/> is false (tests call <see cref="DeleteExpired"/>).
    /// A damaged file is moved aside (<see cref="StoreQuarantine"/>) and an empty store opened: logs never stop checks or alerting.</summary>
    public static LogStore Open(string path, LogStoreOptions options, TimeProvider? time = null, bool startRetentionTimer = true, ILogger? log = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return StoreQuarantine.OpenOrQuarantine(path, () => new LogStore(path, options, time ?? TimeProvider.System, startRetentionTimer),
            log, StoreQuarantine.DescribeSqlite, time: time);
    }

    public ValueTask WriteAsync(IReadOnlyList<LogEvent> events, CancellationToken cancellationToken)
    {
        Insert(events);
        return ValueTask.CompletedTask;
    }

    internal void Insert(IReadOnlyList<LogEvent> events)
    {
        if (events.Count == 0) return;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var tx = _write.BeginTransaction();
            using var row = _write.CreateCommand();
            row.Transaction = tx;
            row.CommandText = "INSERT INTO logs(id, ts, level, host, service, message, fields) VALUES ($id, $ts, $level, $host, $service, $message, $fields)";
            var pId = row.Parameters.Add("$id", SqliteType.Integer);
            var pTs = row.Parameters.Add("$ts", SqliteType.Integer);
            var pLevel = row.Parameters.Add("$level", SqliteType.Text);
            var pHost = row.Parameters.Add("$host", SqliteType.Text);
            var pService = row.Parameters.Add("$service", SqliteType.Text);
            var pMessage = row.Parameters.Add("$message", SqliteType.Text);
            var pFields = row.Parameters.Add("$fields", SqliteType.Text);
            using var fts = _write.CreateCommand();
            fts.Transaction = tx;
            fts.CommandText = "INSERT INTO logs_fts(rowid, message, fields) VALUES ($id, $message, $fields)";
            var fId = fts.Parameters.Add("$id", SqliteType.Integer);
            var fMessage = fts.Parameters.Add("$message", SqliteType.Text);
            var fFields = fts.Parameters.Add("$fields", SqliteType.Text);
            foreach (var e in events)
            {
                var fields = e.Fields.Count == 0 ? null : JsonSerializer.Serialize(e.Fields, FieldsJson.Default.IReadOnlyDictionaryStringString);
                var id = ++_lastId;
                pId.Value = id;
                pTs.Value = e.Timestamp.ToUnixTimeMilliseconds();
                pLevel.Value = e.Level;
                pHost.Value = (object?)e.Host ?? DBNull.Value;
                pService.Value = (object?)e.Service ?? DBNull.Value;
                pMessage.Value = e.Message;
                pFields.Value = (object?)fields ?? DBNull.Value;
                row.ExecuteNonQuery();
                fId.Value = id;
                fMessage.Value = e.Message;
                fFields.Value = (object?)fields ?? DBNull.Value;
                fts.ExecuteNonQuery();
            }
            tx.Commit();
            _inserted += events.Count;
        }
    }

    /// <summary>Newest first. A malformed full-text query is a <see cref="LogQueryException"/> naming SQLite's complaint.</summary>
    internal List<LogEvent> Search(LogQuery q)
    {
        var sql = new StringBuilder("SELECT ts, level, host, service, message, fields FROM logs WHERE 1=1");
        using var c = new SqliteConnection(_connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        if (!string.IsNullOrWhiteSpace(q.Text))
        {
            sql.Append(" AND id IN (SELECT rowid FROM logs_fts WHERE logs_fts MATCH $q)");
            cmd.Parameters.AddWithValue("$q", q.Text);
        }
        if (q.Service != null) { sql.Append(" AND service = $service"); cmd.Parameters.AddWithValue("$service", q.Service); }
        if (q.Host != null) { sql.Append(" AND host = $host"); cmd.Parameters.AddWithValue("$host", q.Host); }
        if (q.Levels is { Count: > 0 })
        {
            sql.Append(" AND level IN (");
            for (var i = 0; i < q.Levels.Count; i++)
            {
                sql.Append(i == 0 ? "" : ", ").Append("$level").Append(i);
                cmd.Parameters.AddWithValue("$level" + i, q.Levels[i]);
            }
            sql.Append(')');
        }
        if (q.FromMs is { } from) { sql.Append(" AND ts >= $from"); cmd.Parameters.AddWithValue("$from", from); }
        if (q.UntilMs is { } until) { sql.Append(" AND ts < $until"); cmd.Parameters.AddWithValue("$until", until); }
        sql.Append(" ORDER BY ts DESC, id DESC LIMIT $limit");
        cmd.Parameters.AddWithValue("$limit", q.Limit);
        cmd.CommandText = sql.ToString();
        var result = new List<LogEvent>();
        try
        {
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var fields = r.IsDBNull(5) ? NoFields
                    : JsonSerializer.Deserialize(r.GetString(5), FieldsJson.Default.IReadOnlyDictionaryStringString) ?? NoFields;
                result.Add(new LogEvent(DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(0)), r.GetString(1),
                    r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetString(4), fields));
            }
        }
        catch (SqliteException e) when (!string.IsNullOrWhiteSpace(q.Text) && e.SqliteErrorCode == 1)
        {
            // Only the user's FTS5 query can make this (otherwise fixed) statement fail with SQLITE_ERROR.
            throw new LogQueryException($"q: {e.Message.Replace("SQLite Error 1: ", "")} (FTS5 syntax: words, \"exact phrase\", AND/OR/NOT, prefix*, message:word; quote words with special characters)");
        }
        return result;
    }

    /// <summary>Deletes logs older than the retention, in slices so that inserts are never held up for long; returns how many.</summary>
    internal int DeleteExpired()
    {
        var cutoff = _time.GetUtcNow().AddDays(-_options.RetentionDays).ToUnixTimeMilliseconds();
        var total = 0;
        while (true)
        {
            int n;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                using var tx = _write.BeginTransaction();
                Exec(_write, "CREATE TEMP TABLE IF NOT EXISTS doomed(id INTEGER PRIMARY KEY); DELETE FROM doomed;", tx);
                using (var pick = _write.CreateCommand())
                {
                    pick.Transaction = tx;
                    pick.CommandText = "INSERT INTO doomed SELECT id FROM logs WHERE ts < $cutoff LIMIT 10000";
                    pick.Parameters.AddWithValue("$cutoff", cutoff);
                    n = pick.ExecuteNonQuery();
                }
                if (n > 0) Exec(_write, "DELETE FROM logs_fts WHERE rowid IN (SELECT id FROM doomed); DELETE FROM logs WHERE id IN (SELECT id FROM doomed);", tx);
                tx.Commit();
                _deleted += n;
            }
            total += n;
            if (n < 10000) break;
        }
        Interlocked.Exchange(ref _lastRetentionUnixMs, _time.GetUtcNow().ToUnixTimeMilliseconds());
        return total;
    }

    public LogStoreStats Stats
    {
        get
        {
            lock (_lock) return new LogStoreStats(DatabasePath, _inserted, _deleted, Interlocked.Read(ref _lastRetentionUnixMs));
        }
    }

    private static void Exec(SqliteConnection c, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _retentionTimer?.Dispose();
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _write.Dispose();
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class FieldsJson : System.Text.Json.Serialization.JsonSerializerContext;
