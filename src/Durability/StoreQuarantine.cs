using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Observe.Durability;

/// <summary>A store file found damaged when it was opened: where it went, why, and what was lost with it.</summary>
public sealed record DamagedStore(string File, string MovedTo, string Reason, string Lost, DateTimeOffset At);

/// <summary>
/// "Open or quarantine", the one way every store file (SQLite databases, the silences file, any later state store) is
/// opened: a file that is damaged (SQLite CORRUPT/NOTADB on open or on the first queries, or whatever the caller's
/// <c>isDamage</c> says) is moved aside as <c>&lt;name&gt;.corrupt-&lt;UTC time&gt;</c> (with its <c>-wal</c>/<c>-shm</c>), named in
/// one log line (no stack) with what was lost, recorded here for <c>/stats</c> and <c>/metrics</c>, and a fresh store is
/// opened in its place, so one damaged file never stops the rest of Observe.
/// </summary>
public static class StoreQuarantine
{
    private static readonly Lock Gate = new();
    private static readonly List<DamagedStore> Found = [];

    /// <summary>Every file moved aside since the process started (process-wide: one process, one data dir).</summary>
    public static IReadOnlyList<DamagedStore> Damaged { get { lock (Gate) return Found.ToArray(); } }

    public static int Count { get { lock (Gate) return Found.Count; } }

    /// <summary>SQLITE_CORRUPT (11) and SQLITE_NOTADB (26), including their extended codes: the file, not the caller, is at fault.</summary>
    public static bool IsSqliteDamage(Exception e) =>
        e is SqliteException { SqliteErrorCode: 11 or 26 } || e.InnerException is { } inner && IsSqliteDamage(inner);

    /// <summary>
    /// Runs <paramref name="open"/> (which must open the file at <paramref name="path"/> and run its first queries, and dispose
    /// what it opened if it throws); if it fails because the file is damaged, quarantines the file and runs it again on a
    /// fresh one. <paramref name="describeLoss"/> gets the moved file's path and says what it held (best effort; it must not throw).
    /// </summary>
    public static T OpenOrQuarantine<T>(string path, Func<T> open, ILogger? log, Func<string, string>? describeLoss = null,
        Func<Exception, bool>? isDamage = null, TimeProvider? time = null)
    {
        isDamage ??= IsSqliteDamage;
        try { return open(); }
        catch (Exception e) when (isDamage(e))
        {
            MoveAside(path, e.Message, log, describeLoss, time);
            return open();
        }
    }

    /// <summary>Moves <paramref name="path"/> (and its SQLite side files) aside, logs it once and records it.</summary>
    public static DamagedStore MoveAside(string path, string reason, ILogger? log, Func<string, string>? describeLoss = null, TimeProvider? time = null)
    {
        // Pooled connections keep the file open; closing one later could checkpoint or delete "-wal" by name, i.e. the new store's.
        SqliteConnection.ClearAllPools();
        var at = (time ?? TimeProvider.System).GetUtcNow();
        var full = Path.GetFullPath(path);
        var aside = $"{full}.corrupt-{at:yyyyMMdd'T'HHmmss'Z'}";
        for (var n = 2; File.Exists(aside); n++) aside = $"{full}.corrupt-{at:yyyyMMdd'T'HHmmss'Z'}-{n}";
        if (File.Exists(full)) File.Move(full, aside);
        foreach (var side in new[] { "-wal", "-shm", "-journal" })
            if (File.Exists(full + side)) File.Move(full + side, aside + side);
        string lost;
        try { lost = describeLoss?.Invoke(aside) ?? "everything it held"; }
        catch (Exception e) { lost = $"unknown ({e.Message})"; }
        var found = new DamagedStore(full, aside, OneLine(reason), lost, at);
        lock (Gate) Found.Add(found);
        log?.LogError("store {File} is damaged ({Reason}); moved aside to {MovedTo}, starting with an empty one; lost: {Lost}",
            found.File, found.Reason, found.MovedTo, found.Lost);
        return found;
    }

    /// <summary>
    /// A read-only connection to a damaged SQLite file that reads what is left: <c>writable_schema</c> lets SQLite open a
    /// file shorter than its header says (a truncated one) instead of calling all of it malformed.
    /// </summary>
    public static SqliteConnection OpenDamagedSqlite(string path)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA writable_schema=ON";
        cmd.ExecuteNonQuery();
        return c;
    }

    /// <summary>Reads rows until the end or the first damaged page; true when all were read. <paramref name="rows"/> counts those read.</summary>
    public static bool ReadRows(SqliteConnection c, string sql, Action<SqliteDataReader> row, out long rows)
    {
        rows = 0;
        try
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            using var r = cmd.ExecuteReader();
            while (r.Read()) { row(r); rows++; }
            return true;
        }
        catch (SqliteException) { return false; }
    }

    /// <summary>What a damaged SQLite file still shows of itself: rows per table where readable (for <c>describeLoss</c>).</summary>
    public static string DescribeSqlite(string path)
    {
        try
        {
            using var c = OpenDamagedSqlite(path);
            var tables = new List<string>();
            ReadRows(c, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
                r => tables.Add(r.GetString(0)), out _);
            var parts = new List<string>();
            foreach (var t in tables)
            {
                var whole = ReadRows(c, $"SELECT 1 FROM \"{t.Replace("\"", "\"\"")}\"", _ => { }, out var n);
                parts.Add(whole ? $"{t}: {n} rows" : $"{t}: at least {n} rows (the rest unreadable)");
            }
            return parts.Count == 0 ? "everything it held (nothing readable)" : string.Join(", ", parts);
        }
        catch (SqliteException e) { return $"everything it held (unreadable: {OneLine(e.Message)})"; }
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
