using Observe.Common;

namespace Observe.Checks;

/// <summary>
/// The checks' stats, each once: the host generates their /metrics families, <c>observe.*</c> series and /stats
/// <c>metrics</c> from these lists (src/Observe/StatsExport.cs).
/// </summary>
public static class ChecksStatList
{
    public static readonly IReadOnlyList<StatDescriptor<CheckRunStats>> Runs =
    [
        Stat.Counter<CheckRunStats>("observe_checks_runs_total", "checks.runs", "Check runs since start", s => s.Runs),
        Stat.Counter<CheckRunStats>("observe_checks_state_store_failures_total", "checks.state_store_failures",
            "Check state batches that could not be written, and failed cluster reads of the shared state, since start", s => s.StateStoreFailures),
        Stat.Counter<CheckRunStats>("observe_checks_availability_refused_total", "checks.availability_refused",
            "Availability requests refused (400): a time that does not parse, a window or a timeline over its bound", s => s.AvailabilityRefused),
    ];

    /// <summary>Read from the current states: how many checks are in each state (pending = not run yet), flapping, and
    /// the latency of the last runs (absent until a check has run).</summary>
    public static readonly IReadOnlyList<StatDescriptor<IReadOnlyList<CheckStatus>>> States =
    [
        Stat.Labelled<IReadOnlyList<CheckStatus>>(StatKind.Gauge, "observe_checks_count", "checks.count.{state}", "Checks per current state (pending: not run yet)", "state",
            all => Enum.GetValues<CheckState>().Select(state => (state.ToString().ToLowerInvariant(),
                (double)(state == CheckState.Pending ? all.Count(s => s.LastCheck == null) : all.Count(s => s.LastCheck != null && s.State == state))))),
        Stat.Gauge<IReadOnlyList<CheckStatus>>("observe_checks_flapping", "checks.count.flapping", "Checks flapping now", all => all.Count(s => s.IsFlapping)),
        new("observe_checks_latency_seconds_mean", "checks.latency_seconds.mean", StatKind.Gauge, "Mean latency of the checks' last runs", null,
            all => Latencies(all) is { Count: > 0 } l ? [new(null, l.Average())] : []),
        new("observe_checks_latency_seconds_upper", "checks.latency_seconds.upper", StatKind.Gauge, "Highest latency of the checks' last runs", null,
            all => Latencies(all) is { Count: > 0 } l ? [new(null, l.Max())] : []),
    ];

    private static List<double> Latencies(IReadOnlyList<CheckStatus> all) =>
        all.Where(s => s.LastCheck != null && s.LastLatencySeconds != null).Select(s => s.LastLatencySeconds!.Value).ToList();
}
