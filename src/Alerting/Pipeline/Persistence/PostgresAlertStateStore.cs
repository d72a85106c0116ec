using System.Text.Json;
using Npgsql;

namespace Observe.Alerting.Pipeline.Persistence;

/// <summary>One alert as stored in a cluster: the alert and, for each group it is in, that group's log as far as it concerns this alert.</summary>
internal sealed record StoredAlertRow(StoredAlert Alert, List<StoredGroup> Groups);

/// <summary>A store several nodes share: each alert belongs to one node, which alone decides its state; each group belongs to
/// one node, which alone notifies it, with the alerts of every node in it.</summary>
internal interface ISharedAlertStateStore : IAlertStateStore
{
    /// <summary>This node's id.</summary>
    string Node { get; }
    /// <summary>The store has failed for longer than the node timeout (the other nodes think this node dead).</summary>
    bool CutOff { get; }
    /// <summary>Takes the alert <paramref name="key"/> from the node that holds it (the alert follows its producer: a check that
    /// moved here brings its alert along), with the groups it is in; null when no other node holds it.</summary>
    PipelineState? Claim(string key);
    /// <summary>Records that this node is alive and takes every alert and group of nodes silent for longer than the node timeout; null when none.</summary>
    PipelineState? AdoptOrphans();
    /// <summary>The node owning group <paramref name="key"/> as last read (at each write, claim, adoption and <see cref="ForeignAlerts"/>); null: not known.</summary>
    string? OwnerOf(string key);
    /// <summary>Group <paramref name="key"/>'s log as its owner last wrote it (null: not known).</summary>
    StoredGroup? GroupRow(string key);
    /// <summary>The alerts other nodes hold (a group's owner flushes them with its own); re-reads who owns the groups this node knows.</summary>
    IReadOnlyList<StoredAlert> ForeignAlerts();
    /// <summary>Inserts or replaces a silence (<paramref name="onlyIfNew"/>: keeps one the cluster already has) and tells every node.</summary>
    void SaveSilence(Silence silence, bool onlyIfNew);
    /// <summary>Every silence of the cluster when they may have changed since the last call (the first call always), else null.</summary>
    IReadOnlyList<Silence>? SilencesIfChanged();
}

/// <summary>
/// The pipeline's state in PostgreSQL (<c>checks.cluster</c>): one row per alert with the node that owns it, so the
/// notification log and escalation progress outlive the node. A node writes only rows it owns (an upsert guarded by
/// <c>node = me</c>: a row another node took is reported lost, and the writer drops the alert); it renews a liveness row
/// every second, and a node whose row is older than the timeout has its alerts taken by the first live node that looks.
/// Times of liveness come from the database's clock, so the nodes' clocks do not matter. History is one cluster-wide log.
/// The pipeline calls the store under its lock: connecting gives up after 2 s, and after a failure the store refuses at
/// once for <see cref="Pause"/> (the pipeline counts it and notifies from memory), so a database that is away delays no page.
/// </summary>
internal sealed class PostgresAlertStateStore : ISharedAlertStateStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly NpgsqlDataSource _db;
    private readonly string _node;
    private readonly double _timeoutSeconds;
    private readonly int _historyLimit;
    private readonly TimeProvider _time;
    internal static readonly TimeSpan Pause = TimeSpan.FromSeconds(5);
    private DateTimeOffset _pausedUntil;

    public PostgresAlertStateStore(string connectionString, string node, TimeSpan nodeTimeout, int historyLimit, TimeProvider time)
    {
        _node = node;
        _timeoutSeconds = nodeTimeout.TotalSeconds;
        _historyLimit = Math.Max(1, historyLimit);
        _time = time;
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        b.Timeout = Math.Min(b.Timeout, 2);
        b.CommandTimeout = Math.Min(b.CommandTimeout, 5);
        _db = NpgsqlDataSource.Create(b.ConnectionString);
        using var c = _db.OpenConnection();
        using var tx = c.BeginTransaction();
        // Nodes starting at once: one creates the schema, the others wait for it.
        Exec(c, tx, """
            SELECT pg_advisory_xact_lock(7316002);
            CREATE TABLE IF NOT EXISTS observe_alert_state(key text PRIMARY KEY, node text NOT NULL, json text NOT NULL);
            CREATE INDEX IF NOT EXISTS observe_alert_state_node ON observe_alert_state(node);
            CREATE TABLE IF NOT EXISTS observe_alert_history(id bigserial PRIMARY KEY, json text NOT NULL);
            CREATE TABLE IF NOT EXISTS observe_alert_nodes(node text PRIMARY KEY, alive timestamptz NOT NULL);
            CREATE TABLE IF NOT EXISTS observe_silences(id text PRIMARY KEY, ends timestamptz NOT NULL, json text NOT NULL);
            CREATE TABLE IF NOT EXISTS observe_alert_groups(key text PRIMARY KEY, node text NOT NULL, json text NOT NULL);
            CREATE INDEX IF NOT EXISTS observe_alert_groups_node ON observe_alert_groups(node);
            """);
        tx.Commit();
        _listener = Task.Run(() => ListenAsync(_stop.Token));
    }

    private const string SilenceChannel = "observe_silences";
    /// <summary>Kept this long after they end (as <see cref="SilenceStore.Prune"/> does on each node).</summary>
    private static readonly TimeSpan SilenceKeep = TimeSpan.FromDays(7);
    /// <summary>Read again at least this often, in case a NOTIFY was missed while the LISTEN connection was down.</summary>
    private static readonly TimeSpan SilenceReread = TimeSpan.FromSeconds(5);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _listener;
    private int _silencesChanged = 1;
    private DateTimeOffset _silencesRead;

    /// <summary>LISTENs on one more connection: a silence changed on any node is read by every node at its next tick (250 ms).</summary>
    private async Task ListenAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var c = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
                c.Notification += (_, _) => Volatile.Write(ref _silencesChanged, 1);
                await using (var listen = new NpgsqlCommand($"LISTEN {SilenceChannel}", c)) await listen.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                Volatile.Write(ref _silencesChanged, 1); // whatever changed while not listening
                while (true) await c.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e) when (e is NpgsqlException or IOException or System.Net.Sockets.SocketException or TimeoutException)
            {
                try { await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
            }
        }
    }

    public string Node => _node;

    private DateTimeOffset? _failingSince;

    /// <summary>Failing for longer than the node timeout: the other nodes have taken this node's alerts and groups by now,
    /// and this node notifies its groups from memory (at worst a page twice, never none).</summary>
    public bool CutOff => _failingSince is { } t && _time.GetUtcNow() - t >= TimeSpan.FromSeconds(_timeoutSeconds);

    public void SaveSilence(Silence silence, bool onlyIfNew) => Guard(() =>
    {
        using var c = _db.OpenConnection();
        using var tx = c.BeginTransaction();
        Exec(c, tx, onlyIfNew
            ? "INSERT INTO observe_silences(id, ends, json) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING"
            : "INSERT INTO observe_silences(id, ends, json) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET ends = excluded.ends, json = excluded.json",
            silence.Id, silence.EndsAt, JsonSerializer.Serialize(silence, Json));
        // By the pipeline's clock, as silences are judged (not the database's).
        Exec(c, tx, "DELETE FROM observe_silences WHERE ends < $1", _time.GetUtcNow() - SilenceKeep);
        Exec(c, tx, $"SELECT pg_notify('{SilenceChannel}', $1)", _node);
        tx.Commit();
        return 0;
    });

    public IReadOnlyList<Silence>? SilencesIfChanged()
    {
        var now = _time.GetUtcNow();
        if (Interlocked.Exchange(ref _silencesChanged, 0) == 0 && now - _silencesRead < SilenceReread) return null;
        try
        {
            return Guard(() =>
            {
                using var c = _db.OpenConnection();
                using var cmd = new NpgsqlCommand("SELECT json FROM observe_silences", c);
                using var r = cmd.ExecuteReader();
                var list = new List<Silence>();
                while (r.Read()) list.Add(JsonSerializer.Deserialize<Silence>(r.GetString(0), Json)!);
                _silencesRead = now;
                return list;
            });
        }
        catch
        {
            _silencesRead = now - SilenceReread + TimeSpan.FromSeconds(1); // tried again in a second, not at every tick
            throw;
        }
    }

    /// <summary>Runs one operation unless the database failed within the last <see cref="Pause"/>; a failure starts a pause.</summary>
    private T Guard<T>(Func<T> op)
    {
        var now = _time.GetUtcNow();
        if (now < _pausedUntil) throw new InvalidOperationException($"PostgreSQL failed less than {Pause.TotalSeconds:0} s ago; not retried yet");
        try
        {
            var result = op();
            _failingSince = null;
            return result;
        }
        catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or System.Net.Sockets.SocketException)
        {
            _pausedUntil = _time.GetUtcNow() + Pause;
            _failingSince ??= now;
            throw;
        }
    }

    public (PipelineState? State, IReadOnlyList<HistoryEntry> History) Load()
    {
        using var c = _db.OpenConnection();
        using var tx = c.BeginTransaction();
        Heartbeat(c, tx);
        var rows = Rows(c, tx, "SELECT json FROM observe_alert_state WHERE node = $1", _node);
        var groups = ReadGroups(c, tx, "SELECT node, json FROM observe_alert_groups WHERE node = $1", _node);
        var history = new List<HistoryEntry>();
        using (var cmd = Cmd(c, tx, "SELECT json FROM (SELECT id, json FROM observe_alert_history ORDER BY id DESC LIMIT $1) t ORDER BY id", _historyLimit))
        using (var r = cmd.ExecuteReader())
            while (r.Read()) history.Add(JsonSerializer.Deserialize<HistoryEntry>(r.GetString(0), Json)!);
        tx.Commit();
        Remember(groups, replace: false);
        return (Combine(rows, Groups(groups)), history);
    }

    public IReadOnlyList<string> Write(PipelineState? state, IReadOnlyList<HistoryEntry> history) => Guard(() => WriteNow(state, history));

    private List<string> WriteNow(PipelineState? state, IReadOnlyList<HistoryEntry> history)
    {
        var lost = new List<string>();
        List<(string Node, StoredGroup Group)>? owners = null;
        using var c = _db.OpenConnection();
        using var tx = c.BeginTransaction();
        Heartbeat(c, tx);
        if (state != null)
        {
            var keys = new List<string>(state.Alerts.Count);
            foreach (var row in Split(state))
            {
                keys.Add(row.Alert.Key);
                // Only a row this node owns (or a new one): a row another node took stays theirs.
                using var up = Cmd(c, tx, """
                    INSERT INTO observe_alert_state(key, node, json) VALUES ($1, $2, $3)
                    ON CONFLICT (key) DO UPDATE SET json = excluded.json WHERE observe_alert_state.node = excluded.node
                    """, row.Alert.Key, _node, JsonSerializer.Serialize(row, Json));
                if (up.ExecuteNonQuery() == 0) lost.Add(row.Alert.Key);
            }
            using var del = Cmd(c, tx, "DELETE FROM observe_alert_state WHERE node = $1 AND NOT (key = ANY($2))", _node, (object)keys.ToArray());
            del.ExecuteNonQuery();
            owners = WriteGroups(c, tx, state.Groups);
        }
        if (history.Count > 0)
        {
            using var ins = Cmd(c, tx, "INSERT INTO observe_alert_history(json) SELECT unnest($1::text[])", (object)history.Select(h => JsonSerializer.Serialize(h, Json)).ToArray());
            ins.ExecuteNonQuery();
            using var prune = Cmd(c, tx, "DELETE FROM observe_alert_history WHERE id <= (SELECT MAX(id) FROM observe_alert_history) - $1", (long)_historyLimit);
            prune.ExecuteNonQuery();
        }
        tx.Commit();
        if (owners != null) Remember(owners, replace: true);
        return lost;
    }

    /// <summary>
    /// Each group row is written only by its owner: the first node to write a group owns it (an upsert guarded by
    /// <c>node = me</c>, as the alert rows), and keeps it until another node claims it with one of its alerts or adopts it.
    /// Then who owns each of this node's groups is read back (remembered once the transaction commits).
    /// </summary>
    private List<(string Node, StoredGroup Group)> WriteGroups(NpgsqlConnection c, NpgsqlTransaction tx, List<StoredGroup> groups)
    {
        var keys = groups.Select(g => g.Key).ToArray();
        foreach (var g in groups)
        {
            using var up = Cmd(c, tx, """
                INSERT INTO observe_alert_groups(key, node, json) VALUES ($1, $2, $3)
                ON CONFLICT (key) DO UPDATE SET json = excluded.json WHERE observe_alert_groups.node = excluded.node
                """, g.Key, _node, JsonSerializer.Serialize(g, Json));
            up.ExecuteNonQuery();
        }
        using (var del = Cmd(c, tx, "DELETE FROM observe_alert_groups WHERE node = $1 AND NOT (key = ANY($2))", _node, (object)keys))
            del.ExecuteNonQuery();
        return ReadGroups(c, tx, "SELECT node, json FROM observe_alert_groups WHERE key = ANY($1)", (object)keys);
    }

    /// <summary>Group key → (owner, log) as last read; called under the pipeline's lock.</summary>
    private readonly Dictionary<string, (string Node, StoredGroup Group)> _groups = new(StringComparer.Ordinal);

    /// <summary>
    /// Takes what a committed transaction read of the groups (<paramref name="replace"/>: all this node knows of, else some).
    /// Only after the commit: a read that failed half-way (a connection the pool handed out dead, a command timeout) once
    /// cleared this map first, and a group whose owner is not known is notified by this node ("the first write decides"),
    /// so a node that did not own a group told it at once instead of after the node timeout.
    /// </summary>
    private void Remember(List<(string Node, StoredGroup Group)> read, bool replace)
    {
        if (replace) _groups.Clear();
        foreach (var (node, g) in read) _groups[g.Key] = (node, g);
    }

    private static List<StoredGroup> Groups(List<(string Node, StoredGroup Group)> read) => read.ConvertAll(r => r.Group);

    public string? OwnerOf(string key) => _groups.TryGetValue(key, out var g) ? g.Node : null;

    public StoredGroup? GroupRow(string key) => _groups.TryGetValue(key, out var g) ? g.Group : null;

    private static List<(string Node, StoredGroup Group)> ReadGroups(NpgsqlConnection c, NpgsqlTransaction tx, string sql, params object[] args)
    {
        var list = new List<(string Node, StoredGroup Group)>();
        using var cmd = Cmd(c, tx, sql, args);
        using var r = cmd.ExecuteReader();
        while (r.Read()) list.Add((r.GetString(0), JsonSerializer.Deserialize<StoredGroup>(r.GetString(1), Json)!));
        return list;
    }

    public IReadOnlyList<StoredAlert> ForeignAlerts() => Guard(() =>
    {
        using var c = _db.OpenConnection();
        using var tx = c.BeginTransaction();
        var owners = ReadGroups(c, tx, "SELECT node, json FROM observe_alert_groups WHERE key = ANY($1)", (object)_groups.Keys.ToArray());
        var rows = Rows(c, tx, "SELECT json FROM observe_alert_state WHERE node <> $1", _node);
        tx.Commit();
        Remember(owners, replace: true);
        return rows.Select(r => r.Alert).ToList();
    });

    public PipelineState? Claim(string key) => Guard(() => ClaimNow(key));

    private PipelineState? ClaimNow(string key)
    {
        using var c = _db.OpenConnection();
        using var tx = c.BeginTransaction();
        var rows = Rows(c, tx, "UPDATE observe_alert_state SET node = $1 WHERE key = $2 AND node <> $1 RETURNING json", _node, key);
        // The alert's groups come along (their log, and the duty to notify them), wherever their owner is.
        var groups = ReadGroups(c, tx, "UPDATE observe_alert_groups SET node = $1 WHERE key = ANY($2) RETURNING node, json", _node,
            (object)rows.SelectMany(r => r.Groups.Select(g => g.Key)).Distinct().ToArray());
        tx.Commit();
        Remember(groups, replace: false);
        return Combine(rows, Groups(groups));
    }

    public PipelineState? AdoptOrphans() => Guard(AdoptNow);

    private PipelineState? AdoptNow()
    {
        using var c = _db.OpenConnection();
        using var tx = c.BeginTransaction();
        Heartbeat(c, tx);
        var rows = Rows(c, tx, """
            UPDATE observe_alert_state SET node = $1 WHERE node IN
              (SELECT node FROM observe_alert_nodes WHERE node <> $1 AND alive < now() - make_interval(secs => $2))
            RETURNING json
            """, _node, _timeoutSeconds);
        var groups = ReadGroups(c, tx, """
            UPDATE observe_alert_groups SET node = $1 WHERE node IN
              (SELECT node FROM observe_alert_nodes WHERE node <> $1 AND alive < now() - make_interval(secs => $2))
            RETURNING node, json
            """, _node, _timeoutSeconds);
        tx.Commit();
        Remember(groups, replace: false);
        return Combine(rows, Groups(groups));
    }

    private void Heartbeat(NpgsqlConnection c, NpgsqlTransaction tx) =>
        Exec(c, tx, "INSERT INTO observe_alert_nodes(node, alive) VALUES ($1, now()) ON CONFLICT (node) DO UPDATE SET alive = now()", _node);

    /// <summary>Each alert with its share of every group it is in (the groups' own fields repeat in each alert's row).</summary>
    internal static IEnumerable<StoredAlertRow> Split(PipelineState state) =>
        state.Alerts.Select(a => new StoredAlertRow(a, state.Groups
            .Where(g => (g.Members ?? []).Contains(a.Key) || g.NotifiedFiring.Contains(a.Key))
            .Select(g => g with
            {
                NotifiedFiring = g.NotifiedFiring.Contains(a.Key) ? [a.Key] : [],
                EscalatedTo = g.EscalatedTo.TryGetValue(a.Key, out var to) ? new() { [a.Key] = to } : [],
                EscalationSteps = g.EscalationSteps.TryGetValue(a.Key, out var n) ? new() { [a.Key] = n } : [],
                Members = [a.Key],
            }).ToList()));

    /// <summary>Rows back into one state: each group's share from every alert and the group rows taken merged (the pipeline
    /// merges it into its own).</summary>
    internal static PipelineState? Combine(List<StoredAlertRow> rows, List<StoredGroup>? taken = null)
    {
        if (rows.Count == 0 && (taken == null || taken.Count == 0)) return null;
        var groups = new Dictionary<string, StoredGroup>(StringComparer.Ordinal);
        foreach (var g in rows.SelectMany(r => r.Groups).Concat(taken ?? []))
            groups[g.Key] = groups.TryGetValue(g.Key, out var x) ? PipelineMerge.Groups(x, g) : g;
        return new PipelineState(rows.Select(r => r.Alert).ToList(), groups.Values.ToList());
    }

    private static List<StoredAlertRow> Rows(NpgsqlConnection c, NpgsqlTransaction tx, string sql, params object[] args)
    {
        using var cmd = Cmd(c, tx, sql, args);
        using var r = cmd.ExecuteReader();
        var list = new List<StoredAlertRow>();
        while (r.Read()) list.Add(JsonSerializer.Deserialize<StoredAlertRow>(r.GetString(0), Json)!);
        return list;
    }

    private static NpgsqlCommand Cmd(NpgsqlConnection c, NpgsqlTransaction tx, string sql, params object[] args)
    {
        var cmd = new NpgsqlCommand(sql, c, tx);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        return cmd;
    }

    private static void Exec(NpgsqlConnection c, NpgsqlTransaction tx, string sql, params object[] args)
    {
        using var cmd = Cmd(c, tx, sql, args);
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { _listener.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _db.Dispose();
    }
}

/// <summary>How two records of one group's log combine (rows of several alerts, or a claimed alert into a live group).</summary>
internal static class PipelineMerge
{
    public static StoredGroup Groups(StoredGroup a, StoredGroup b) => a with
    {
        NotifiedFiring = a.NotifiedFiring.Union(b.NotifiedFiring).ToList(),
        LastNotified = Max(a.LastNotified, b.LastNotified),
        NextFlush = a.NextFlush < b.NextFlush ? a.NextFlush : b.NextFlush,
        EscalatedTo = a.EscalatedTo.Concat(b.EscalatedTo).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.SelectMany(kv => kv.Value).Distinct().ToList()),
        EscalationSteps = a.EscalationSteps.Concat(b.EscalationSteps).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Max(kv => kv.Value)),
        AckNotified = a.AckNotified && b.AckNotified,
        Members = (a.Members ?? []).Union(b.Members ?? []).ToList(),
        Done = a.Done == null ? b.Done : b.Done == null ? a.Done : a.Done.Concat(b.Done).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Max(kv => kv.Value)),
    };

    public static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;
}
