namespace Observe.Alerting.Pipeline;

internal sealed record Acknowledgement(string Author, string Comment, DateTimeOffset Time);

/// <summary>An alert the pipeline knows: firing, or resolved and not yet notified as such.</summary>
internal sealed class Alert
{
    public required string Key { get; init; }
    public required string Source { get; init; }
    public required DateTimeOffset StartsAt { get; init; }
    public Dictionary<string, string> Labels { get; set; } = new(StringComparer.Ordinal);
    public string Severity { get; set; } = "critical";
    public string Summary { get; set; } = "";
    public string? Details { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? EndsAt { get; set; }
    public Acknowledgement? Ack { get; set; }
    /// <summary>See <see cref="AlertEvent.GraphTarget"/>; not persisted (after a restart the next event brings it back).</summary>
    public string? GraphTarget { get; set; }
    public bool IsFiring => EndsAt == null;

    public AlertSnapshot Snapshot() => new(Key, Source, IsFiring ? "firing" : "resolved", Severity, Summary, Details,
        new Dictionary<string, string>(Labels, StringComparer.Ordinal), StartsAt, EndsAt, GraphTarget);
}

/// <summary>One alert as a notification and the API show it.</summary>
internal sealed record AlertSnapshot(string Key, string Source, string Status, string Severity, string Summary, string? Details,
    IReadOnlyDictionary<string, string> Labels, DateTimeOffset StartsAt, DateTimeOffset? EndsAt, string? GraphTarget = null);

internal enum NotificationKind { Firing, Resolved, Announcement, Acknowledged }

/// <summary>What one receiver is told at once: a whole group (or one announcement).</summary>
internal sealed record Notification(
    string Receiver, string GroupKey, IReadOnlyDictionary<string, string> GroupLabels, NotificationKind Kind,
    IReadOnlyList<AlertSnapshot> Alerts, DateTimeOffset Time, string? Note = null)
{
    public IEnumerable<AlertSnapshot> Firing => Alerts.Where(a => a.Status == "firing");
    public IEnumerable<AlertSnapshot> Resolved => Alerts.Where(a => a.Status == "resolved");

    /// <summary>Labels every alert of the notification has with the same value.</summary>
    public IReadOnlyDictionary<string, string> CommonLabels()
    {
        var common = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (Alerts.Count == 0) return common;
        foreach (var (k, v) in Alerts[0].Labels)
            if (Alerts.All(a => a.Labels.TryGetValue(k, out var x) && x == v)) common[k] = v;
        return common;
    }
}
