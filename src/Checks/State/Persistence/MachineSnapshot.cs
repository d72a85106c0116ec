namespace Observe.Checks.State;

/// <summary>Everything a check's state machine knows, as stored across restarts and shared in a cluster.</summary>
internal sealed record MachineSnapshot(
    CheckState State, StateType StateType, int Attempt, CheckState LastHardState, DateTimeOffset LastStateChange,
    DateTimeOffset? LastHardStateChange, DateTimeOffset? LastCheck, DateTimeOffset? LastNotification, int NotificationNumber,
    bool ProblemNotified, bool IsFlapping, double PercentStateChange, CheckState[] FlapHistory, int FlapIndex,
    Acknowledgement? Ack, IReadOnlyList<DowntimeSnapshot> Downtimes, int NextDowntimeId);

internal sealed record DowntimeSnapshot(int Id, DateTimeOffset Start, DateTimeOffset End, bool Fixed, TimeSpan Duration, string Author,
    string Comment, bool InEffect, DateTimeOffset? StartedAt);

internal sealed partial class ServiceStateMachine
{
    public MachineSnapshot Snapshot() => new(State, StateType, Attempt, LastHardState, LastStateChange, LastHardStateChange, LastCheck,
        LastNotification, NotificationNumber, ProblemNotified, IsFlapping, PercentStateChange, (CheckState[])_history.Clone(), _historyIndex, Ack,
        _downtimes.Select(d => new DowntimeSnapshot(d.Id, d.Start, d.End, d.Fixed, d.Duration, d.Author, d.Comment, d.InEffect, d.StartedAt)).ToList(),
        _nextDowntimeId);

    /// <summary>Puts back a state saved by <see cref="Snapshot"/> (the policy stays the configured one).</summary>
    public void Restore(MachineSnapshot s)
    {
        State = s.State; StateType = s.StateType; Attempt = Math.Clamp(s.Attempt, 1, Math.Max(1, Policy.MaxCheckAttempts));
        LastHardState = s.LastHardState; LastStateChange = s.LastStateChange; LastHardStateChange = s.LastHardStateChange; LastCheck = s.LastCheck;
        LastNotification = s.LastNotification; NotificationNumber = s.NotificationNumber; ProblemNotified = s.ProblemNotified;
        IsFlapping = s.IsFlapping; PercentStateChange = s.PercentStateChange; Ack = s.Ack;
        if (s.FlapHistory is { Length: MaxStateHistory }) { Array.Copy(s.FlapHistory, _history, MaxStateHistory); _historyIndex = Math.Clamp(s.FlapIndex, 0, MaxStateHistory - 1); }
        _downtimes.Clear();
        foreach (var d in s.Downtimes)
            _downtimes.Add(new Downtime(d.Id, d.Start, d.End, d.Fixed, d.Duration, d.Author, d.Comment) { InEffect = d.InEffect, StartedAt = d.StartedAt });
        _nextDowntimeId = Math.Max(s.NextDowntimeId, _downtimes.Select(d => d.Id + 1).DefaultIfEmpty(1).Max());
    }
}
