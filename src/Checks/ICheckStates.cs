using Observe.Checks.State;
using Observe.Common;

namespace Observe.Checks;

/// <summary>The current state of one check, as Nagios shows it.</summary>
public sealed record CheckStatus(
    string Host, string Check, string Kind, CheckState State, StateType StateType, int Attempt, int MaxAttempts,
    string Output, string? LongOutput, DateTimeOffset? LastCheck, DateTimeOffset? NextCheck, DateTimeOffset LastStateChange,
    DateTimeOffset? LastHardStateChange, double? LastDurationSeconds, double? LastLatencySeconds, bool IsFlapping, double PercentStateChange,
    Acknowledgement? Acknowledgement, IReadOnlyList<DowntimeStatus> Downtimes, bool InDowntime, int NotificationNumber,
    DateTimeOffset? LastNotification, IReadOnlyDictionary<string, string> Labels);

public sealed record DowntimeStatus(int Id, DateTimeOffset Start, DateTimeOffset End, bool Fixed, double DurationSeconds, string Author, string Comment, bool InEffect, DateTimeOffset? StartedAt);

/// <summary>How much checking has been done since start, and what failed (for the host's self-metrics).</summary>
/// <param name="StateStoreFailures">Check state batches that could not be written, and cluster reads of the shared state that failed.</param>
/// <param name="AvailabilityRefused">Availability requests refused (a time that does not parse, a window or timeline over its bound).</param>
public sealed record CheckRunStats(long Runs, long StateStoreFailures = 0, long AvailabilityRefused = 0);

/// <summary>Current check states (for DeployMarkers' verifier and the API).</summary>
public interface ICheckStates
{
    IReadOnlyList<CheckStatus> Current();
    CheckStatus? Get(string host, string check);
}

/// <summary>Takes DogStatsD service checks (<c>_sc</c>) for passive checks; never blocks the caller.</summary>
public interface IServiceCheckReceiver
{
    /// <summary>Queues the result for the passive check whose <c>serviceCheck</c> matches; false when none matches (or the queue is full).</summary>
    bool OnServiceCheck(Observe.Collector.StatsdServiceCheck serviceCheck);
}

/// <summary>Reloads the <c>checks:</c> section (SIGHUP, <c>POST /api/reload</c>) keeping the state of every check that keeps its host and name.</summary>
public interface IChecksReloader
{
    /// <summary>Returns the problems and changes nothing when the new section does not validate.</summary>
    Task<IReadOnlyList<ConfigProblem>> ReloadAsync(ChecksOptions options, CancellationToken cancellationToken);
}

/// <summary>One UTC day of a set of checks as a status page draws it: for each kind, the longest any of the checks spent in it.</summary>
public sealed record DailyAvailability(DateOnly Day, double OutageSeconds, double DegradedSeconds, double MaintenanceSeconds, double MonitoredSeconds);

/// <summary>Availability per day from the stored timeline (the data behind <c>GET /api/checks/…/availability</c>).</summary>
public interface ICheckAvailability
{
    /// <summary>
    /// The last <paramref name="days"/> UTC days up to <paramref name="now"/>'s, oldest first, of the checks named
    /// <c>host/check</c> (unknown ones left out): outage = HARD CRITICAL/UNKNOWN, degraded = HARD WARNING,
    /// maintenance = in downtime, monitored = Observe running and the check had a result. Null when the timeline is
    /// not stored (<c>checks.state.persist: false</c>).
    /// </summary>
    IReadOnlyList<DailyAvailability>? Daily(IReadOnlyCollection<string> checks, int days, DateTimeOffset now);
}
