using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Observe.Common;
using Observe.Durability;

namespace Observe.Alerting.Pipeline.Persistence;

/// <summary>A firing (or resolved, not yet told) alert as stored.</summary>
internal sealed record StoredAlert(string Key, string Source, DateTimeOffset StartsAt, Dictionary<string, string> Labels, string Severity, string Summary,
    string? Details, DateTimeOffset UpdatedAt, DateTimeOffset? EndsAt, Acknowledgement? Ack);

/// <summary>An aggregation group's notification log (what its receiver was told, when), escalation progress and its alerts
/// (<see cref="Members"/>; absent in files written before clusters shared it). <see cref="Done"/>, in a cluster: other
/// nodes' resolved alerts (key → end) the group's owner has flushed, so the nodes holding them let them go.</summary>
internal sealed record StoredGroup(string Key, List<string> NotifiedFiring, DateTimeOffset? LastNotified, DateTimeOffset NextFlush,
    Dictionary<string, List<string>> EscalatedTo, Dictionary<string, int> EscalationSteps, bool AckNotified, List<string>? Members = null,
    Dictionary<string, DateTimeOffset>? Done = null);

internal sealed record PipelineState(List<StoredAlert> Alerts, List<StoredGroup> Groups);

/// <summary>Where the alert pipeline's state lives across restarts (SQLite in the data dir; a cluster may put it elsewhere).</summary>
internal interface IAlertStateStore : IDisposable
{
    (PipelineState? State, IReadOnlyList<HistoryEntry> History) Load();
    /// <summary>One transaction: the whole pipeline state (when <paramref name="state"/> is not null) and history lines to append.
    /// Returns the keys of alerts another node has taken meanwhile (a shared store; they are not written), else none.</summary>
    IReadOnlyList<string> Write(PipelineState? state, IReadOnlyList<HistoryEntry> history);
}

/// <summary><c>&lt;dataDir&gt;/alerting/state.db</c>: the pipeline state as one JSON row (it is small: the firing alerts and their
/// groups) and the history, newest <c>historyLimit</c> lines kept. WAL + synchronous=FULL.</summary>
internal sealed class SqliteAlertStateStore : IAlertStateStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS pipeline(id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS history(id INTEGER PRIMARY KEY, json TEXT NOT NULL);
        """;
    private static readonly JsonSerializerOptions Json = JsonDefaults.Web;
    private readonly SqliteConnection _db;
    private readonly int _historyLimit;
    private readonly Lock _lock = new();

    public SqliteAlertStateStore(string path, int historyLimit, ILogger log)
    {
        _historyLimit = Math.Max(1, historyLimit);
        _db = SqliteStateFile.Open(path, Schema,
            "firing alerts with their start times, what each receiver was told and when, escalation progress, alert acknowledgements and history", log);
    }

    public (PipelineState? State, IReadOnlyList<HistoryEntry> History) Load()
    {
        lock (_lock)
        {
            PipelineState? state = null;
            using (var cmd = _db.CreateCommand())
            {
                cmd.CommandText = "SELECT json FROM pipeline WHERE id = 1";
                if (cmd.ExecuteScalar() is string json) state = JsonSerializer.Deserialize<PipelineState>(json, Json);
            }
            var history = new List<HistoryEntry>();
            using (var cmd = _db.CreateCommand())
            {
                cmd.CommandText = "SELECT json FROM (SELECT id, json FROM history ORDER BY id DESC LIMIT $n) ORDER BY id";
                cmd.Parameters.AddWithValue("$n", _historyLimit);
                using var r = cmd.ExecuteReader();
                while (r.Read()) history.Add(JsonSerializer.Deserialize<HistoryEntry>(r.GetString(0), Json)!);
            }
            return (state, history);
        }
    }

    public IReadOnlyList<string> Write(PipelineState? state, IReadOnlyList<HistoryEntry> history)
    {
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            if (state != null)
            {
                using var cmd = _db.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO pipeline(id, json) VALUES (1, $j) ON CONFLICT(id) DO UPDATE SET json = excluded.json";
                cmd.Parameters.AddWithValue("$j", JsonSerializer.Serialize(state, Json));
                cmd.ExecuteNonQuery();
            }
            if (history.Count > 0)
            {
                using var cmd = _db.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO history(json) VALUES ($j)";
                var p = cmd.Parameters.Add("$j", SqliteType.Text);
                foreach (var h in history) { p.Value = JsonSerializer.Serialize(h, Json); cmd.ExecuteNonQuery(); }
                using var prune = _db.CreateCommand();
                prune.Transaction = tx;
                prune.CommandText = "DELETE FROM history WHERE id <= (SELECT MAX(id) FROM history) - $n";
                prune.Parameters.AddWithValue("$n", _historyLimit);
                prune.ExecuteNonQuery();
            }
            tx.Commit();
        }
        return [];
    }

    public void Dispose()
    {
        lock (_lock) _db.Dispose();
    }
}
