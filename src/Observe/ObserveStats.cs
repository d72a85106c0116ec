using Observe.Alerting;
using Observe.Checks;
using Observe.Collector;
using Observe.Common;
using Observe.Durability;
using Observe.Host.Auth;
using Observe.Storage;

namespace Observe.Host;

/// <summary>What the host itself counts, outside the stages: refused tokens and connections, damaged stores, memory pressure.</summary>
/// <param name="TlsReloadFailures">null without HTTPS</param>
internal sealed record HostStats(long AuthFailures, long HttpConnectionsRejected, long StoresQuarantined, MemoryGovernor? Memory = null,
    long? TlsReloadFailures = null);

/// <summary>
/// Every stage's one list of stats, bound to where each snapshot is read. /metrics, the <c>observe.*</c> series and /stats
/// <c>metrics</c> are all generated from <see cref="Sources(IServiceProvider)"/> (<see cref="StatsExport"/>, <see cref="SelfMetrics"/>),
/// so a stat added to a list appears in all three.
/// </summary>
internal static class ObserveStats
{
    public static readonly IReadOnlyList<StatDescriptor<HostStats>> Host =
    [
        Stat.Counter<HostStats>("observe_store_quarantined_total", "store.quarantined", "Store files found damaged at open and moved aside since start", s => s.StoresQuarantined),
        new("observe_memory_pressure_level", "memory.level", StatKind.Gauge,
            "Where Observe is in limits.memory: 0 under it, 1 giving memory back, 2 refusing new keys and series", null,
            s => s.Memory is { } m ? [new(null, (double)m.Level)] : []),
        new("observe_memory_reliefs_total", "memory.reliefs", StatKind.Counter, "Times the stages were asked to give memory back (limits.memory)", null,
            s => s.Memory is { } m ? [new(null, m.Reliefs)] : []),
        new("observe_memory_refusing_total", "memory.refusing", StatKind.Counter, "Times limits.memory began refusing new StatsD keys and series", null,
            s => s.Memory is { } m ? [new(null, m.RefusingEntered)] : []),
        Stat.Counter<HostStats>("observe_auth_failures_total", "auth.failures", "Requests with a malformed Authorization header or an unknown bearer token", s => s.AuthFailures),
        Stat.Counter<HostStats>("observe_http_connections_rejected_total", "http.connections_rejected", "HTTP connections closed at once because http.maxConnections were open",
            s => s.HttpConnectionsRejected),
        new("observe_tls_reload_failures_total", "tls.reload_failures", StatKind.Counter,
            "Certificate reloads (SIGHUP, POST /api/reload) that failed; the previous certificate is still served", null,
            s => s.TlsReloadFailures is { } n ? [new(null, n)] : []),
    ];

    /// <summary>Every list bound to its snapshot; a stage switched off (its snapshot null) reads as nothing.</summary>
    public static IReadOnlyList<StatSource> Sources(Func<CollectorStats?> collector, Func<LogIngestStats?> logs, Func<StorageStats?> storage,
        Func<IReadOnlyList<SpoolStats>> spools, Func<CheckRunStats?> checkRuns, Func<IReadOnlyList<CheckStatus>?> checks, Func<HostStats?> host,
        Func<ScrapeStats?>? scrape = null, Func<BeaconStats?>? beacons = null, Func<AlertingStats?>? alerting = null) =>
    [
        StatSource.Of(CollectorStatList.Collector, collector),
        StatSource.Of(CollectorStatList.Logs, logs),
        StatSource.Of(CollectorStatList.Scrape, scrape ?? (() => null)),
        StatSource.Of(CollectorStatList.Beacons, beacons ?? (() => null)),
        StatSource.Of(StorageHosting.StorageStatList, storage),
        StatSource.Of(StorageHosting.SpoolStatList, spools),
        StatSource.Of(ChecksStatList.Runs, checkRuns),
        StatSource.Of(ChecksStatList.States, checks),
        StatSource.Of(AlertingStatList.Alerting, alerting ?? (() => null)),
        StatSource.Of(Host, host),
    ];

    /// <summary>
    /// Resolves the snapshots once: reading never touches the service provider again (a last flush runs while the host
    /// disposes it). Every stage is optional.
    /// </summary>
    public static IReadOnlyList<StatSource> Sources(IServiceProvider sp)
    {
        var bound = StageSnapshots.Resolve(sp);
        return Sources(() => bound);
    }

    /// <summary>The lists read through <paramref name="bound"/>: every source absent while it is null (not bound yet).</summary>
    public static IReadOnlyList<StatSource> Sources(Func<StageSnapshots?> bound) =>
        Sources(() => bound()?.Collector?.Invoke(), () => bound()?.Logs?.Invoke(), () => bound()?.Storage?.Invoke(),
            () => bound() is { } b ? b.Spools.Select(s => s.Stats).ToList() : [],
            () => bound()?.CheckRuns?.Invoke(), () => bound()?.Checks?.Current(),
            () => bound() is { } b ? new(b.Tokens?.FailureCount ?? 0, b.Rejections?.Total ?? 0, StoreQuarantine.Count, b.Memory, b.Https?.ReloadFailures) : null,
            () => bound()?.Scrape?.Invoke(), () => bound()?.Beacons?.Invoke(), () => bound()?.Alerting?.Invoke());
}

/// <summary>Where each stage's snapshot is read, resolved once from the host's services.</summary>
internal sealed record StageSnapshots(Func<CollectorStats>? Collector, Func<LogIngestStats>? Logs, Func<ScrapeStats>? Scrape, Func<BeaconStats>? Beacons,
    Func<StorageStats>? Storage, ISpoolStatsSource[] Spools, Func<CheckRunStats>? CheckRuns, ICheckStates? Checks, Func<AlertingStats>? Alerting,
    ApiTokens? Tokens, HttpConnectionRejections? Rejections, MemoryGovernor? Memory, Tls.HttpsCertificate? Https)
{
    public static StageSnapshots Resolve(IServiceProvider sp) => new(
        sp.GetService(typeof(Func<CollectorStats>)) as Func<CollectorStats>,
        sp.GetService(typeof(Func<LogIngestStats>)) as Func<LogIngestStats>,
        sp.GetService(typeof(Func<ScrapeStats>)) as Func<ScrapeStats>,
        sp.GetService(typeof(Func<BeaconStats>)) as Func<BeaconStats>,
        sp.GetService(typeof(Func<StorageStats>)) as Func<StorageStats>,
        (sp.GetService(typeof(IEnumerable<ISpoolStatsSource>)) as IEnumerable<ISpoolStatsSource> ?? []).ToArray(),
        sp.GetService(typeof(Func<CheckRunStats>)) as Func<CheckRunStats>,
        sp.GetService(typeof(ICheckStates)) as ICheckStates,
        sp.GetService(typeof(Func<AlertingStats>)) as Func<AlertingStats>,
        sp.GetService(typeof(ApiTokens)) as ApiTokens,
        sp.GetService(typeof(HttpConnectionRejections)) as HttpConnectionRejections,
        sp.GetService(typeof(MemoryGovernor)) as MemoryGovernor,
        sp.GetService(typeof(Tls.HttpsCertificate)) as Tls.HttpsCertificate);
}
