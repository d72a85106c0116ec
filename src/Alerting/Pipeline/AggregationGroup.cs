namespace Observe.Alerting.Pipeline;

/// <summary>Group stage: the alerts of one route with the same group-by label values, and the group's timers
/// (Alertmanager: first flush after group_wait, then a flush every group_interval, resend after repeat_interval).</summary>
internal sealed class AggregationGroup(RouteNode route, string key, IReadOnlyDictionary<string, string> labels, DateTimeOffset now)
{
    public RouteNode Route { get; } = route;
    public string Key { get; } = key;
    public IReadOnlyDictionary<string, string> Labels { get; } = labels;
    public Dictionary<string, Alert> Alerts { get; } = new(StringComparer.Ordinal);
    /// <summary>Firing alerts the receiver was last told about (the notification log).</summary>
    public HashSet<string> NotifiedFiring { get; } = new(StringComparer.Ordinal);
    public DateTimeOffset? LastNotified { get; set; }
    public DateTimeOffset NextFlush { get; set; } = now + route.GroupWait;
    /// <summary>Per alert: the escalation receivers it went to (they hear the resolve too).</summary>
    public Dictionary<string, HashSet<string>> EscalatedTo { get; } = new(StringComparer.Ordinal);
    /// <summary>Per alert: escalation steps already done.</summary>
    public Dictionary<string, int> EscalationSteps { get; } = new(StringComparer.Ordinal);
    public bool AckNotified { get; set; }
    /// <summary>Cluster: other nodes' resolved alerts (key → end) this group's owner has flushed; their nodes let them go.</summary>
    public Dictionary<string, DateTimeOffset> Done { get; } = new(StringComparer.Ordinal);
}
