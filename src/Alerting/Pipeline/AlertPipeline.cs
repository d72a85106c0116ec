using Microsoft.Extensions.Logging;
using Observe.Durability;

namespace Observe.Alerting.Pipeline;

/// <summary>Where the pipeline hands finished notifications (the notify stage queues them per integration).</summary>
internal interface INotificationQueue
{
    void Enqueue(Notification notification);
}

internal sealed record ActiveAlert(AlertSnapshot Alert, string? SilencedBy, string? InhibitedBy, Acknowledgement? Acknowledgement, IReadOnlyList<string> Receivers);

/// <summary>
/// The alert pipeline behind <see cref="IAlertSink"/>: dedup → silence → inhibit → group → route → notify → record.
/// Routing happens on arrival (it decides the groups); silences and inhibitions are applied when a group flushes, so a
/// silence added later stops repeats and one that ends lets the alert through at the next flush. Announcements skip
/// dedup, silences, inhibition and grouping: each is routed and delivered once, at once. Time comes from the
/// <see cref="TimeProvider"/>; <see cref="Tick"/> runs the timers (the host calls it every 250 ms, tests after moving a fake clock).
/// </summary>
internal sealed partial class AlertPipeline : IAlertSink
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Alert> _alerts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AggregationGroup> _groups = new(StringComparer.Ordinal);
    private readonly RouteTree _routes;
    private readonly Inhibitor _inhibitor;
    private readonly INotificationQueue _out;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    public SilenceStore Silences { get; } = new();
    public AlertHistory History { get; }
    public PipelineCounters Counters { get; } = new();

    private readonly string? _silenceFile;

    /// <param name="silenceFile">Where silences are kept across restarts (JSON, rewritten atomically on each change); null = memory only.</param>
    /// <param name="store">Where alerts, the notification log, escalation progress and history are kept across restarts; null = memory only.</param>
    public AlertPipeline(AlertingOptions options, INotificationQueue output, TimeProvider time, ILogger log, AlertHistory? history = null, string? silenceFile = null,
        Persistence.IAlertStateStore? store = null)
    {
        _silenceFile = silenceFile;
        _store = store;
        _routes = new RouteTree(options.Route);
        _inhibitor = new Inhibitor(options.InhibitRules);
        History = history ?? new AlertHistory(options.HistoryLimit);
        _out = output; _time = time; _log = log;
        LoadSilences();
        RestoreState();
    }

    public ValueTask SendAsync(AlertEvent alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        if (string.IsNullOrWhiteSpace(alert.Key) || string.IsNullOrWhiteSpace(alert.Source))
        {
            Interlocked.Increment(ref Counters.Rejected);
            throw new ArgumentException("an alert needs a non-empty Key and Source", nameof(alert));
        }
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            Interlocked.Increment(ref Counters.Received);
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in alert.Labels ?? new Dictionary<string, string>()) labels[k] = v ?? "";
            labels.TryAdd("source", alert.Source);
            labels.TryAdd("severity", alert.Severity);
            // Cluster: an alert another node holds comes here first when its producer reports it here (a failed-over check).
            if (alert.Status != AlertStatus.Announcement || labels.GetValueOrDefault("notification_type") == "ACKNOWLEDGEMENT") ClaimLocked(alert.Key, now);
            switch (alert.Status)
            {
                case AlertStatus.Announcement: Announce(alert, labels, now); break;
                case AlertStatus.Firing: Fire(alert, labels, now); break;
                default: Resolve(alert, labels, now); break;
            }
            TickLocked(now);
            Commit();
        }
        return ValueTask.CompletedTask;
    }

    private void Announce(AlertEvent e, Dictionary<string, string> labels, DateTimeOffset now)
    {
        var snap = new AlertSnapshot(e.Key, e.Source, "announcement", e.Severity, e.Summary, e.Details, labels, e.Timestamp, null);
        History.Add(new(now, "announced", e.Key, null, null, e.Summary));
        // A producer's own acknowledgement (Checks' ACKNOWLEDGEMENT, Nagios-style) acknowledges the alert here too, so
        // escalation stops; the announcement itself tells the receivers.
        if (labels.GetValueOrDefault("notification_type") == "ACKNOWLEDGEMENT" && _alerts.TryGetValue(e.Key, out var acked) && acked.IsFiring && acked.Ack == null)
        {
            acked.Ack = new Acknowledgement(e.Source, e.Summary, now);
            _changed = true;
            History.Add(new(now, "acknowledged", e.Key, null, e.Source, e.Summary));
        }
        foreach (var route in _routes.Match(labels))
        {
            if (route.Receiver.Length == 0) continue;
            Emit(new Notification(route.Receiver, $"{route.Id}:announce", new Dictionary<string, string>(), NotificationKind.Announcement, [snap], now));
        }
    }

    private void Fire(AlertEvent e, Dictionary<string, string> labels, DateTimeOffset now)
    {
        // Dedup: a repeat of a firing alert (e.g. a check's re-notification) refreshes it; repeat_interval decides resends.
        _changed = true;
        if (_alerts.TryGetValue(e.Key, out var a) && a.IsFiring)
        {
            a.Labels = labels; a.Severity = e.Severity; a.Summary = e.Summary; a.Details = e.Details; a.UpdatedAt = now; a.GraphTarget = e.GraphTarget;
            Interlocked.Increment(ref Counters.Deduplicated);
            return;
        }
        a = new Alert { Key = e.Key, Source = e.Source, StartsAt = now, Labels = labels, Severity = e.Severity, Summary = e.Summary, Details = e.Details, UpdatedAt = now, GraphTarget = e.GraphTarget };
        _alerts[e.Key] = a;
        History.Add(new(now, "firing", e.Key, null, null, e.Summary));
        foreach (var route in _routes.Match(labels))
        {
            GroupOf(route, labels, now).Alerts[a.Key] = a;
        }
    }

    private void Resolve(AlertEvent e, Dictionary<string, string> labels, DateTimeOffset now)
    {
        if (!_alerts.ContainsKey(e.Key) && labels.GetValueOrDefault("notification_type") == "RECOVERY")
        {
            // A check sends RECOVERY only after its problem was notified — here that went through another node's pipeline
            // (the check failed over in a cluster) or a state this pipeline lost: tell the routed receivers once, at once.
            var snap = new AlertSnapshot(e.Key, e.Source, "resolved", e.Severity, e.Summary, e.Details, labels, e.Timestamp, now, e.GraphTarget);
            History.Add(new(now, "resolved", e.Key, null, null, e.Summary + " (problem notified elsewhere)"));
            foreach (var route in _routes.Match(labels))
                if (route.Receiver.Length > 0)
                    Emit(new Notification(route.Receiver, route.GroupFor(labels).Key, route.GroupFor(labels).Labels, NotificationKind.Resolved, [snap], now,
                        "problem notified before a failover or restart"));
            return;
        }
        if (!_alerts.TryGetValue(e.Key, out var a) || !a.IsFiring)
        {
            Interlocked.Increment(ref Counters.UnknownResolves);
            _log.LogDebug("resolve for {Key}, which is not firing: ignored", e.Key);
            return;
        }
        a.EndsAt = now; a.UpdatedAt = now; a.Summary = e.Summary; a.Details = e.Details ?? a.Details; a.GraphTarget = e.GraphTarget ?? a.GraphTarget;
        _changed = true;
        History.Add(new(now, "resolved", e.Key, null, null, e.Summary));
    }

    /// <summary>Runs the group timers and escalations due at the clock's now.</summary>
    public void Tick()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var adopted = AdoptOrphansLocked(now);
            if (adopted || now - _mirrorsRead >= TimeSpan.FromSeconds(1)) RefreshMirrorsLocked(now);
            SyncSilencesLocked();
            TickLocked(now);
            Commit();
        }
    }

    private void TickLocked(DateTimeOffset now)
    {
        // Cluster: a group about to flush sees the other nodes' alerts as they are now.
        if (_store is Persistence.ISharedAlertStateStore && now - _mirrorsRead >= MirrorsFresh && _groups.Values.Any(g => now >= g.NextFlush && Owns(g.Key)))
            RefreshMirrorsLocked(now);
        foreach (var g in _groups.Values.ToList())
        {
            if (Owns(g.Key))
            {
                if (now >= g.NextFlush) Flush(g, now);
                Escalate(g, now);
            }
            else ReleaseFinished(g);
            if (g.Alerts.Count == 0) { _groups.Remove(g.Key); _changed = true; }
        }
        // An alert leaves the pipeline once resolved and no group holds it any more.
        foreach (var key in _alerts.Values.Where(a => !a.IsFiring && !_groups.Values.Any(g => g.Alerts.ContainsKey(a.Key))).Select(a => a.Key).ToList())
        { _alerts.Remove(key); _changed = true; }
        Silences.Prune(now, TimeSpan.FromDays(7));
    }

    private bool Muted(Alert a, DateTimeOffset now) =>
        Silences.SilencedBy(a.Labels, now) != null || _inhibitor.InhibitedBy(a, _alerts.Values) != null;

    private void Flush(AggregationGroup g, DateTimeOffset now)
    {
        g.NextFlush = now + g.Route.GroupInterval;
        var firing = g.Alerts.Values.Where(a => a.IsFiring && !Muted(a, now)).OrderBy(a => a.Key, StringComparer.Ordinal).ToList();
        var resolved = g.Alerts.Values.Where(a => !a.IsFiring && g.NotifiedFiring.Contains(a.Key)).OrderBy(a => a.Key, StringComparer.Ordinal).ToList();
        var changed = firing.Any(a => !g.NotifiedFiring.Contains(a.Key)) || resolved.Count > 0;
        var repeat = firing.Count > 0 && g.LastNotified is { } last && now - last >= g.Route.RepeatInterval;
        if ((changed || repeat) && g.Route.Receiver.Length > 0)
        {
            var kind = firing.Count > 0 ? NotificationKind.Firing : NotificationKind.Resolved;
            Emit(new Notification(g.Route.Receiver, g.Key, g.Labels, kind, firing.Concat(resolved).Select(a => a.Snapshot()).ToList(), now,
                repeat && !changed ? "repeat" : null));
            g.NotifiedFiring.Clear();
            foreach (var a in firing) g.NotifiedFiring.Add(a.Key);
            g.LastNotified = now;
            g.AckNotified = false;
        }
        // Escalation receivers that were paged about an alert hear its resolve as well.
        foreach (var byReceiver in resolved.Where(a => g.EscalatedTo.ContainsKey(a.Key)).SelectMany(a => g.EscalatedTo[a.Key].Select(r => (r, a))).GroupBy(x => x.r))
            Emit(new Notification(byReceiver.Key, g.Key + ":escalation", g.Labels, NotificationKind.Resolved, byReceiver.Select(x => x.a.Snapshot()).ToList(), now));
        // Resolved alerts leave the group after this flush, told or not (one that resolved inside group_wait is never sent).
        foreach (var a in g.Alerts.Values.Where(a => !a.IsFiring).ToList())
        {
            _changed = true;
            if (IsMirror(a)) g.Done[a.Key] = a.EndsAt!.Value; // its node lets it go when it reads this
            g.Alerts.Remove(a.Key); g.NotifiedFiring.Remove(a.Key); g.EscalatedTo.Remove(a.Key); g.EscalationSteps.Remove(a.Key);
        }
    }

    /// <summary>Escalation: firing, notified, unacknowledged and unmuted alerts older than a step's <c>after</c> go to that step's receiver, once per step.</summary>
    private void Escalate(AggregationGroup g, DateTimeOffset now)
    {
        var steps = g.Route.Escalation;
        if (steps.Count == 0) return;
        for (var i = 0; i < steps.Count; i++)
        {
            var due = g.Alerts.Values.Where(a => a.IsFiring && a.Ack == null && g.NotifiedFiring.Contains(a.Key)
                    && now - a.StartsAt >= steps[i].After && g.EscalationSteps.GetValueOrDefault(a.Key) <= i && !Muted(a, now))
                .OrderBy(a => a.Key, StringComparer.Ordinal).ToList();
            if (due.Count == 0) continue;
            _changed = true;
            foreach (var a in due)
            {
                g.EscalationSteps[a.Key] = i + 1;
                if (!g.EscalatedTo.TryGetValue(a.Key, out var set)) g.EscalatedTo[a.Key] = set = new(StringComparer.Ordinal);
                set.Add(steps[i].Receiver);
                History.Add(new(now, "escalated", a.Key, steps[i].Receiver, null, $"not acknowledged within {steps[i].After}"));
            }
            Emit(new Notification(steps[i].Receiver, g.Key + ":escalation", g.Labels, NotificationKind.Firing, due.Select(a => a.Snapshot()).ToList(), now,
                $"escalated: not acknowledged within {steps[i].After}"));
        }
    }

    private void Emit(Notification n)
    {
        Interlocked.Increment(ref Counters.Notifications);
        History.Add(new(n.Time, "notify", n.Alerts.Count == 1 ? n.Alerts[0].Key : null, n.Receiver, null,
            $"{n.Kind.ToString().ToLowerInvariant()} ({n.Alerts.Count} alert{(n.Alerts.Count == 1 ? "" : "s")}){(n.Note != null ? ": " + n.Note : "")}"));
        _log.LogInformation("notify {Receiver}: {Kind} {Group} ({Count} alerts)", n.Receiver, n.Kind, n.GroupKey, n.Alerts.Count);
        // Handed to delivery by Commit, once the state that records it is stored.
        _changed = true;
        _pending.Add(n);
    }

    /// <summary>Acknowledges a firing alert: escalation stops; once every firing alert of a group is acknowledged its receiver is told.</summary>
    public AckResult Acknowledge(string key, string who, string comment)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            // Cluster: an ack taken on a node that does not hold the alert takes the alert here (escalation stops everywhere).
            ClaimLocked(key, now);
            if (!_alerts.TryGetValue(key, out var a)) return AckResult.NotFound;
            if (!a.IsFiring) return AckResult.NotFiring;
            a.Ack = new Acknowledgement(who, comment, now);
            _changed = true;
            History.Add(new(now, "acknowledged", key, null, who, comment));
            foreach (var g in _groups.Values.Where(g => g.Alerts.ContainsKey(key) && g.NotifiedFiring.Count > 0 && !g.AckNotified && Owns(g.Key)))
            {
                var firing = g.Alerts.Values.Where(x => x.IsFiring).ToList();
                if (firing.Any(x => x.Ack == null)) continue;
                g.AckNotified = true;
                Emit(new Notification(g.Route.Receiver, g.Key, g.Labels, NotificationKind.Acknowledged, firing.Select(x => x.Snapshot()).ToList(), now,
                    $"acknowledged by {who}: {comment}"));
            }
            Commit();
            return AckResult.Acknowledged;
        }
    }

    public IReadOnlyList<ActiveAlert> Active()
    {
        lock (_gate)
        {
            SyncSilencesLocked();
            var now = _time.GetUtcNow();
            return _alerts.Values.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => new ActiveAlert(a.Snapshot(),
                Silences.SilencedBy(a.Labels, now)?.Id, _inhibitor.InhibitedBy(a, _alerts.Values), a.Ack,
                _groups.Values.Where(g => g.Alerts.ContainsKey(a.Key)).Select(g => g.Route.Receiver).Distinct().ToList())).ToList();
        }
    }
}

/// <summary>A silence change that could not be written to the silences file; it was not made (HTTP 503).</summary>
internal sealed class SilenceNotSavedException(string message, Exception inner) : IOException(message, inner);

internal enum AckResult { Acknowledged, NotFound, NotFiring }

internal sealed class PipelineCounters
{
    public long Received, Rejected, Deduplicated, UnknownResolves, Notifications;
    /// <summary>Writes of the alert state that failed (the pipeline goes on in memory and notifies anyway).</summary>
    public long StoreFailures;
}
