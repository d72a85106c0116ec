using Observe.Alerting;

namespace Observe.Checks.State;

/// <summary>
/// Which check events reach Alerting: sent problem/recovery notifications (Firing/Resolved) and, as
/// announcements, flapping start/stop, downtime start/end/cancel and acknowledgements — the Nagios
/// notification types PROBLEM, RECOVERY, FLAPPINGSTART/STOP, DOWNTIMESTART/END/CANCELLED, ACKNOWLEDGEMENT.
/// Soft alerts and notifications suppressed by a Nagios filter (downtime, flapping, ack, host down) are not sent.
/// </summary>
internal static class AlertMapping
{
    public const string Source = "checks";

    public static string Key(string host, string check) => $"check/{host}/{check}";

    public static AlertEvent? ToAlert(CheckEvent e, string host, string check, string output, IReadOnlyDictionary<string, string>? extraLabels,
        string? graphTarget = null)
    {
        (AlertStatus status, string type)? m = e.Kind switch
        {
            CheckEventKind.Notification when e.SuppressedBy == null && e.Notification == NotificationType.Problem => (AlertStatus.Firing, "PROBLEM"),
            CheckEventKind.Notification when e.SuppressedBy == null && e.Notification == NotificationType.Recovery => (AlertStatus.Resolved, "RECOVERY"),
            CheckEventKind.FlappingStart => (AlertStatus.Announcement, "FLAPPINGSTART"),
            CheckEventKind.FlappingStop => (AlertStatus.Announcement, "FLAPPINGSTOP"),
            CheckEventKind.DowntimeStart => (AlertStatus.Announcement, "DOWNTIMESTART"),
            CheckEventKind.DowntimeEnd => (AlertStatus.Announcement, "DOWNTIMEEND"),
            CheckEventKind.DowntimeCancelled => (AlertStatus.Announcement, "DOWNTIMECANCELLED"),
            CheckEventKind.Acknowledgement => (AlertStatus.Announcement, "ACKNOWLEDGEMENT"),
            _ => null,
        };
        if (m is not { } x) return null;
        var severity = x.status != AlertStatus.Firing ? "info" : e.State == CheckState.Critical ? "critical" : "warning";
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (extraLabels != null) foreach (var (k, v) in extraLabels) labels[k] = v;
        labels["host"] = host;
        labels["check"] = check;
        labels["state"] = e.State.Upper();
        labels["state_type"] = e.StateType == StateType.Hard ? "HARD" : "SOFT";
        labels["notification_type"] = x.type;
        var summary = x.status == AlertStatus.Announcement
            ? $"{x.type} {host}/{check}: {e.Text}"
            : $"{x.type} {host}/{check} is {e.State.Upper()}: {Clean(output)}";
        return new AlertEvent(Source, Key(host, check), x.status, severity, summary, x.status == AlertStatus.Announcement ? null : e.Text, labels, e.Time,
            x.status == AlertStatus.Announcement ? null : graphTarget);
    }

    /// <summary>Plugin text reaches IRC/SMTP: no control characters.</summary>
    private static string Clean(string s)
    {
        var chars = s.Select(c => char.IsControl(c) ? ' ' : c).ToArray();
        var t = new string(chars);
        return t.Length > 400 ? t[..400] : t;
    }
}
