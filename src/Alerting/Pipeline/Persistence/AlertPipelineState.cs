using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Observe.Alerting.Pipeline.Persistence;

namespace Observe.Alerting.Pipeline;

/// <summary>
/// Persistence of the pipeline (Alertmanager's notification log and more): after every operation that changed an
/// alert, a group's notification log or escalation progress, the whole state is written in one transaction together
/// with the new history lines — before the notifications of that operation are handed to delivery. So a restart
/// never re-sends what a receiver was told (at most a notification in flight at the crash is lost, never repeated).
/// </summary>
internal sealed partial class AlertPipeline
{
    private readonly IAlertStateStore? _store;
    private readonly ConcurrentQueue<HistoryEntry> _unsavedHistory = new();
    private readonly List<Notification> _pending = [];
    private bool _changed;

    private void RestoreState()
    {
        if (_store == null) return;
        var (state, history) = _store.Load();
        History.Restore(history);
        History.Recorded = _unsavedHistory.Enqueue;
        if (state == null) return;
        Merge(state, _time.GetUtcNow());
        _log.LogInformation("alerting: restored {Alerts} alerts in {Groups} groups and {History} history lines", _alerts.Count, _groups.Count, history.Count);
    }

    /// <summary>
    /// Puts stored alerts into the pipeline (at start, or alerts taken over from another node): groups are rebuilt by routing
    /// as on arrival (the route tree may have changed), then get their stored log back — merged into a group this node
    /// already has (what was told, escalation steps), taken whole by a group made for them. In a cluster a group this node
    /// now owns may have no alert of its own: its log waits for the other nodes' alerts (<see cref="RefreshMirrorsLocked"/>).
    /// </summary>
    private void Merge(PipelineState state, DateTimeOffset now)
    {
        var existing = new List<StoredGroup>();
        foreach (var s in state.Groups)
            if (_groups.ContainsKey(s.Key)) existing.Add(s);
            else _groupLogs[s.Key] = _groupLogs.TryGetValue(s.Key, out var w) ? PipelineMerge.Groups(w, s) : s;
        foreach (var s in state.Alerts)
        {
            if (_alerts.ContainsKey(s.Key)) continue; // this node's own copy is newer
            _changed = true;
            var a = ToAlert(s);
            _alerts[a.Key] = a;
            // Routed as on arrival; a group made here takes its stored log whole (GroupOf).
            foreach (var route in _routes.Match(a.Labels)) GroupOf(route, a.Labels, now).Alerts[a.Key] = a;
        }
        foreach (var s in existing) ApplyLog(_groups[s.Key], s, whole: false);
        if (_store is ISharedAlertStateStore shared)
            foreach (var k in _groupLogs.Keys.Where(k => _groups.ContainsKey(k) || shared.OwnerOf(k) != shared.Node).ToList()) _groupLogs.Remove(k);
        else _groupLogs.Clear();
    }

    private static Alert ToAlert(StoredAlert s) => new()
    {
        Key = s.Key, Source = s.Source, StartsAt = s.StartsAt, Labels = new(s.Labels, StringComparer.Ordinal), Severity = s.Severity,
        Summary = s.Summary, Details = s.Details, UpdatedAt = s.UpdatedAt, EndsAt = s.EndsAt, Ack = s.Ack,
    };

    private static void ApplyLog(AggregationGroup g, StoredGroup s, bool whole)
    {
        foreach (var k in s.NotifiedFiring) g.NotifiedFiring.Add(k);
        if (whole) { g.LastNotified = s.LastNotified; g.NextFlush = s.NextFlush; g.AckNotified = s.AckNotified; }
        else { g.LastNotified = PipelineMerge.Max(g.LastNotified, s.LastNotified); g.AckNotified &= s.AckNotified; }
        foreach (var (k, r) in s.EscalatedTo) g.EscalatedTo[k] = new HashSet<string>(r, StringComparer.Ordinal);
        foreach (var (k, n) in s.EscalationSteps) g.EscalationSteps[k] = n;
        foreach (var (k, e) in s.Done ?? []) g.Done[k] = e;
    }

    /// <summary>Group logs taken (claimed, adopted, restored) whose group this node has not made yet.</summary>
    private readonly Dictionary<string, StoredGroup> _groupLogs = new(StringComparer.Ordinal);

    /// <summary>The group of <paramref name="route"/> for these labels, made when missing (with a stored log waiting for it).</summary>
    private AggregationGroup GroupOf(RouteNode route, IReadOnlyDictionary<string, string> labels, DateTimeOffset now)
    {
        var (key, groupLabels) = route.GroupFor(labels);
        if (_groups.TryGetValue(key, out var g)) return g;
        _groups[key] = g = new AggregationGroup(route, key, groupLabels, now);
        if (_groupLogs.Remove(key, out var log)) ApplyLog(g, log, whole: true);
        return g;
    }

    /// <summary>Cluster: takes the alert <paramref name="key"/> from the node that holds it before this node acts on it (the
    /// alert follows its producer, e.g. a check that failed over here), so what its receivers were told carries over.</summary>
    private void ClaimLocked(string key, DateTimeOffset now)
    {
        if (_store is not ISharedAlertStateStore shared || _alerts.ContainsKey(key)) return;
        try
        {
            if (shared.Claim(key) is not { } taken) return;
            Merge(taken, now);
            _log.LogInformation("alerting: took over alert {Key} from another node (its notification log and escalation progress)", key);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Interlocked.Increment(ref Counters.StoreFailures);
            if (StoreErrors.TryLog(out _)) _log.LogError("alerting: could not take over alert {Key} from the shared state: {Error}", key, e.Message);
        }
    }

    private DateTimeOffset _lastAdopt;
    private Observe.Common.LogRateLimit? _storeErrorLimit;
    private Observe.Common.LogRateLimit StoreErrors => _storeErrorLimit ??= new(3, TimeSpan.FromMinutes(1), _time);

    /// <summary>Cluster, once a second: tells the others this node is alive and takes over the alerts and groups of nodes
    /// that are not. True when it took any.</summary>
    private bool AdoptOrphansLocked(DateTimeOffset now)
    {
        if (_store is not ISharedAlertStateStore shared || now - _lastAdopt < TimeSpan.FromSeconds(1)) return false;
        _lastAdopt = now;
        try
        {
            if (shared.AdoptOrphans() is not { } taken) return false;
            Merge(taken, now);
            _log.LogWarning("alerting: took over {Count} alerts and {Groups} groups of a node that stopped ({Keys}); their escalations go on here",
                taken.Alerts.Count, taken.Groups.Count, string.Join(", ", taken.Alerts.Select(a => a.Key).Take(20)));
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Interlocked.Increment(ref Counters.StoreFailures);
            if (StoreErrors.TryLog(out _)) _log.LogError("alerting: could not reach the shared alert state: {Error}", e.Message);
            return false;
        }
    }

    /// <summary>An alert another node took (it runs the check now, or thought this node dead): that node alone decides its state.
    /// A group this node still owns keeps it (as another node's alert, read back from that node's row) with its log.</summary>
    private void Drop(string key)
    {
        _alerts.Remove(key);
        foreach (var g in _groups.Values)
        {
            if (Owns(g.Key)) continue;
            g.Alerts.Remove(key); g.NotifiedFiring.Remove(key); g.EscalatedTo.Remove(key); g.EscalationSteps.Remove(key);
        }
        foreach (var k in _groups.Where(kv => kv.Value.Alerts.Count == 0).Select(kv => kv.Key).ToList()) _groups.Remove(k);
        _pending.RemoveAll(n => n.Alerts.Count == 1 && n.Alerts[0].Key == key && n.Kind != NotificationKind.Announcement && !Owns(GroupOfNotification(n)));
        _log.LogWarning("alerting: alert {Key} is owned by another node now; this node no longer notifies about it", key);
    }

    private PipelineState Export() => new(
        _alerts.Values.Select(a => new StoredAlert(a.Key, a.Source, a.StartsAt, new(a.Labels), a.Severity, a.Summary, a.Details, a.UpdatedAt, a.EndsAt, a.Ack)).ToList(),
        _groups.Values.Select(g => new StoredGroup(g.Key, g.NotifiedFiring.ToList(), g.LastNotified, g.NextFlush,
            g.EscalatedTo.ToDictionary(kv => kv.Key, kv => kv.Value.ToList()), new(g.EscalationSteps), g.AckNotified, g.Alerts.Keys.ToList(),
            g.Done.Count > 0 ? new(g.Done) : null)).ToList());

    /// <summary>Stores anything not yet stored (history lines from delivery) and closes the store: at shutdown.</summary>
    public void CloseStore()
    {
        lock (_gate)
        {
            Commit();
            History.Recorded = null;
            _store?.Dispose();
        }
    }

    /// <summary>Under the lock, at the end of each operation: store what changed, then release its notifications.</summary>
    private void Commit()
    {
        if (_store != null && (_changed || !_unsavedHistory.IsEmpty))
        {
            var history = new List<HistoryEntry>();
            while (_unsavedHistory.TryDequeue(out var h)) history.Add(h);
            try
            {
                var owned = _store is ISharedAlertStateStore ? _groups.Keys.Where(Owns).ToList() : [];
                var lost = _store.Write(_changed ? Export() : null, history);
                _changed = false;
                foreach (var key in lost) Drop(key);
                if (lost.Count > 0) _changed = true;
                DropLostGroups(owned);
            }
            catch (Exception e)
            {
                // Deliver anyway: a page that goes out twice after a later restart beats one that never goes out.
                Interlocked.Increment(ref Counters.StoreFailures);
                // A shared store that is away fails every operation: a few lines a minute say so.
                if (StoreErrors.TryLog(out var left))
                    _log.LogError(e, "alerting: could not store the alert state ({Error}); notifying anyway, will retry with the next change{Left}",
                        e.Message, left > 0 ? $" ({left} more failures not logged)" : "");
                foreach (var h in history) _unsavedHistory.Enqueue(h);
            }
        }
        else _changed = false;
        foreach (var n in _pending) _out.Enqueue(n);
        _pending.Clear();
    }
}
