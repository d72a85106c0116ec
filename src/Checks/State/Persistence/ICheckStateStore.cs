namespace Observe.Checks.State.Persistence;

/// <summary>What one check carries across restarts: its state machine plus the last result the API shows.</summary>
internal sealed record EntrySnapshot(
    MachineSnapshot Machine, string? Output, string? LongOutput, IReadOnlyList<PerfDatum>? PerfData, double? DurationSeconds, CheckState? ResultState,
    double? LatencySeconds, DateTimeOffset? NextCheck, DateTimeOffset? LastPassive);

/// <summary>One step of a check's availability timeline: from <see cref="Time"/> on, its hard state and whether a downtime is in effect.</summary>
internal sealed record StateSpan(DateTimeOffset Time, CheckState HardState, bool InDowntime);

/// <summary>Writes of one batch: the latest snapshot of every changed check, the events and timeline steps since the last batch.</summary>
internal sealed record StateBatch(
    IReadOnlyList<(string Key, EntrySnapshot Snapshot)> States,
    IReadOnlyList<(string Key, CheckEvent Event)> Events,
    IReadOnlyList<(string Key, StateSpan Span)> Spans,
    DateTimeOffset AliveAt);

/// <summary>
/// Where check state lives across restarts (SQLite in the data dir; PostgreSQL in a cluster). Every write is one
/// batch in one transaction; reads happen at start (restore) and for reports.
/// </summary>
internal interface ICheckStateStore : IDisposable
{
    /// <summary>When this process's run record starts (its end is the last heartbeat; for the live run, now).</summary>
    DateTimeOffset RunStarted { get; }
    IReadOnlyDictionary<string, EntrySnapshot> LoadStates();
    /// <summary>The newest <paramref name="max"/> events of a check, oldest first.</summary>
    IReadOnlyList<CheckEvent> RecentEvents(string key, int max);
    /// <summary>The newest timeline step of every check (so a restart records only real changes).</summary>
    IReadOnlyDictionary<string, StateSpan> LastSpans();
    void Write(StateBatch batch);
    /// <summary>The step in effect at <paramref name="from"/> (if any) followed by the steps until <paramref name="until"/>, at most
    /// <see cref="StoreRows.MaxTimelineSteps"/> + 1 (an availability request over more is refused).</summary>
    IReadOnlyList<StateSpan> Timeline(string key, DateTimeOffset from, DateTimeOffset until);
    /// <summary>When Observe was running (and so checking) between the two times, as closed intervals.</summary>
    IReadOnlyList<(DateTimeOffset Start, DateTimeOffset End)> Uptime(DateTimeOffset from, DateTimeOffset until);
    /// <summary>Deletes events, timeline steps and run records older than <paramref name="before"/> (keeping each check's step in effect then).</summary>
    void Prune(DateTimeOffset before);
}

/// <summary>Row readers both stores share (they differ in SQL dialect and connections, not in what a row means).</summary>
internal static class StoreRows
{
    /// <summary>Most timeline steps one check may have in one availability window (a check flapping every minute for 400 days has ~576 000).</summary>
    public const int MaxTimelineSteps = 1_000_000;

    public static Dictionary<string, EntrySnapshot> States(System.Data.Common.DbCommand cmd) =>
        Read(cmd, r => (r.GetString(0), System.Text.Json.JsonSerializer.Deserialize<EntrySnapshot>(r.GetString(1), SqliteCheckStateStore.Json)!))
            .ToDictionary(x => x.Item1, x => x.Item2, StringComparer.Ordinal);

    /// <summary>Events read newest first, returned oldest first.</summary>
    public static List<CheckEvent> EventsNewestFirst(System.Data.Common.DbCommand cmd)
    {
        var list = Read(cmd, r => System.Text.Json.JsonSerializer.Deserialize<CheckEvent>(r.GetString(0), SqliteCheckStateStore.Json)!);
        list.Reverse();
        return list;
    }

    public static Dictionary<string, StateSpan> KeyedSpans(System.Data.Common.DbCommand cmd) =>
        Read(cmd, r => (r.GetString(0), Span(r, 1))).ToDictionary(x => x.Item1, x => x.Item2, StringComparer.Ordinal);

    public static List<StateSpan> Spans(System.Data.Common.DbCommand cmd) => Read(cmd, r => Span(r, 0));

    public static List<(DateTimeOffset Start, DateTimeOffset End)> Runs(System.Data.Common.DbCommand cmd) =>
        Read(cmd, r => (DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(0)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1))));

    public static List<T> Read<T>(System.Data.Common.DbCommand cmd, Func<System.Data.Common.DbDataReader, T> map)
    {
        var list = new List<T>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) list.Add(map(r));
        return list;
    }

    private static StateSpan Span(System.Data.Common.DbDataReader r, int i) =>
        new(DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(i)), (CheckState)r.GetInt32(i + 1), r.GetInt32(i + 2) != 0);
}
