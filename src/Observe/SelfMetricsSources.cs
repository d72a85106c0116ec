using Microsoft.Extensions.DependencyInjection;
using Observe.Alerting;
using Observe.Checks;
using Observe.Collector;
using Observe.Storage;

namespace Observe.Host;

/// <summary>
/// What <see cref="SelfMetrics"/> reads each flush, resolved once by <see cref="Bind"/> right after the host is built.
/// Not constructor arguments, because the collector that calls SelfMetrics is one of the sources; not resolved at each
/// flush either, because the last flush runs while the host disposes its service provider (a start that fails on a busy
/// port did exactly that, and every source threw ObjectDisposedException). Unbound, every source reads as absent.
/// </summary>
internal sealed class SelfMetricsSources(IServiceProvider services)
{
    private volatile Bound? _bound;

    private sealed record Bound(Func<CollectorStats>? Collector, Func<StorageStats>? Storage, ISpoolStatsSource[] Spools,
        Func<IReadOnlyList<ReceiverStats>>? Receivers, ICheckStates? Checks, Func<CheckRunStats>? CheckRuns, Func<LimitSources> Limits);

    public void Bind() => _bound = new Bound(services.GetService<Func<CollectorStats>>(), services.GetService<Func<StorageStats>>(),
        services.GetServices<ISpoolStatsSource>().ToArray(), services.GetService<Func<IReadOnlyList<ReceiverStats>>>(),
        services.GetService<ICheckStates>(), services.GetService<Func<CheckRunStats>>(), LimitCounters.Reader(services));

    public SelfMetrics Create(int flushIntervalMs) => new(
        () => _bound?.Collector?.Invoke(), () => _bound?.Storage?.Invoke(), () => _bound?.Spools ?? [],
        () => _bound?.Receivers?.Invoke(), () => _bound?.Checks, () => _bound?.CheckRuns?.Invoke(), flushIntervalMs,
        () => _bound?.Limits() ?? LimitSources.None);
}
