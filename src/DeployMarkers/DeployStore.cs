using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Observe.Durability;

namespace Observe.DeployMarkers;

/// <summary>
/// Deploys and locks in SQLite (<c>deploys.db</c> under the storage data dir), so a restart keeps them and resumes
/// pending verifications. Each row is the record as JSON; every change is written through before it is answered.
/// </summary>
internal sealed class DeployStore : IDisposable
{
    private readonly SqliteConnection _db;
    private readonly Lock _lock = new();

    private DeployStore(string dataSource)
    {
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = dataSource }.ToString());
        _db.Open();
        try
        {
            Exec("""
                PRAGMA journal_mode=WAL;
                CREATE TABLE IF NOT EXISTS deploys(id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, json TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS locks(env TEXT PRIMARY KEY, json TEXT NOT NULL);
                """);
            // The first reads, so a damaged file shows here (and is moved aside) rather than at the first deploy.
            Loaded = (LoadDeploys(), LoadLocks());
        }
        catch
        {
            _db.Dispose();
            throw;
        }
    }

    /// <summary>What the store held when it was opened.</summary>
    public (List<Deploy> Deploys, List<EnvLock> Locks) Loaded { get; }

    /// <summary>Opens (creating) <c>deploys.db</c>; a damaged one is moved aside (<see cref="StoreQuarantine"/>) and an empty one opened.</summary>
    public static DeployStore Open(string dataDir, ILogger? log = null)
    {
        Directory.CreateDirectory(dataDir);
        var path = Path.Combine(dataDir, "deploys.db");
        return StoreQuarantine.OpenOrQuarantine(path, () => new DeployStore(path), log, StoreQuarantine.DescribeSqlite);
    }

    public static DeployStore InMemory() => new($"file:deploys-{Guid.NewGuid():N}?mode=memory&cache=shared");

    /// <summary>Every deploy as stored now (tests read back what was written).</summary>
    public List<Deploy> LoadDeploys() => Query("SELECT json FROM deploys ORDER BY started_at, rowid", j => JsonSerializer.Deserialize<Deploy>(j, DeployJson.Options)!);

    private List<EnvLock> LoadLocks() => Query("SELECT json FROM locks", j => JsonSerializer.Deserialize<EnvLock>(j, DeployJson.Options)!);

    public void Save(Deploy d) => SaveAll([d]);

    /// <summary>Writes the deploys in one transaction: all of them or (on <see cref="DeployNotSavedException"/>) none.</summary>
    public void SaveAll(IReadOnlyList<Deploy> deploys)
    {
        lock (_lock)
        {
            try
            {
                using var tx = _db.BeginTransaction();
                using var cmd = _db.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO deploys(id, started_at, json) VALUES ($a, $b, $c) ON CONFLICT(id) DO UPDATE SET json = excluded.json";
                var a = cmd.Parameters.Add("$a", SqliteType.Text);
                var b = cmd.Parameters.Add("$b", SqliteType.Integer);
                var c = cmd.Parameters.Add("$c", SqliteType.Text);
                foreach (var d in deploys)
                {
                    a.Value = d.Id; b.Value = d.StartedAt.ToUnixTimeMilliseconds(); c.Value = JsonSerializer.Serialize(d, DeployJson.Options);
                    cmd.ExecuteNonQuery();
                }
                tx.Commit();
            }
            catch (SqliteException e) { throw NotSaved(e); }
        }
    }

    /// <summary>The deploy as last saved, or null.</summary>
    public Deploy? Find(string id) =>
        Query("SELECT json FROM deploys WHERE id = $a", j => JsonSerializer.Deserialize<Deploy>(j, DeployJson.Options)!, id).FirstOrDefault();

    /// <summary>Puts <paramref name="saved"/>'s values into <paramref name="target"/> in place (others hold references to it).</summary>
    public static void CopyInto(Deploy saved, Deploy target)
    {
        foreach (var p in typeof(Deploy).GetProperties())
            if (p.CanWrite) p.SetValue(target, p.GetValue(saved));
    }

    private DeployNotSavedException NotSaved(SqliteException e) =>
        new($"could not write {_db.DataSource}: {e.Message.ReplaceLineEndings(" ")}; nothing was recorded", e);

    public void SaveLock(EnvLock l) => Exec("INSERT INTO locks(env, json) VALUES ($a, $b) ON CONFLICT(env) DO UPDATE SET json = excluded.json",
        l.Env, JsonSerializer.Serialize(l, DeployJson.Options));

    public void DeleteLock(string env) => Exec("DELETE FROM locks WHERE env = $a", env);

    private void Exec(string sql, params object[] args)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = sql;
            for (var i = 0; i < args.Length; i++) cmd.Parameters.AddWithValue("$" + (char)('a' + i), args[i]);
            try { cmd.ExecuteNonQuery(); }
            catch (SqliteException e) when (!StoreQuarantine.IsSqliteDamage(e)) { throw NotSaved(e); }
        }
    }

    private List<T> Query<T>(string sql, Func<string, T> map, params object[] args)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = sql;
            for (var i = 0; i < args.Length; i++) cmd.Parameters.AddWithValue("$" + (char)('a' + i), args[i]);
            using var r = cmd.ExecuteReader();
            var list = new List<T>();
            while (r.Read()) list.Add(map(r.GetString(0)));
            return list;
        }
    }

    /// <summary>Fault injection for tests: every write now fails (SQLITE_READONLY), as on a full or read-only disk.</summary>
    internal void FailWritesForTests() => Exec("PRAGMA query_only = 1");

    public void Dispose() => _db.Dispose();
}

/// <summary>A change that could not be written to <c>deploys.db</c> (disk full, read-only, I/O error): it was not made (HTTP 503).</summary>
internal sealed class DeployNotSavedException(string message, Exception inner) : IOException(message, inner);
