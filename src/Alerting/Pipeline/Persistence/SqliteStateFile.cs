using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Observe.Alerting.Pipeline.Persistence;

/// <summary>
/// Opens an operational-state SQLite file (WAL, synchronous=FULL) and creates its schema; a file that cannot be read
/// (not a database, torn, failing <c>quick_check</c>, schema refused) is moved aside with its -wal/-shm as
/// <c>&lt;file&gt;.corrupt-&lt;utc&gt;</c> (the name issue 15c's helper uses), logged with what it held, counted, and a fresh file is opened, so Observe
/// always starts (as the silences file does).
/// </summary>
/// <remarks>
/// Written for issue 16 before the shared helper of issue 15c (<c>Observe.Durability.StoreQuarantine</c>, src/Durability,
/// branch feature/i15c) reached main. To adopt it once merged: <see cref="Open"/> becomes
/// <c>StoreQuarantine.OpenOrQuarantine(path, () =&gt; OpenChecked(path, schema), log, StoreQuarantine.DescribeSqlite,
/// e =&gt; StoreQuarantine.IsSqliteDamage(e) || e is InvalidDataException)</c> and <see cref="MoveAside"/> its
/// <c>MoveAside</c>; the file name (<c>.corrupt-&lt;utc&gt;</c>) already matches. Lives in Alerting because both Alerting and
/// Checks (through Alerting's existing InternalsVisibleTo) keep state in SQLite.
/// </remarks>
internal static class SqliteStateFile
{
    private static readonly Counter Quarantined = Metrics.CreateCounter("observe_state_store_quarantined_total",
        "Operational state files (check state, alert state) that could not be read and were moved aside at start.", "store");

    /// <summary>How many files were moved aside since start, per store name (for tests and /stats).</summary>
    public static long QuarantinedCount(string store) => (long)Quarantined.WithLabels(store).Value;

    public static SqliteConnection Open(string path, string schema, string store, string holds, ILogger log)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        try { return OpenChecked(path, schema); }
        catch (Exception e) when (e is SqliteException or InvalidDataException)
        {
            MoveAside(path, e.Message, store, holds, log);
            return OpenChecked(path, schema);
        }
    }

    /// <summary>Moves a state file that cannot be used (and its -wal/-shm) aside, logs what it held, counts it.</summary>
    public static void MoveAside(string path, string reason, string store, string holds, ILogger log)
    {
        var size = File.Exists(path) ? new FileInfo(path).Length : 0;
        var aside = $"{path}.corrupt-{DateTime.UtcNow:yyyyMMddTHHmmssZ}";
        SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm" })
            if (File.Exists(path + suffix)) File.Move(path + suffix, aside + suffix, overwrite: true);
        Quarantined.WithLabels(store).Inc();
        log.LogError("{Store} state in {File} ({Bytes} bytes) could not be read ({Error}); moved to {Aside}. Lost: {Holds}. Starting without it",
            store, path, size, reason.ReplaceLineEndings(" "), aside, holds);
    }

    private static SqliteConnection OpenChecked(string path, string schema)
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        try
        {
            db.Open();
            using (var check = db.CreateCommand())
            {
                check.CommandText = "PRAGMA quick_check";
                var answer = check.ExecuteScalar() as string;
                if (answer != "ok") throw new InvalidDataException($"quick_check: {answer}");
            }
            using var cmd = db.CreateCommand();
            // FULL: each batch's commit is fsynced (WAL), so what was answered or told survives power loss as well as kill -9.
            cmd.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; " + schema;
            cmd.ExecuteNonQuery();
            return db;
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }
}
