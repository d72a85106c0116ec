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
        var now = _time.GetUtcNow();
        foreach (var s in state.Alerts)
        {
            var a = new Alert
            {
                Key = s.Key, Source = s.Source, StartsAt = s.StartsAt, Labels = new(s.Labels, StringComparer.Ordinal), Severity = s.Severity,
                Summary = s.Summary, Details = s.Details, UpdatedAt = s.UpdatedAt, EndsAt = s.EndsAt, Ack = s.Ack,
            };
            _alerts[a.Key] = a;
            // Groups are rebuilt by routing as on arrival (the route tree may have changed), then get their stored log back.
            foreach (var route in _routes.Match(a.Labels))
            {
                var (key, groupLabels) = route.GroupFor(a.Labels);
                if (!_groups.TryGetValue(key, out var g)) _groups[key] = g = new AggregationGroup(route, key, groupLabels, now);
                g.Alerts[a.Key] = a;
            }
        }
        foreach (var s in state.Groups)
        {
            if (!_groups.TryGetValue(s.Key, out var g)) continue;
            foreach (var k in s.NotifiedFiring) g.NotifiedFiring.Add(k);
            g.LastNotified = s.LastNotified; g.NextFlush = s.NextFlush; g.AckNotified = s.AckNotified;
            foreach (var (k, r) in s.EscalatedTo) g.EscalatedTo[k] = new HashSet<string>(r, StringComparer.Ordinal);
            foreach (var (k, n) in s.EscalationSteps) g.EscalationSteps[k] = n;
        }
        _log.LogInformation("alerting: restored {Alerts} alerts in {Groups} groups and {History} history lines", _alerts.Count, _groups.Count, history.Count);
    }

    private PipelineState Export() => new(
        _alerts.Values.Select(a => new StoredAlert(a.Key, a.Source, a.StartsAt, new(a.Labels), a.Severity, a.Summary, a.Details, a.UpdatedAt, a.EndsAt, a.Ack)).ToList(),
        _groups.Values.Select(g => new StoredGroup(g.Key, g.NotifiedFiring.ToList(), g.LastNotified, g.NextFlush,
            g.EscalatedTo.ToDictionary(kv => kv.Key, kv => kv.Value.ToList()), new(g.EscalationSteps), g.AckNotified)).ToList());

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
                _store.Write(_changed ? Export() : null, history);
                _changed = false;
            }
            catch (Exception e)
            {
                // Deliver anyway: a page that goes out twice after a later restart beats one that never goes out.
                Interlocked.Increment(ref Counters.StoreFailures);
                _log.LogError(e, "alerting: could not store the alert state; notifying anyway, will retry with the next change");
                foreach (var h in history) _unsavedHistory.Enqueue(h);
            }
        }
        else _changed = false;
        foreach (var n in _pending) _out.Enqueue(n);
        _pending.Clear();
    }
}
