namespace Observe.Alerting;

/// <summary>What an alert event says about its subject.</summary>
public enum AlertStatus
{
    /// <summary>A problem started or is still going on (firing).</summary>
    Firing,
    /// <summary>The problem is over.</summary>
    Resolved,
    /// <summary>Not a problem: something to tell people (a deploy started, a rollback happened).</summary>
    Announcement,
}

/// <summary>
/// One event for the alert pipeline (dedup → silence → inhibit → group → route → notify). Producers
/// (Checks, DeployMarkers) describe what happened; Alerting decides who hears about it and when.
/// </summary>
/// <param name="Key">Stable identity of the subject (e.g. <c>check/web1/http</c>): dedup and resolve match on it.</param>
/// <param name="Severity">critical, warning, info.</param>
/// <param name="Labels">Routing labels (host, check, service, env, team …).</param>
/// <param name="GraphTarget">A Graphite target whose recent graph e-mails carry (a metric check's target); null = none.</param>
public sealed record AlertEvent(
    string Source, string Key, AlertStatus Status, string Severity, string Summary, string? Details,
    IReadOnlyDictionary<string, string> Labels, DateTimeOffset Timestamp, string? GraphTarget = null);

/// <summary>Alerting's input seam: Checks and DeployMarkers send here; it never blocks the sender for long.</summary>
public interface IAlertSink
{
    ValueTask SendAsync(AlertEvent alert, CancellationToken cancellationToken);
}
