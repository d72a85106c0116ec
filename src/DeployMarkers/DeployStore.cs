using System.Text.Json;
using Microsoft.Data.Sqlite;

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
        Exec("""
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS deploys(id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, json TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS locks(env TEXT PRIMARY KEY, json TEXT NOT NULL);
            """);
    }

    public static DeployStore Open(string dataDir)
    {
        Directory.CreateDirectory(dataDir);
        return new DeployStore(Path.Combine(dataDir, "deploys.db"));
    }

    public static DeployStore InMemory() => new($"file:deploys-{Guid.NewGuid():N}?mode=memory&cache=shared");

    public List<Deploy> LoadDeploys() => Query("SELECT json FROM deploys ORDER BY started_at, rowid", j => JsonSerializer.Deserialize<Deploy>(j, DeployJson.Options)!);

    public List<EnvLock> LoadLocks() => Query("SELECT json FROM locks", j => JsonSerializer.Deserialize<EnvLock>(j, DeployJson.Options)!);

    public void Save(Deploy d) => Exec("INSERT INTO deploys(id, started_at, json) VALUES ($a, $b, $c) ON CONFLICT(id) DO UPDATE SET json = excluded.json",
        d.Id, d.StartedAt.ToUnixTimeMilliseconds(), JsonSerializer.Serialize(d, DeployJson.Options));

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
            cmd.ExecuteNonQuery();
        }
    }

    private List<T> Query<T>(string sql, Func<string, T> map)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = sql;
            using var r = cmd.ExecuteReader();
            var list = new List<T>();
            while (r.Read()) list.Add(map(r.GetString(0)));
            return list;
        }
    }

    public void Dispose() => _db.Dispose();
}
