using Microsoft.Extensions.Logging;
using Observe.Alerting.Pipeline.Persistence;

namespace Observe.Alerting.Pipeline;

/// <summary>
/// Cluster: one owner per group. Each node holds the alerts its producers report to it (their rows in the shared state);
/// a group — which may gather alerts of several nodes when <c>groupBy</c> is coarser than host+check — is flushed,
/// escalated and acknowledged only by the node owning its row, with the other nodes' alerts of the group read from their
/// rows (mirrors). So the cluster tells a group once, with every node's alerts, on one repeat interval. The first node to
/// write a group owns it; the group follows an alert claimed by another node and is adopted with a silent node's alerts
/// (the same rules as the alerts). A node that does not own a group keeps its alerts in it without notifying, and lets a
/// resolved one go once the owner's log lists it as done.
/// </summary>
internal sealed partial class AlertPipeline
{
    /// <summary>At most this stale, the other nodes' alerts of a group that is about to flush.</summary>
    private static readonly TimeSpan MirrorsFresh = TimeSpan.FromMilliseconds(250);
    private DateTimeOffset _mirrorsRead;

    /// <summary>Whether this node notifies group <paramref name="groupKey"/> (always on a single node; in a cluster when its row is
    /// this node's, or not written yet — the first write decides — and when this node has been cut off from PostgreSQL
    /// for longer than the node timeout: its alerts may be known to nobody else, so it tells them; at worst twice, never none).</summary>
    private bool Owns(string groupKey) =>
        _store is not ISharedAlertStateStore shared || shared.CutOff || shared.OwnerOf(groupKey) is not { } node || node == shared.Node;

    /// <summary>Another node's alert shown in a group this node owns.</summary>
    private bool IsMirror(Alert a) =>
        _store is ISharedAlertStateStore && (!_alerts.TryGetValue(a.Key, out var own) || !ReferenceEquals(own, a));

    private static string GroupOfNotification(Notification n) =>
        n.GroupKey.EndsWith(":escalation", StringComparison.Ordinal) ? n.GroupKey[..^":escalation".Length] : n.GroupKey;

    /// <summary>Reads the other nodes' alerts into the groups this node owns (and who owns this node's groups now); an alert
    /// this node holds that another node's row has is dropped here (as at a write that finds it taken).</summary>
    private void RefreshMirrorsLocked(DateTimeOffset now)
    {
        if (_store is not ISharedAlertStateStore shared) return;
        _mirrorsRead = now;
        IReadOnlyList<StoredAlert> foreign;
        try { foreign = shared.ForeignAlerts(); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Interlocked.Increment(ref Counters.StoreFailures);
            if (StoreErrors.TryLog(out _)) _log.LogError("alerting: could not read the other nodes' alerts: {Error}", e.Message);
            return;
        }
        var rows = new Dictionary<string, StoredAlert>(StringComparer.Ordinal);
        var seen = new HashSet<(string Group, string Alert)>();
        foreach (var s in foreign)
        {
            // Held here too: another node took it (it claimed it, or thought this node dead) — this node writes only rows it owns.
            if (_alerts.ContainsKey(s.Key)) { Drop(s.Key); _changed = true; }
            rows[s.Key] = s;
            foreach (var route in _routes.Match(s.Labels))
            {
                var key = route.GroupFor(s.Labels).Key;
                if (shared.OwnerOf(key) != shared.Node) continue;
                var g = GroupOf(route, s.Labels, now);
                seen.Add((key, s.Key));
                if (s.EndsAt is { } end && g.Done.TryGetValue(s.Key, out var done) && done == end) continue; // flushed already
                if (g.Alerts.TryGetValue(s.Key, out var m) && IsMirror(m) && m.StartsAt == s.StartsAt)
                {
                    m.Labels = new(s.Labels, StringComparer.Ordinal); m.Severity = s.Severity; m.Summary = s.Summary; m.Details = s.Details;
                    m.UpdatedAt = s.UpdatedAt; m.EndsAt = s.EndsAt; m.Ack = s.Ack;
                }
                else if (m == null || IsMirror(m))
                {
                    g.Alerts[s.Key] = ToAlert(s);
                    _changed = true;
                }
            }
        }
        foreach (var g in _groups.Values.Where(g => Owns(g.Key)))
        {
            // A mirror whose row is gone: its node let it go (or this node holds it now, as its own object).
            foreach (var gone in g.Alerts.Values.Where(a => IsMirror(a) && !seen.Contains((g.Key, a.Key))).ToList()) { g.Alerts.Remove(gone.Key); _changed = true; }
            // Done entries are kept while their node still holds the resolved alert.
            foreach (var k in g.Done.Keys.Where(k => !(rows.TryGetValue(k, out var r) && r.EndsAt == g.Done[k])).ToList()) { g.Done.Remove(k); _changed = true; }
        }
        _groupLogs.Clear(); // a taken log no alert of any node came for: nothing left to tell
    }

    /// <summary>A group another node owns: this node's resolved alerts the owner has flushed leave it (and mirrors from when
    /// this node owned it).</summary>
    private void ReleaseFinished(AggregationGroup g)
    {
        if (_store is not ISharedAlertStateStore shared) return;
        var done = shared.GroupRow(g.Key)?.Done;
        foreach (var a in g.Alerts.Values.Where(a => IsMirror(a) || a.EndsAt is { } end && done != null && done.TryGetValue(a.Key, out var d) && d == end).ToList())
        {
            g.Alerts.Remove(a.Key);
            _changed = true;
        }
    }

    /// <summary>After a write: groups this node owned before it and another node owns now (it claimed one of their alerts, or
    /// thought this node dead) are that node's to notify; what this node was about to send for them is dropped.</summary>
    private void DropLostGroups(List<string> ownedBefore)
    {
        foreach (var key in ownedBefore.Where(k => !Owns(k)))
        {
            _pending.RemoveAll(n => n.Kind != NotificationKind.Announcement && GroupOfNotification(n) == key);
            _log.LogWarning("alerting: group {Group} is owned by another node now; this node no longer notifies it", key);
        }
    }
}
