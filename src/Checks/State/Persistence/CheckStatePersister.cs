using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Observe.Checks.Scheduling;

namespace Observe.Checks.State.Persistence;

/// <summary>
/// Write-behind of check state: the engine marks a check changed (one dictionary write, no I/O on the check's path);
/// a background loop waits <c>writeDelay</c> after the first change to gather a batch, then writes the latest
/// snapshot of every changed check, the new events and timeline steps in one transaction. Operator actions (acks,
/// downtimes) wait for their batch (<see cref="FlushAsync"/>) before they are answered. A heartbeat batch every
/// second records that Observe is alive (time without one is unmonitored in availability reports).
/// </summary>
internal sealed class CheckStatePersister : IAsyncDisposable
{
    internal const int HistoryKept = 100;
    private readonly ICheckStateStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly TimeSpan _delay, _retention;
    private readonly ConcurrentDictionary<string, CheckEntry> _dirty = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string, CheckEvent)> _events = new();
    private readonly ConcurrentQueue<(string, StateSpan)> _spans = new();
    private readonly ConcurrentDictionary<string, StateSpan> _lastSpan;
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private TaskCompletionSource _nextBatch = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _signalled;
    private DateTimeOffset _lastPrune;

    public CheckStatePersister(ICheckStateStore store, TimeSpan writeDelay, TimeSpan retention, TimeProvider time, ILogger log)
    {
        _store = store; _delay = writeDelay; _retention = retention; _time = time; _log = log;
        _lastSpan = new(store.LastSpans(), StringComparer.Ordinal);
        _loop = Task.Run(LoopAsync);
    }

    public ICheckStateStore Store => _store;
    public long Batches => Interlocked.Read(ref _batches);
    public long Failures => Interlocked.Read(ref _failures);
    private long _batches, _failures;

    /// <summary>Puts back every stored check that is still configured; returns how many were restored.</summary>
    public int Restore(IEnumerable<CheckEntry> entries)
    {
        IReadOnlyDictionary<string, string>? writers = null;
        if (_store is ISharedCheckStateStore shared) { _syncFrom = shared.Position(); writers = shared.Writers(); }
        var stored = _store.LoadStates();
        var n = 0;
        foreach (var e in entries)
        {
            if (!stored.TryGetValue(e.Key, out var s)) continue;
            var history = _store.RecentEvents(e.Key, HistoryKept);
            lock (e.Gate)
            {
                Apply(e, s);
                e.Runner = writers?.GetValueOrDefault(e.Key);
                e.History.Clear();
                foreach (var ev in history) e.History.Enqueue(ev);
            }
            n++;
        }
        _log.LogInformation("checks: restored the state of {Restored} of {Stored} stored checks", n, stored.Count);
        return n;
    }

    /// <summary>
    /// Cluster: as soon as another node commits (PostgreSQL NOTIFY; at least every second), take the snapshots other
    /// nodes wrote for checks they ran more recently than this node (so <c>GET /api/checks</c> answers the same everywhere
    /// and a failover continues from the last stored state) and apply the acks and downtimes other nodes took (so they
    /// hold on the node that runs the check).
    /// </summary>
    public void StartSync(Func<string, CheckEntry?> find, Func<CheckEntry, long, CheckAction, Task> apply)
    {
        if (_store is not ISharedCheckStateStore shared) return;
        var (seq, action) = _syncFrom;
        _sync = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var round = System.Diagnostics.Stopwatch.GetTimestamp();
                    await shared.WaitForChangeAsync(TimeSpan.FromSeconds(1), _stop.Token).ConfigureAwait(false);
                    try
                    {
                        foreach (var (key, node, s) in shared.ChangedSince(seq, out seq))
                        {
                            if (find(key) is not { } e) continue;
                            lock (e.Gate)
                                if (s.Machine.LastCheck is { } remote && (e.Machine.LastCheck is not { } local || remote > local)) { Apply(e, s); e.Runner = node; }
                        }
                        foreach (var (id, key, a) in shared.ActionsSince(action))
                        {
                            action = id;
                            if (find(key) is { } e) await apply(e, id, a).ConfigureAwait(false);
                        }
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        Interlocked.Increment(ref _failures);
                        _log.LogWarning("checks: could not read the shared check state ({Error}); retrying", ex.Message);
                    }
                    // Busy clusters notify every few ms: at most one round per 25 ms.
                    var spent = System.Diagnostics.Stopwatch.GetElapsedTime(round);
                    if (spent < MinRound) await Task.Delay(MinRound - spent, _stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) { }
        });
    }

    private static readonly TimeSpan MinRound = TimeSpan.FromMilliseconds(25);
    private Task? _sync;
    private (long, long) _syncFrom;

    /// <summary>Cluster: records an operator action for the other nodes (stored before the action is answered).</summary>
    public void Shared(CheckEntry e, CheckAction action, bool announced)
    {
        if (_store is ISharedCheckStateStore shared) shared.AppendAction(e.Key, action, announced);
    }

    /// <summary>Cluster: true when this node is the one to announce action <paramref name="id"/> (once across nodes).</summary>
    public bool ClaimAnnouncement(long id) => _store is not ISharedCheckStateStore shared || shared.ClaimAnnouncement(id);

    /// <summary>Cluster: the acks and downtimes of a check this node just took over that nobody announced (taken while its runner was dead).</summary>
    public IReadOnlyList<CheckAction> ClaimUnannounced(CheckEntry e) => _store is ISharedCheckStateStore shared ? shared.ClaimUnannounced(e.Key) : [];

    /// <summary>Cluster: this node's id in the shared store (null on a single node).</summary>
    public string? Node => (_store as ISharedCheckStateStore)?.Node;

    /// <summary>Cluster: a downtime id no node has given out (from PostgreSQL) and <paramref name="e"/> does not use; null on a single node.</summary>
    public int? NextDowntimeId(CheckEntry e)
    {
        if (_store is not ISharedCheckStateStore shared) return null;
        int id;
        // Ids a check had before it joined a cluster were counted per check: skip one it still uses.
        do id = shared.NextDowntimeId();
        while (e.Machine.Downtimes.Any(d => d.Id == id));
        return id;
    }

    private static void Apply(CheckEntry e, EntrySnapshot s)
    {
        e.Machine.Restore(s.Machine);
        if (s.Output != null)
            e.Last = new CheckResult(s.ResultState ?? s.Machine.State, s.Output, s.LongOutput, s.PerfData ?? [], TimeSpan.FromSeconds(s.DurationSeconds ?? 0));
        e.LastLatency = s.LatencySeconds;
        e.NextCheck = s.NextCheck;
        if (s.LastPassive is { } p) e.LastPassive = p;
    }

    /// <summary>Called after every change of a check (with the events it produced, maybe none); never blocks on I/O.</summary>
    public void Changed(CheckEntry e, List<CheckEvent> events)
    {
        foreach (var ev in events) _events.Enqueue((e.Key, ev));
        lock (e.Gate)
        {
            var m = e.Machine;
            if (m.HasBeenChecked)
            {
                var hard = m.LastHardState; var down = m.InDowntime;
                if (!_lastSpan.TryGetValue(e.Key, out var prev) || prev.HardState != hard || prev.InDowntime != down)
                {
                    var span = new StateSpan(events.Count > 0 ? events[^1].Time : m.LastCheck!.Value, hard, down);
                    _lastSpan[e.Key] = span;
                    _spans.Enqueue((e.Key, span));
                }
            }
        }
        _dirty[e.Key] = e;
        if (Interlocked.Exchange(ref _signalled, 1) == 0) _signal.Release();
    }

    /// <summary>Completes when everything changed before the call is committed.</summary>
    public Task FlushAsync()
    {
        if (_loop.IsCompleted) return Task.CompletedTask; // stopped: the last batch was written
        var batch = Volatile.Read(ref _nextBatch).Task;
        if (Interlocked.Exchange(ref _signalled, 1) == 0) _signal.Release();
        return batch;
    }

    private async Task LoopAsync()
    {
        var stopping = false;
        while (!stopping)
        {
            try
            {
                var woken = await _signal.WaitAsync(TimeSpan.FromSeconds(1), _stop.Token).ConfigureAwait(false);
                if (woken && _delay > TimeSpan.Zero) await Task.Delay(_delay, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { stopping = true; }
            Volatile.Write(ref _signalled, 0);
            var done = Interlocked.Exchange(ref _nextBatch, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            WriteBatch();
            done.TrySetResult();
        }
        Volatile.Read(ref _nextBatch).TrySetResult(); // whoever asked while the last batch was written
    }

    private void WriteBatch()
    {
        var states = new List<(string, EntrySnapshot)>(_dirty.Count);
        var entries = new List<CheckEntry>(_dirty.Count);
        foreach (var key in _dirty.Keys)
        {
            if (!_dirty.TryRemove(key, out var e)) continue;
            entries.Add(e);
            lock (e.Gate) states.Add((key, Take(e)));
        }
        var events = new List<(string, CheckEvent)>();
        while (_events.TryDequeue(out var ev)) events.Add(ev);
        var spans = new List<(string, StateSpan)>();
        while (_spans.TryDequeue(out var sp)) spans.Add(sp);
        var now = _time.GetUtcNow();
        try
        {
            _store.Write(new StateBatch(states, events, spans, now));
            Interlocked.Increment(ref _batches);
            if (now - _lastPrune > TimeSpan.FromHours(1)) { _lastPrune = now; _store.Prune(now - _retention); }
        }
        catch (Exception ex)
        {
            // Keep running on memory and try the same writes again with the next batch.
            Interlocked.Increment(ref _failures);
            _log.LogError(ex, "checks: could not write check state ({States} checks, {Events} events); retrying with the next batch", states.Count, events.Count);
            foreach (var e in entries) _dirty.TryAdd(e.Key, e);
            foreach (var ev in events) _events.Enqueue(ev);
            foreach (var sp in spans) _spans.Enqueue(sp);
        }
    }

    private static EntrySnapshot Take(CheckEntry e) =>
        new(e.Machine.Snapshot(), e.Last?.Output, e.Last?.LongOutput, e.Last?.PerfData, e.Last?.Duration.TotalSeconds, e.Last?.State,
            e.LastLatency, e.NextCheck, e.LastPassive);

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false); // the loop writes a last batch as it stops
        if (_sync != null) await _sync.ConfigureAwait(false);
        _store.Dispose();
        _stop.Dispose();
    }
}
