using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Observe.Durability;

/// <summary>
/// Opens an operational-state SQLite file (check state, alert state: WAL, <c>synchronous=FULL</c>) and creates its schema.
/// A file that cannot be used (not a database, torn, failing <c>quick_check</c>, schema refused, rows that do not parse)
/// goes through <see cref="StoreQuarantine"/> like every other store file: moved aside, named with what it held,
/// counted, and a fresh file opened, so Observe always starts.
/// </summary>
public static class SqliteStateFile
{
    /// <param name="holds">what the file keeps, for the log line when it has to be moved aside</param>
    public static SqliteConnection Open(string path, string schema, string holds, ILogger log)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return StoreQuarantine.OpenOrQuarantine(path, () => OpenChecked(path, schema), log, _ => holds,
            e => e is SqliteException or InvalidDataException);
    }

    /// <summary>A file that opened but turned out unusable (its rows do not parse): moved aside the same way.</summary>
    public static void MoveAside(string path, string reason, string holds, ILogger log) =>
        StoreQuarantine.MoveAside(path, reason, log, _ => holds);

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
