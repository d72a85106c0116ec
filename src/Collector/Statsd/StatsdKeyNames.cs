namespace Observe.Collector.Statsd;

/// <summary>
/// Each StatsD key's output names (<c>stats.timers.k.mean_90</c>, …), made once per key and kept in an array beside the
/// key's state: every flush hands the same string objects to the sinks (the embedded store keeps them as its series names).
/// Issue 21: at 1 M new names the flush made ~16 M names on its thread at the boundary (9.2 s). Now a new key's array goes,
/// when the key is created on the receive path, to a list that one thread-pool item drains while the interval runs; the
/// flush makes only what is still missing (keys that arrived just before it). Both fill through <see cref="Fill"/> under
/// one lock, so a name is made once whichever comes first, and the flush's names and points are what they were.
/// </summary>
internal sealed class StatsdKeyNames : IThreadPoolWorkItem
{
    public enum Kind : byte { Counter, Timer, Gauge, Set }

    /// <summary>Keys filled per hold of the fill lock: a flush that arrives meanwhile waits for at most this many.</summary>
    private const int Chunk = 1024;

    private readonly StatsdNaming _naming;
    private readonly TimerStatistics _timers;
    private readonly bool _flushCounts;
    private readonly Lock _pendingLock = new();
    private List<(Kind Kind, string Key, string?[] Names)> _pending = [], _draining = [];
    private bool _queued; // under _pendingLock: a work item is queued or running and will look at _pending again
    private long _prebuilt;

    /// <summary>Held by whoever fills names: the flush for its whole build, the work item per chunk.</summary>
    public Lock FillLock { get; } = new();

    public StatsdKeyNames(StatsdNaming naming, TimerStatistics timers, bool flushCounts)
    {
        _naming = naming;
        _timers = timers;
        _flushCounts = flushCounts;
    }

    /// <summary>Keys whose names were made off the flush (for tests and /stats).</summary>
    public long Prebuilt => Interlocked.Read(ref _prebuilt);

    /// <summary>Keys handed over whose names are not made yet.</summary>
    public int Pending { get { lock (_pendingLock) return _pending.Count + _draining.Count; } }

    /// <summary>The name array of a new key of <paramref name="kind"/> (the receive path, once per key).</summary>
    public string?[] NewArray(Kind kind) => new string?[kind switch { Kind.Counter => 2, Kind.Timer => _timers.Catalogue.Length, _ => 1 }];

    /// <summary>A key was created with <paramref name="names"/> as its array: make its names before the flush needs them.</summary>
    public void Added(Kind kind, string key, string?[] names)
    {
        bool queue;
        lock (_pendingLock)
        {
            _pending.Add((kind, key, names));
            queue = !_queued;
            _queued = true;
        }
        // One item drains everything pending, so at most one is queued; no allocation per key.
        if (queue) ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    /// <summary>Makes the missing names of one key. Caller holds <see cref="FillLock"/>.</summary>
    public void Fill(Kind kind, string key, string?[] names)
    {
        switch (kind)
        {
            case Kind.Counter:
                names[0] ??= _naming.CounterRate(key);
                if (_flushCounts) names[1] ??= _naming.CounterCount(key);
                break;
            case Kind.Timer:
                var (from, to) = _timers.HistogramOf(key);
                _naming.FillTimer(key, _timers.Catalogue, _timers.Plain, from, to, names);
                break;
            case Kind.Gauge: names[0] ??= _naming.Gauge(key); break;
            default: names[0] ??= _naming.Set(key); break;
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        while (true)
        {
            lock (_pendingLock)
            {
                if (_pending.Count == 0)
                {
                    _queued = false;
                    return;
                }
                (_pending, _draining) = (_draining, _pending);
            }
            for (var start = 0; start < _draining.Count; start += Chunk)
            {
                var end = Math.Min(start + Chunk, _draining.Count);
                lock (FillLock)
                    for (var i = start; i < end; i++)
                    {
                        var (kind, key, names) = _draining[i];
                        Fill(kind, key, names);
                    }
                Interlocked.Add(ref _prebuilt, end - start);
            }
            lock (_pendingLock)
            {
                // A burst of new keys grew the list: let it go rather than keep its peak for ever.
                if (_draining.Capacity > 65_536) _draining = [];
                else _draining.Clear();
            }
        }
    }
}
