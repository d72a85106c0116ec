namespace Observe.Checks.State;

/// <summary>Per-check settings the state machine needs.</summary>
internal sealed record CheckPolicy(
    int MaxCheckAttempts, TimeSpan CheckInterval, TimeSpan RetryInterval, TimeSpan NotificationInterval,
    bool FlapDetection = true, double LowFlapThreshold = 5, double HighFlapThreshold = 20);

/// <summary>The state of the host a service runs on, as the service sees it.</summary>
internal enum HostState { Up, Down, Unreachable }

internal enum CheckEventKind
{
    /// <summary>What Nagios logs as SERVICE ALERT: a state change, each soft retry, the soft→hard step.</summary>
    Alert,
    Notification,
    FlappingStart,
    FlappingStop,
    DowntimeStart,
    DowntimeEnd,
    DowntimeCancelled,
    Acknowledgement,
    AcknowledgementCleared,
}

internal enum NotificationType { Problem, Recovery }

/// <summary>One thing that happened to a check. Notifications suppressed by a filter carry the filter's name.</summary>
internal sealed record CheckEvent(
    CheckEventKind Kind, DateTimeOffset Time, CheckState State, StateType StateType, int Attempt, string Text,
    NotificationType? Notification = null, string? SuppressedBy = null);

/// <summary>
/// Nagios' service state logic, pure and clock-injected (every call takes <c>now</c>):
/// <list type="bullet">
/// <item>a non-OK result after OK is SOFT attempt 1; each further non-OK result is the next attempt; attempt
/// <c>max_check_attempts</c> makes it HARD (max 1 = HARD at once). A non-OK service on a host that is not UP goes
/// HARD at once and does not notify.</item>
/// <item>notifications: on a HARD problem (including HARD→HARD changes such as WARNING→CRITICAL, which reset the
/// notification number) and again every <c>notification_interval</c> while it lasts (0 = once); a recovery is sent
/// only when the problem was notified; soft recoveries never notify. Filters in Nagios' order: downtime →
/// flapping → acknowledgement (problems only) → host not UP (problems only) → interval.</item>
/// <item>flap detection exactly as base/flapping.c: the last 21 states, transitions weighted linearly 0.75 (oldest)
/// → 1.25 (newest), percent = Σweights·100/20; start at ≥ high, stop at ≤ low, undecided between.</item>
/// <item>downtime: fixed (in effect between start and end) and flexible (starts when the service is non-OK inside the
/// window, lasts its duration); start/end/cancel are events; in effect, notifications are suppressed.</item>
/// <item>acknowledgements: only of a problem; suppress problem notifications; a non-sticky one is cleared by any state
/// change, a sticky one only by recovery to OK.</item>
/// </list>
/// </summary>
internal sealed partial class ServiceStateMachine
{
    internal const int MaxStateHistory = 21;
    private readonly CheckState[] _history = new CheckState[MaxStateHistory];
    private int _historyIndex;
    private readonly List<Downtime> _downtimes = [];
    private int _nextDowntimeId = 1;

    public ServiceStateMachine(CheckPolicy policy, DateTimeOffset now)
    {
        Policy = policy;
        LastStateChange = now;
        Array.Fill(_history, CheckState.Ok);
    }

    public CheckPolicy Policy { get; set; }
    public CheckState State { get; private set; } = CheckState.Ok;
    public StateType StateType { get; private set; } = StateType.Hard;
    public int Attempt { get; private set; } = 1;
    public CheckState LastHardState { get; private set; } = CheckState.Ok;
    public DateTimeOffset LastStateChange { get; private set; }
    public DateTimeOffset? LastHardStateChange { get; private set; }
    public DateTimeOffset? LastCheck { get; private set; }
    public DateTimeOffset? LastNotification { get; private set; }
    public int NotificationNumber { get; private set; }
    public bool ProblemNotified { get; private set; }
    public bool IsFlapping { get; private set; }
    public double PercentStateChange { get; private set; }
    public Acknowledgement? Ack { get; private set; }
    public IReadOnlyList<Downtime> Downtimes => _downtimes;
    public bool InDowntime => _downtimes.Any(d => d.InEffect);
    public bool HasBeenChecked => LastCheck != null;

    /// <summary>When the next check is due after one at <paramref name="from"/>: retry_interval while SOFT non-OK, else check_interval.</summary>
    public TimeSpan NextInterval => StateType == StateType.Soft && State != CheckState.Ok ? Policy.RetryInterval : Policy.CheckInterval;

    /// <summary>Applies one check result.</summary>
    public List<CheckEvent> Process(CheckState result, DateTimeOffset now, HostState host = HostState.Up)
    {
        var events = new List<CheckEvent>();
        Tick(now, events);
        LastCheck = now;
        var hostProblem = host != HostState.Up;
        var previous = State;
        var stateChange = result != previous;
        var hardChange = false;

        if (result == CheckState.Ok)
        {
            if (previous == CheckState.Ok) { StateType = StateType.Hard; Attempt = 1; }
            else if (StateType == StateType.Hard)
            {
                // HARD recovery: Nagios 4 logs it with the problem's attempt (OK;HARD;3), then resets the attempt.
                State = CheckState.Ok; hardChange = true;
                events.Add(Event(CheckEventKind.Alert, now, "HARD recovery"));
                Attempt = 1;
            }
            else
            {
                // SOFT recovery: logged as OK;SOFT;attempt+1, then the state type is set HARD and the attempt reset.
                State = CheckState.Ok;
                events.Add(new CheckEvent(CheckEventKind.Alert, now, CheckState.Ok, StateType.Soft, Math.Min(Attempt + 1, Policy.MaxCheckAttempts), "SOFT recovery"));
                StateType = StateType.Hard; Attempt = 1;
            }
        }
        else if (previous == CheckState.Ok)
        {
            State = result; Attempt = 1;
            if (hostProblem || Policy.MaxCheckAttempts <= 1) { StateType = StateType.Hard; hardChange = true; }
            else StateType = StateType.Soft;
            events.Add(Event(CheckEventKind.Alert, now, hostProblem ? $"host is {host.ToString().ToUpperInvariant()}" : ""));
        }
        else if (StateType == StateType.Soft)
        {
            State = result;
            Attempt = Math.Min(Attempt + 1, Policy.MaxCheckAttempts);
            if (hostProblem || Attempt >= Policy.MaxCheckAttempts) { StateType = StateType.Hard; hardChange = true; }
            events.Add(Event(CheckEventKind.Alert, now, hostProblem ? $"host is {host.ToString().ToUpperInvariant()}" : ""));
        }
        else if (stateChange)
        {
            // HARD → HARD change (e.g. WARNING → CRITICAL)
            State = result; hardChange = true;
            events.Add(Event(CheckEventKind.Alert, now, "HARD state change"));
        }

        if (stateChange)
        {
            LastStateChange = now;
            if (Ack is { } ack && (State == CheckState.Ok || !ack.Sticky))
            {
                Ack = null;
                events.Add(Event(CheckEventKind.AcknowledgementCleared, now, $"acknowledgement by {ack.Author} cleared by the change to {State.Upper()}"));
            }
        }
        if (hardChange) { LastHardStateChange = now; LastHardState = State; }

        if (State != CheckState.Ok) TriggerFlexibleDowntimes(now, events);
        var flapStopped = UpdateFlapping(now, events);

        if (hardChange && State == CheckState.Ok || flapStopped && State == CheckState.Ok && ProblemNotified)
        {
            // Nagios sends a recovery only when some problem notification went out (notified_on), whatever the number says.
            // One suppressed while flapping stays owed (ProblemNotified), and goes out when flapping stops with the service
            // OK, as clear_service_flap does: else the alert would fire on for a healthy service.
            if (ProblemNotified && !Notify(NotificationType.Recovery, now, events, hostProblem) && IsFlapping) return events;
            NotificationNumber = 0; ProblemNotified = false;
        }
        else if (StateType == StateType.Hard && State != CheckState.Ok)
        {
            if (hardChange) NotificationNumber = 0;
            Notify(NotificationType.Problem, now, events, hostProblem, reportSuppressed: hardChange);
        }
        return events;
    }

    /// <summary>Starts and ends downtimes whose time has come (call periodically, not only on check results).</summary>
    public List<CheckEvent> Tick(DateTimeOffset now)
    {
        var events = new List<CheckEvent>();
        Tick(now, events);
        return events;
    }

    private void Tick(DateTimeOffset now, List<CheckEvent> events)
    {
        for (var i = 0; i < _downtimes.Count; i++)
        {
            var d = _downtimes[i];
            if (d.InEffect && now >= d.EffectiveEnd)
            {
                _downtimes.RemoveAt(i--);
                events.Add(Event(CheckEventKind.DowntimeEnd, now, $"downtime {d.Id} by {d.Author} ended"));
            }
            else if (!d.InEffect && d.Fixed && now >= d.Start && now < d.End)
            {
                d.InEffect = true; d.StartedAt = now;
                events.Add(DowntimeStarted(d, now));
            }
            else if (!d.InEffect && now >= d.End)
            {
                _downtimes.RemoveAt(i--); // a flexible downtime that never triggered expires silently
            }
        }
    }

    private void TriggerFlexibleDowntimes(DateTimeOffset now, List<CheckEvent> events)
    {
        foreach (var d in _downtimes)
        {
            if (d.Fixed || d.InEffect || now < d.Start || now >= d.End) continue;
            d.InEffect = true; d.StartedAt = now;
            events.Add(DowntimeStarted(d, now));
        }
    }

    /// <summary>The DOWNTIMESTART event of <paramref name="d"/> (also when a cluster node announces one another node started).</summary>
    public CheckEvent DowntimeStarted(Downtime d, DateTimeOffset now) => Event(CheckEventKind.DowntimeStart, now, d.Fixed
        ? $"fixed downtime {d.Id} by {d.Author} started: {d.Comment}"
        : $"flexible downtime {d.Id} by {d.Author} started for {d.Duration}: {d.Comment}");

    /// <summary>Schedules a downtime; fixed ones in effect now start at once.</summary>
    public (Downtime Downtime, List<CheckEvent> Events) ScheduleDowntime(DateTimeOffset start, DateTimeOffset end, bool isFixed, TimeSpan duration,
        string author, string comment, DateTimeOffset now, int? id = null)
    {
        if (end <= start) throw new ArgumentException("downtime end must be after its start");
        if (!isFixed && duration <= TimeSpan.Zero) throw new ArgumentException("a flexible downtime needs a duration");
        // A given id (cluster-wide, or the one another node chose) is kept; local ids count on after it.
        var downtimeId = id ?? _nextDowntimeId;
        _nextDowntimeId = Math.Max(_nextDowntimeId, downtimeId + 1);
        var d = new Downtime(downtimeId, start, end, isFixed, isFixed ? end - start : duration, author, comment);
        _downtimes.Add(d);
        var events = new List<CheckEvent>();
        Tick(now, events);
        if (!isFixed && State != CheckState.Ok) TriggerFlexibleDowntimes(now, events);
        return (d, events);
    }

    public List<CheckEvent> CancelDowntime(int id, DateTimeOffset now)
    {
        var events = new List<CheckEvent>();
        var d = _downtimes.FirstOrDefault(x => x.Id == id);
        if (d == null) return events;
        _downtimes.Remove(d);
        events.Add(Event(CheckEventKind.DowntimeCancelled, now, $"downtime {d.Id} by {d.Author} cancelled"));
        return events;
    }

    /// <summary>Acknowledges the current problem; refused (null) when the check is OK.</summary>
    public List<CheckEvent>? Acknowledge(string author, string comment, bool sticky, DateTimeOffset now)
    {
        if (State == CheckState.Ok) return null;
        Ack = new Acknowledgement(author, comment, sticky, now);
        return [Acknowledged(Ack, now)];
    }

    /// <summary>The ACKNOWLEDGEMENT event of <paramref name="ack"/> (also when a cluster node announces one another node took).</summary>
    public CheckEvent Acknowledged(Acknowledgement ack, DateTimeOffset now) =>
        Event(CheckEventKind.Acknowledgement, now, $"acknowledged by {ack.Author}{(ack.Sticky ? " (sticky)" : "")}: {ack.Comment}");

    public List<CheckEvent> RemoveAcknowledgement(DateTimeOffset now)
    {
        if (Ack is not { } ack) return [];
        Ack = null;
        return [Event(CheckEventKind.AcknowledgementCleared, now, $"acknowledgement by {ack.Author} removed")];
    }

    /// <returns>Whether the notification went out.</returns>
    private bool Notify(NotificationType type, DateTimeOffset now, List<CheckEvent> events, bool hostProblem, bool reportSuppressed = true)
    {
        string? suppressedBy =
            InDowntime ? "downtime"
            : IsFlapping ? "flapping"
            : type == NotificationType.Problem && Ack != null ? "acknowledged"
            : type == NotificationType.Problem && hostProblem ? "host not up"
            : null;
        if (suppressedBy == null && type == NotificationType.Problem && NotificationNumber > 0)
        {
            if (Policy.NotificationInterval <= TimeSpan.Zero) return false;              // notify once
            if (LastNotification is { } last && now < last + Policy.NotificationInterval) return false;
        }
        if (suppressedBy != null)
        {
            if (reportSuppressed)
                events.Add(new CheckEvent(CheckEventKind.Notification, now, State, StateType, Attempt, $"{type} notification suppressed ({suppressedBy})", type, suppressedBy));
            return false;
        }
        NotificationNumber++;
        LastNotification = now;
        if (type == NotificationType.Problem) ProblemNotified = true;
        events.Add(new CheckEvent(CheckEventKind.Notification, now, State, StateType, Attempt, $"{type} notification #{NotificationNumber}", type));
        return true;
    }

    /// <returns>Whether flapping stopped.</returns>
    private bool UpdateFlapping(DateTimeOffset now, List<CheckEvent> events)
    {
        // As base/flapping.c: only hard states and soft recoveries enter the history, so the retries of one
        // problem do not count as flapping (a SOFT non-OK result changes neither history nor flap state).
        if (StateType == StateType.Soft && State != CheckState.Ok) return false;
        _history[_historyIndex] = State;
        _historyIndex = (_historyIndex + 1) % MaxStateHistory;
        PercentStateChange = PercentChange(_history, _historyIndex);
        if (!Policy.FlapDetection) { if (IsFlapping) { IsFlapping = false; events.Add(Event(CheckEventKind.FlappingStop, now, "flap detection disabled")); return true; } return false; }
        var pct = PercentStateChange;
        bool flapping;
        if (pct > Policy.LowFlapThreshold && pct < Policy.HighFlapThreshold) return false; // undecided
        else if (pct <= Policy.LowFlapThreshold) flapping = false;
        else flapping = true;
        if (flapping && !IsFlapping)
        {
            IsFlapping = true;
            events.Add(Event(CheckEventKind.FlappingStart, now, $"state change {pct:0.00}% ≥ threshold {Policy.HighFlapThreshold:0.00}%"));
        }
        else if (!flapping && IsFlapping)
        {
            IsFlapping = false;
            events.Add(Event(CheckEventKind.FlappingStop, now, $"state change {pct:0.00}% ≤ threshold {Policy.LowFlapThreshold:0.00}%"));
            return true;
        }
        return false;
    }

    /// <summary>base/flapping.c: oldest entry at <paramref name="next"/> (the next slot to write); weights 0.75 → 1.25.</summary>
    internal static double PercentChange(CheckState[] history, int next)
    {
        const double low = 0.75, high = 1.25;
        double curved = 0;
        var last = history[next];
        for (int x = 1, y = (next + 1) % MaxStateHistory; x < MaxStateHistory; x++, y = (y + 1) % MaxStateHistory)
        {
            if (history[y] != last) curved += (x - 1) * (high - low) / (MaxStateHistory - 2) + low;
            last = history[y];
        }
        return curved * 100.0 / (MaxStateHistory - 1);
    }

    private CheckEvent Event(CheckEventKind kind, DateTimeOffset now, string text) => new(kind, now, State, StateType, Attempt, text);
}

public sealed record Acknowledgement(string Author, string Comment, bool Sticky, DateTimeOffset Time);

/// <summary>A scheduled downtime. Fixed: in effect from Start to End. Flexible: starts when the service is non-OK inside [Start, End) and lasts Duration.</summary>
internal sealed class Downtime(int id, DateTimeOffset start, DateTimeOffset end, bool isFixed, TimeSpan duration, string author, string comment)
{
    public int Id { get; } = id;
    public DateTimeOffset Start { get; } = start;
    public DateTimeOffset End { get; } = end;
    public bool Fixed { get; } = isFixed;
    public TimeSpan Duration { get; } = duration;
    public string Author { get; } = author;
    public string Comment { get; } = comment;
    public bool InEffect { get; internal set; }
    public DateTimeOffset? StartedAt { get; internal set; }
    public DateTimeOffset EffectiveEnd => Fixed ? End : (StartedAt ?? Start) + Duration;
}
