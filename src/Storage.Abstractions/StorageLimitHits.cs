using System.Collections.Concurrent;

namespace Observe.Storage;

/// <summary>
/// How often each storage/query bound was hit since start, by its configuration key (<c>storage.render.maxDepth</c>,
/// <c>storage.maxFindResults</c>…): shown in <c>/stats</c> (<c>storage.limitHits</c>) and on <c>/metrics</c> as
/// <c>observe_limit_hits_total{limit}</c>. See docs/limits.md.
/// </summary>
public sealed class StorageLimitHits
{
    private readonly ConcurrentDictionary<string, long> _hits = new(StringComparer.Ordinal);

    public void Hit(string key) => _hits.AddOrUpdate(key, 1, (_, n) => n + 1);

    public IReadOnlyDictionary<string, long> Snapshot() => new SortedDictionary<string, long>(_hits, StringComparer.Ordinal);
}
