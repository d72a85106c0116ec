using Observe.Checks;
using Observe.Collector;
using Observe.Durability;
using Observe.Host.Auth;
using Observe.Storage;

namespace Observe.Host;

/// <summary>What the limit counters are read from at a flush or a scrape; any part may be absent (stage switched off).</summary>
internal sealed record LimitSources(StorageStats? Storage, LogIngestStats? Logs, long AuthFailures, long HttpConnectionsRejected, long StoresQuarantined,
    MemoryGovernor? Memory = null, CheckRunStats? Checks = null, BeaconStats? Beacons = null)
{
    /// <summary>Nothing known yet (the host is not built).</summary>
    public static LimitSources None => new(null, null, 0, 0, StoreQuarantine.Count);
}

/// <summary>One counter of a bound hit or input refused (docs/limits.md): its <c>observe.*</c> series and its /metrics family.</summary>
/// <param name="Series">Graphite name under <c>observe.</c>; a label value becomes one more node. Totals are written as
/// <c>…_per_second</c> rates (as every SelfMetrics counter), levels as they are.</param>
/// <param name="Family">The Prometheus family; <paramref name="ExportedHere"/> false when it is a live counter the host
/// increments elsewhere (only its total is read here), true when <see cref="LimitCounters.Export"/> registers it.</param>
internal sealed record LimitCounter(string Series, bool Rate, string Family, string Help, string? Label, bool ExportedHere,
    Func<LimitSources, IEnumerable<(string? Label, long Value)>> Read);

/// <summary>
/// The one list of the counters issue 15 added (limits hit, input refused, damage found): <see cref="SelfMetrics"/> writes
/// each as an <c>observe.*</c> series (so a dashboard graphs it through /render) and <see cref="Export"/> puts each on
/// /metrics, so the two cannot drift apart. The collector's older ingest counters still have their own two places.
/// </summary>
internal static class LimitCounters
{
    private static IEnumerable<(string?, long)> One(long v) => [(null, v)];

    public static readonly LimitCounter[] All =
    [
        new("limit_hits", true, "observe_limit_hits_total", "Requests refused by a bound, by its configuration key (docs/limits.md)", "limit", true,
            s => (s.Storage?.LimitHits ?? new Dictionary<string, long>()).Select(kv => ((string?)kv.Key, kv.Value))),
        new("storage.series_dropped", true, "observe_storage_series_dropped_total", "Points not stored because their series would exceed storage.maxSeries", null, true,
            s => s.Storage is { } st ? One(st.SeriesDroppedByLimit) : []),
        new("storage.points_beyond_retention", true, "observe_tsdb_points_beyond_retention_total", "Points older than every archive of their series' schema, dropped at write", null, true,
            s => s.Storage is { } st ? One(st.PointsBeyondRetention) : []),
        new("storage.corrupt_chunks", false, "observe_tsdb_corrupt_chunks_total", "TSDB chunks whose checksum did not verify (never served)", null, true,
            s => s.Storage is { } st ? One(st.CorruptChunks) : []),
        new("storage.corrupt_head_rows", false, "observe_tsdb_corrupt_head_rows_total", "TSDB head (write-ahead) rows whose checksum did not verify at open (their points are lost)", null, true,
            s => s.Storage is { } st ? One(st.CorruptHeadRows) : []),
        new("store.quarantined", true, "observe_store_quarantined_total", "Store files found damaged at open and moved aside since start", null, true,
            s => One(s.StoresQuarantined)),
        new("logs.rejected", true, "observe_logs_rejected_total", "Log inputs rejected, per reason", "reason", true,
            s => (s.Logs?.Rejected ?? new Dictionary<string, long>()).Select(kv => ((string?)kv.Key, kv.Value))),
        new("logs.rule_drops", true, "observe_log_rule_drops_total", "Log events a logs.metrics rule matched but made no point for, per reason", "reason", true,
            s => (s.Logs?.RuleDrops ?? new Dictionary<string, long>()).Select(kv => ((string?)kv.Key, kv.Value))),
        new("beacons.dropped", true, "observe_beacons_dropped_total", "Page-load beacons refused or dropped, per reason (collector.beacons)", "reason", true,
            s => (s.Beacons?.Dropped ?? new Dictionary<string, long>()).Select(kv => ((string?)kv.Key, kv.Value))),
        new("memory.level", false, "observe_memory_pressure_level", "Where Observe is in limits.memory: 0 under it, 1 giving memory back, 2 refusing new keys and series", null, true,
            s => s.Memory is { } m ? One((long)m.Level) : []),
        new("memory.reliefs", true, "observe_memory_reliefs_total", "Times the stages were asked to give memory back (limits.memory)", null, true,
            s => s.Memory is { } m ? One(m.Reliefs) : []),
        new("memory.refusing", true, "observe_memory_refusing_total", "Times limits.memory began refusing new StatsD keys and series", null, true,
            s => s.Memory is { } m ? One(m.RefusingEntered) : []),
        new("checks.state_store_failures", true, "observe_checks_state_store_failures_total",
            "Check state batches that could not be written, and failed cluster reads of the shared state, since start", null, true,
            s => s.Checks is { } c ? One(c.StateStoreFailures) : []),
        new("checks.availability_refused", true, "observe_checks_availability_refused_total",
            "Availability requests refused (400): a time that does not parse, a window or a timeline over its bound", null, true,
            s => s.Checks is { } c ? One(c.AvailabilityRefused) : []),
        new("auth.failures", true, "observe_auth_failures_total", "Requests with a malformed Authorization header or an unknown bearer token", null, false,
            s => One(s.AuthFailures)),
        new("http.connections_rejected", true, "observe_http_connections_rejected_total", "HTTP connections closed at once because http.maxConnections were open", null, false,
            s => One(s.HttpConnectionsRejected)),
    ];

    /// <summary>Registers the families this list owns on the default registry, read from <paramref name="sources"/> at scrape time.</summary>
    public static void Export(Func<LimitSources> sources)
    {
        var gauges = All.Where(c => c.ExportedHere)
            .Select(c => (Counter: c, Gauge: c.Label is { } l ? Prometheus.Metrics.CreateGauge(c.Family, c.Help, l) : Prometheus.Metrics.CreateGauge(c.Family, c.Help)))
            .ToArray();
        Prometheus.Metrics.DefaultRegistry.AddBeforeCollectCallback(() =>
        {
            var s = sources();
            foreach (var (c, gauge) in gauges)
                foreach (var (label, value) in c.Read(s))
                    if (label == null) gauge.Set(value);
                    else gauge.WithLabels(label).Set(value);
        });
    }

    /// <summary>
    /// Resolves the sources once and returns their reader: reading never touches the service provider again (a last flush
    /// runs while the host disposes it). The stages' snapshots are optional.
    /// </summary>
    public static Func<LimitSources> Reader(IServiceProvider sp)
    {
        var storage = sp.GetService(typeof(Func<StorageStats>)) as Func<StorageStats>;
        var logs = sp.GetService(typeof(Func<LogIngestStats>)) as Func<LogIngestStats>;
        var tokens = sp.GetService(typeof(ApiTokens)) as ApiTokens;
        var rejections = sp.GetService(typeof(HttpConnectionRejections)) as HttpConnectionRejections;
        var memory = sp.GetService(typeof(MemoryGovernor)) as MemoryGovernor;
        var checks = sp.GetService(typeof(Func<CheckRunStats>)) as Func<CheckRunStats>;
        var beacons = sp.GetService(typeof(Func<BeaconStats>)) as Func<BeaconStats>;
        return () => new(storage?.Invoke(), logs?.Invoke(), tokens?.FailureCount ?? 0, rejections?.Total ?? 0, StoreQuarantine.Count,
            memory, checks?.Invoke(), beacons?.Invoke());
    }
}
