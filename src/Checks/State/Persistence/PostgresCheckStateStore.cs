using System.Text.Json;
using Npgsql;

namespace Observe.Checks.State.Persistence;

/// <summary>An operator action taken on one node that every other node applies to its copy of the check (<c>checks.cluster</c>).</summary>
internal sealed record CheckAction(string Kind, string Author, string Comment, bool Sticky, DateTimeOffset Time,
    DateTimeOffset? Start = null, DateTimeOffset? End = null, bool Fixed = true, double DurationSeconds = 0, int DowntimeId = 0);

/// <summary>A state store several nodes share: each node reads what the others wrote.</summary>
internal interface ISharedCheckStateStore : ICheckStateStore
{
    string Node { get; }
    /// <summary>Snapshots other nodes wrote after <paramref name="seq"/>, in order, with the node that wrote each; <paramref name="last"/> is the newest seq seen.</summary>
    IReadOnlyList<(string Key, string Node, EntrySnapshot Snapshot)> ChangedSince(long seq, out long last);
    /// <summary>Which node wrote each check's stored state (the node that ran it last).</summary>
    IReadOnlyDictionary<string, string> Writers();
    /// <summary>A downtime id no node has been given before.</summary>
    int NextDowntimeId();
    /// <summary>Completes when another node committed state or an action (LISTEN/NOTIFY), or after <paramref name="max"/>.</summary>
    Task WaitForChangeAsync(TimeSpan max, CancellationToken cancellationToken);
    /// <param name="announced">whether this node announced it (it runs the check); else the runner or the node taking the check over will.</param>
    void AppendAction(string key, CheckAction action, bool announced);
    /// <summary>Claims the announcement of action <paramref name="id"/>: true for exactly one caller, the one that announces it.</summary>
    bool ClaimAnnouncement(long id);
    /// <summary>Claims every action of check <paramref name="key"/> nobody announced yet (an ack or downtime taken while its runner was
    /// dead): this node announces them.</summary>
    IReadOnlyList<CheckAction> ClaimUnannounced(string key);
    /// <summary>Actions other nodes took after <paramref name="id"/>, oldest first.</summary>
    IReadOnlyList<(long Id, string Key, CheckAction Action)> ActionsSince(long id);
    /// <summary>The newest seq and action id now (a node starting up applies only what comes after).</summary>
    (long Seq, long Action) Position();
}

/// <summary>
/// Check state in PostgreSQL (the database Quartz uses in a cluster): the same tables as the SQLite store plus a
/// global sequence per state write (so nodes read each other's writes in order), the node that wrote each row, and an
/// action log (acks, downtimes) every node applies. One connection per call from Npgsql's pool; each batch one transaction.
/// Every commit also sends <c>NOTIFY observe_checks</c> (payload: the writing node); each node LISTENs on one more
/// connection, so the others read a change within milliseconds instead of at their next one-second poll.
/// </summary>
internal sealed class PostgresCheckStateStore : ISharedCheckStateStore
{
    private readonly NpgsqlDataSource _db;
    private readonly long _run;
    private const string Channel = "observe_checks";
    private readonly SemaphoreSlim _changed = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _listener;
    private static JsonSerializerOptions Json => SqliteCheckStateStore.Json;

    public PostgresCheckStateStore(string connectionString, string node, DateTimeOffset now)
    {
        Node = node;
        _db = NpgsqlDataSource.Create(connectionString);
        using (var c = _db.OpenConnection())
        using (var tx = c.BeginTransaction())
        {
            // Nodes starting at once: one creates the schema, the others wait for it.
            Exec(c, tx, """
                SELECT pg_advisory_xact_lock(7316001);
                CREATE SEQUENCE IF NOT EXISTS observe_check_seq;
                CREATE TABLE IF NOT EXISTS observe_check_state(key text PRIMARY KEY, json text NOT NULL, node text NOT NULL, seq bigint NOT NULL);
                CREATE INDEX IF NOT EXISTS observe_check_state_seq ON observe_check_state(seq);
                CREATE TABLE IF NOT EXISTS observe_check_events(id bigserial PRIMARY KEY, key text NOT NULL, time bigint NOT NULL, json text NOT NULL);
                CREATE INDEX IF NOT EXISTS observe_check_events_key_time ON observe_check_events(key, time);
                CREATE TABLE IF NOT EXISTS observe_check_spans(id bigserial PRIMARY KEY, key text NOT NULL, time bigint NOT NULL, state int NOT NULL, downtime int NOT NULL);
                CREATE INDEX IF NOT EXISTS observe_check_spans_key_time ON observe_check_spans(key, time);
                CREATE TABLE IF NOT EXISTS observe_runs(id bigserial PRIMARY KEY, node text NOT NULL, started bigint NOT NULL, alive bigint NOT NULL);
                CREATE TABLE IF NOT EXISTS observe_check_actions(id bigserial PRIMARY KEY, key text NOT NULL, node text NOT NULL, json text NOT NULL);
                CREATE SEQUENCE IF NOT EXISTS observe_downtime_id;
                ALTER TABLE observe_check_actions ADD COLUMN IF NOT EXISTS announced boolean NOT NULL DEFAULT true;
                """);
            tx.Commit();
        }
        RunStarted = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
        using var conn = _db.OpenConnection();
        using var cmd = Cmd(conn, "INSERT INTO observe_runs(node, started, alive) VALUES ($1, $2, $2) RETURNING id", node, now.ToUnixTimeMilliseconds());
        _run = (long)cmd.ExecuteScalar()!;
        _listener = Task.Run(() => ListenAsync(_stop.Token));
    }

    /// <summary>Failures of the LISTEN connection (it reconnects after a second; meanwhile nodes poll every second).</summary>
    public long ListenFailures => Interlocked.Read(ref _listenFailures);
    private long _listenFailures;

    private async Task ListenAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var c = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
                c.Notification += (_, n) => { if (n.Payload != Node) Wake(); };
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", c)) await listen.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                Wake(); // whatever was committed while not listening
                while (true) await c.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e) when (e is NpgsqlException or System.IO.IOException or System.Net.Sockets.SocketException or TimeoutException)
            {
                Interlocked.Increment(ref _listenFailures);
                try { await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
            }
        }
    }

    private void Wake()
    {
        if (_changed.CurrentCount == 0) try { _changed.Release(); } catch (SemaphoreFullException) { }
    }

    public async Task WaitForChangeAsync(TimeSpan max, CancellationToken cancellationToken) =>
        await _changed.WaitAsync(max, cancellationToken).ConfigureAwait(false);

    public string Node { get; }
    public DateTimeOffset RunStarted { get; }

    public IReadOnlyDictionary<string, EntrySnapshot> LoadStates()
    {
        using var c = _db.OpenConnection();
        using var cmd = Cmd(c, "SELECT key, json FROM observe_check_state");
        return StoreRows.States(cmd);
    }

    public IReadOnlyList<CheckEvent> RecentEvents(string key, int max)
    {
        using var c = _db.OpenConnection();
        using var cmd = Cmd(c, "SELECT json FROM observe_check_events WHERE key = $1 ORDER BY time DESC, id DESC LIMIT $2", key, max);
        return StoreRows.EventsNewestFirst(cmd);
    }

    public IReadOnlyDictionary<string, StateSpan> LastSpans()
    {
        using var c = _db.OpenConnection();
        using var cmd = Cmd(c, "SELECT DISTINCT ON (key) key, time, state, downtime FROM observe_check_spans ORDER BY key, id DESC");
        return StoreRows.KeyedSpans(cmd);
    }

    public void Write(StateBatch batch)
    {
        using var c = _db.OpenConnection();
        using var tx = c.BeginTransaction();
        var npgBatch = new NpgsqlBatch(c, tx);
        foreach (var (key, s) in batch.States)
            npgBatch.BatchCommands.Add(BatchCmd("""
                INSERT INTO observe_check_state(key, json, node, seq) VALUES ($1, $2, $3, nextval('observe_check_seq'))
                ON CONFLICT (key) DO UPDATE SET json = excluded.json, node = excluded.node, seq = excluded.seq
                """, key, JsonSerializer.Serialize(s, Json), Node));
        foreach (var (key, e) in batch.Events)
            npgBatch.BatchCommands.Add(BatchCmd("INSERT INTO observe_check_events(key, time, json) VALUES ($1, $2, $3)", key, e.Time.ToUnixTimeMilliseconds(), JsonSerializer.Serialize(e, Json)));
        foreach (var (key, s) in batch.Spans)
            npgBatch.BatchCommands.Add(BatchCmd("INSERT INTO observe_check_spans(key, time, state, downtime) VALUES ($1, $2, $3, $4)",
                key, s.Time.ToUnixTimeMilliseconds(), (int)s.HardState, s.InDowntime ? 1 : 0));
        npgBatch.BatchCommands.Add(BatchCmd("UPDATE observe_runs SET alive = $1 WHERE id = $2", batch.AliveAt.ToUnixTimeMilliseconds(), _run));
        // Delivered at commit; a heartbeat-only batch tells nobody anything.
        if (batch.States.Count > 0) npgBatch.BatchCommands.Add(BatchCmd($"SELECT pg_notify('{Channel}', $1)", Node));
        npgBatch.ExecuteNonQuery();
        npgBatch.Dispose();
        tx.Commit();
    }

    public IReadOnlyList<StateSpan> Timeline(string key, DateTimeOffset from, DateTimeOffset until)
    {
        using var c = _db.OpenConnection();
        using var cmd = Cmd(c, """
            (SELECT time, state, downtime FROM observe_check_spans WHERE key = $1 AND time <= $2 ORDER BY time DESC, id DESC LIMIT 1)
            UNION ALL (SELECT time, state, downtime FROM observe_check_spans WHERE key = $1 AND time > $2 AND time < $3 ORDER BY time, id LIMIT 1000001)
            """, key, from.ToUnixTimeMilliseconds(), until.ToUnixTimeMilliseconds());
        return StoreRows.Spans(cmd);
    }

    public IReadOnlyList<(DateTimeOffset Start, DateTimeOffset End)> Uptime(DateTimeOffset from, DateTimeOffset until)
    {
        using var c = _db.OpenConnection();
        using var cmd = Cmd(c, "SELECT started, alive FROM observe_runs WHERE alive >= $1 AND started <= $2 ORDER BY started", from.ToUnixTimeMilliseconds(), until.ToUnixTimeMilliseconds());
        return StoreRows.Runs(cmd);
    }

    public void Prune(DateTimeOffset before)
    {
        using var c = _db.OpenConnection();
        using var tx = c.BeginTransaction();
        var t = before.ToUnixTimeMilliseconds();
        Exec(c, tx, "DELETE FROM observe_check_events WHERE time < $1", t);
        Exec(c, tx, "DELETE FROM observe_check_spans s WHERE time < $1 AND id <> (SELECT MAX(id) FROM observe_check_spans x WHERE x.key = s.key AND x.time < $1)", t);
        Exec(c, tx, "DELETE FROM observe_runs WHERE alive < $1", t);
        Exec(c, tx, "DELETE FROM observe_check_actions WHERE id < (SELECT COALESCE(MAX(id), 0) - 100000 FROM observe_check_actions)");
        tx.Commit();
    }

    public IReadOnlyList<(string Key, string Node, EntrySnapshot Snapshot)> ChangedSince(long seq, out long last)
    {
        last = seq;
        var list = new List<(string, string, EntrySnapshot)>();
        using var c = _db.OpenConnection();
        using var cmd = Cmd(c, "SELECT key, json, node, seq FROM observe_check_state WHERE seq > $1 ORDER BY seq", seq);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            last = Math.Max(last, r.GetInt64(3));
            if (r.GetString(2) != Node) list.Add((r.GetString(0), r.GetString(2), JsonSerializer.Deserialize<EntrySnapshot>(r.GetString(1), Json)!));
        }
        return list;
    }

    public void AppendAction(string key, CheckAction action, bool announced)
    {
        using var c = _db.OpenConnection();
        using var tx = c.BeginTransaction();
        Exec(c, tx, "INSERT INTO observe_check_actions(key, node, json, announced) VALUES ($1, $2, $3, $4)", key, Node, JsonSerializer.Serialize(action, Json), announced);
        Exec(c, tx, $"SELECT pg_notify('{Channel}', $1)", Node);
        tx.Commit();
    }

    public bool ClaimAnnouncement(long id)
    {
        using var c = _db.OpenConnection();
        using var cmd = Cmd(c, "UPDATE observe_check_actions SET announced = true WHERE id = $1 AND NOT announced", id);
        return cmd.ExecuteNonQuery() == 1;
    }

    public IReadOnlyList<CheckAction> ClaimUnannounced(string key)
    {
        using var c = _db.OpenConnection();
        // One statement: two nodes taking the check at once cannot both get an action.
        using var cmd = Cmd(c, "UPDATE observe_check_actions SET announced = true WHERE key = $1 AND NOT announced RETURNING id, json", key);
        return StoreRows.Read(cmd, r => (Id: r.GetInt64(0), Action: JsonSerializer.Deserialize<CheckAction>(r.GetString(1), Json)!))
            .OrderBy(x => x.Id).Select(x => x.Action).ToList();
    }

    public IReadOnlyDictionary<string, string> Writers()
    {
        using var c = _db.OpenConnection();
        using var cmd = Cmd(c, "SELECT key, node FROM observe_check_state");
        return StoreRows.Read(cmd, r => (r.GetString(0), r.GetString(1))).ToDictionary(x => x.Item1, x => x.Item2, StringComparer.Ordinal);
    }

    public int NextDowntimeId()
    {
        using var c = _db.OpenConnection();
        using var cmd = Cmd(c, "SELECT nextval('observe_downtime_id')");
        return checked((int)(long)cmd.ExecuteScalar()!);
    }

    public IReadOnlyList<(long Id, string Key, CheckAction Action)> ActionsSince(long id)
    {
        using var c = _db.OpenConnection();
        using var cmd = Cmd(c, "SELECT id, key, json FROM observe_check_actions WHERE id > $1 AND node <> $2 ORDER BY id", id, Node);
        return StoreRows.Read(cmd, r => (r.GetInt64(0), r.GetString(1), JsonSerializer.Deserialize<CheckAction>(r.GetString(2), Json)!));
    }

    public (long Seq, long Action) Position()
    {
        using var c = _db.OpenConnection();
        using var cmd = Cmd(c, "SELECT COALESCE((SELECT MAX(seq) FROM observe_check_state), 0), COALESCE((SELECT MAX(id) FROM observe_check_actions), 0)");
        using var r = cmd.ExecuteReader();
        r.Read();
        return (r.GetInt64(0), r.GetInt64(1));
    }

    private static NpgsqlCommand Cmd(NpgsqlConnection c, string sql, params object[] args)
    {
        var cmd = new NpgsqlCommand(sql, c);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        return cmd;
    }

    private static NpgsqlBatchCommand BatchCmd(string sql, params object[] args)
    {
        var cmd = new NpgsqlBatchCommand(sql);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        return cmd;
    }

    private static void Exec(NpgsqlConnection c, NpgsqlTransaction tx, string sql, params object[] args)
    {
        using var cmd = Cmd(c, sql, args);
        cmd.Transaction = tx;
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { _listener.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _stop.Dispose();
        _db.Dispose();
    }
}
