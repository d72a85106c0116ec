using Observe.Alerting;
using Observe.Checks;
using Observe.Host.Config;

namespace Observe.Host.WebConsole;

/// <summary>
/// The public status page's history: 90 days of uptime bars per component (from Checks' stored availability timeline)
/// and incidents (from Alerting's firing/resolved history of the component's checks). Only component names, days,
/// times and statuses leave here — no hosts, check names or alert text. Computed at most once a minute: the page is
/// public, so visitors must not be able to make Observe read 90 days of timeline per request.
/// </summary>
internal sealed class StatusHistory(StatusPageOptions options, ICheckAvailability? availability, IAlertTimeline? alerts)
{
    public const int Days = 90;
    /// <summary>Incidents shown (newest first) and alert transitions read to find them.</summary>
    public const int MaxIncidents = 20, MaxTransitions = 5000;
    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);
    private readonly Lock _gate = new();
    private (DateTimeOffset At, Snapshot Value)? _cached;

    public sealed record Day(DateOnly Date, string Status, double? UptimePercent);
    public sealed record ComponentHistory(string Name, double? UptimePercent, IReadOnlyList<Day> Days);
    public sealed record Incident(string Component, DateTimeOffset StartedAt, DateTimeOffset? ResolvedAt);
    public sealed record Snapshot(IReadOnlyList<ComponentHistory>? Uptime, IReadOnlyList<Incident>? Incidents);

    public Snapshot Get(DateTimeOffset now)
    {
        lock (_gate)
        {
            if (_cached is { } c && now - c.At < CacheFor && now >= c.At) return c.Value;
            var value = new Snapshot(Uptime(now), Incidents(now));
            _cached = (now, value);
            return value;
        }
    }

    private List<ComponentHistory>? Uptime(DateTimeOffset now)
    {
        if (availability == null) return null;
        var result = new List<ComponentHistory>();
        foreach (var comp in options.Components)
        {
            if (availability.Daily(comp.Checks, Days, now) is not { } days) return null;
            double outage = days.Sum(d => d.OutageSeconds), monitored = days.Sum(d => d.MonitoredSeconds);
            result.Add(new ComponentHistory(comp.Name, Percent(outage, monitored), days.Select(d => new Day(d.Day, DayStatus(d), Percent(d.OutageSeconds, d.MonitoredSeconds))).ToList()));
        }
        return result;
    }

    private static double? Percent(double outage, double monitored) => monitored > 0 ? Math.Round(100 * (1 - outage / monitored), 3) : null;

    /// <summary>The worst that happened that day, as the current status names it; a day Observe saw nothing of is <c>nodata</c>.</summary>
    internal static string DayStatus(DailyAvailability d) =>
        d.OutageSeconds > 0 ? StatusPage.Outage : d.DegradedSeconds > 0 ? StatusPage.Degraded : d.MaintenanceSeconds > 0 ? StatusPage.Maintenance
            : d.MonitoredSeconds > 0 ? StatusPage.Operational : "nodata";

    /// <summary>A component's incident lasts from the first of its checks' alerts firing until the last of them resolves.</summary>
    private List<Incident>? Incidents(DateTimeOffset now)
    {
        if (alerts == null) return null;
        var transitions = alerts.Transitions("check/", MaxTransitions);
        var incidents = new List<Incident>();
        foreach (var comp in options.Components)
        {
            var keys = comp.Checks.Select(c => "check/" + c).ToHashSet(StringComparer.Ordinal);
            var firing = new HashSet<string>(StringComparer.Ordinal);
            DateTimeOffset? start = null;
            foreach (var t in transitions)
            {
                if (!keys.Contains(t.Key)) continue;
                if (t.Firing) { firing.Add(t.Key); start ??= t.Time; }
                else if (firing.Remove(t.Key) && firing.Count == 0 && start is { } s) { incidents.Add(new Incident(comp.Name, s, t.Time)); start = null; }
            }
            if (start is { } open) incidents.Add(new Incident(comp.Name, open, null));
        }
        var since = now - TimeSpan.FromDays(Days);
        return incidents.Where(i => (i.ResolvedAt ?? now) >= since).OrderByDescending(i => i.StartedAt).Take(MaxIncidents).ToList();
    }
}
