using Observe.Common;

namespace Observe.Alerting;

/// <summary>What the alerting stage reports about itself: each receiver integration's delivery counters and the IRC
/// client's queue (null without IRC).</summary>
public sealed record AlertingStats(IReadOnlyList<ReceiverStats> Receivers, int? IrcQueueDepth);

/// <summary>
/// The alerting stage's stats, each once: the host generates their /metrics families, <c>observe.*</c> series and /stats
/// <c>metrics</c> from this list (src/Observe/StatsExport.cs). Failed means given up after every retry (or refused
/// outright); a notification dropped from a full queue is counted as dropped, never as failed.
/// </summary>
public static class AlertingStatList
{
    private static readonly string[] ByIntegration = ["receiver", "integration"];

    public static readonly IReadOnlyList<StatDescriptor<AlertingStats>> Alerting =
    [
        PerIntegration(StatKind.Counter, "observe_alerting_notifications_sent_total", "sent", "Notifications delivered, per receiver and integration", r => r.Sent)
            with { TotalSeries = "notifications.sent" },
        PerIntegration(StatKind.Counter, "observe_alerting_notifications_failed_total", "failed",
            "Notifications given up after every retry (or refused outright), per receiver and integration", r => r.Failed) with { TotalSeries = "notifications.failed" },
        PerIntegration(StatKind.Counter, "observe_alerting_notifications_dropped_total", "dropped",
            "Notifications dropped unsent because the integration's queue was full (alerting.delivery.queueCapacity), per receiver and integration", r => r.Dropped)
            with { TotalSeries = "notifications.dropped" },
        Stat.Labelled<AlertingStats>(StatKind.Counter, "observe_alerting_notification_attempts_failed_total", "notifications.attempts_failed",
            "Delivery attempts that failed (each retry counts), per receiver and integration", ByIntegration, s => Values(s, r => r.AttemptsFailed)),
        Stat.Labelled<AlertingStats>(StatKind.Gauge, "observe_alerting_queue_depth", "notifications.queued",
            "Notifications waiting for delivery, per receiver and integration", ByIntegration, s => Values(s, r => r.Queued)),
        new("observe_alerting_irc_queue_depth", "notifications.irc_queued", StatKind.Gauge, "IRC lines waiting to be sent or confirmed by the server", null,
            s => s.IrcQueueDepth is { } depth ? [new(null, depth)] : []),
    ];

    /// <summary>Written per receiver and integration under <c>notifications.by_receiver.</c>, and as the total.</summary>
    private static StatDescriptor<AlertingStats> PerIntegration(StatKind kind, string family, string what, string help, Func<ReceiverStats, double> read) =>
        Stat.Labelled<AlertingStats>(kind, family, $"notifications.by_receiver.{{receiver}}.{{integration}}.{what}", help, ByIntegration, s => Values(s, read));

    private static IEnumerable<(IReadOnlyList<string>, double)> Values(AlertingStats s, Func<ReceiverStats, double> read) =>
        s.Receivers.Select(r => ((IReadOnlyList<string>)[r.Receiver, r.Integration], read(r)));
}
