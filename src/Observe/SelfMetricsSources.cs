using Observe.Common;

namespace Observe.Host;

/// <summary>
/// What <see cref="SelfMetrics"/>, /metrics and /stats <c>metrics</c> read, resolved once by <see cref="Bind"/> when the
/// stages have started (resolving them builds the stages: done before HTTP listened, it held /render up, issue 21).
/// Not constructor arguments, because the collector that calls SelfMetrics is one of the sources; not resolved at each
/// read either, because the last flush runs while the host disposes its service provider (a start that fails on a busy
/// port did exactly that, and every source threw ObjectDisposedException). Unbound, every source reads as absent.
/// </summary>
internal sealed class SelfMetricsSources
{
    private readonly IServiceProvider _services;
    private volatile StageSnapshots? _bound;

    public SelfMetricsSources(IServiceProvider services)
    {
        _services = services;
        Sources = ObserveStats.Sources(() => _bound);
    }

    /// <summary>Every stat list, read through what <see cref="Bind"/> resolved (absent before).</summary>
    public IReadOnlyList<StatSource> Sources { get; }

    public void Bind() => _bound = StageSnapshots.Resolve(_services);

    public SelfMetrics Create(int flushIntervalMs) => new(() => Sources, flushIntervalMs);
}
