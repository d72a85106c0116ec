using Observe.Common;

namespace Observe.Host;

/// <summary>
/// What <see cref="SelfMetrics"/> reads each flush, resolved once by <see cref="Bind"/> right after the host is built.
/// Not constructor arguments, because the collector that calls SelfMetrics is one of the sources; not resolved at each
/// flush either, because the last flush runs while the host disposes its service provider (a start that fails on a busy
/// port did exactly that, and every source threw ObjectDisposedException). Unbound, every source reads as absent.
/// </summary>
internal sealed class SelfMetricsSources(IServiceProvider services)
{
    private volatile IReadOnlyList<StatSource>? _bound;

    public void Bind() => _bound = ObserveStats.Sources(services);

    public SelfMetrics Create(int flushIntervalMs) => new(() => _bound ?? [], flushIntervalMs);
}
