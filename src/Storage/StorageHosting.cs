using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Observe.Collector;
using Observe.Common;
using Observe.Storage.Graphite;

namespace Observe.Storage;

/// <summary>Validates storage options with the same parsers the store uses, so config check and the store agree.</summary>
public static class StorageConfig
{
    /// <summary>The longest <c>compactionIntervalSeconds</c> and <c>render.timeoutSeconds</c>: a day.</summary>
    public const int MaxWaitSeconds = 86_400;

    public static IReadOnlyList<ConfigProblem> Validate(StorageOptions options, string prefix = "storage")
    {
        var problems = new List<ConfigProblem>();
        if (string.IsNullOrWhiteSpace(options.DataDir)) problems.Add(new($"{prefix}.dataDir", "must not be empty"));
        if (options.CompactionIntervalSeconds < 0) problems.Add(new($"{prefix}.compactionIntervalSeconds", "must be 0 (off) or more"));
        // Both become .NET timers or waits, which refuse more than about 24 days: past it the store would not open.
        if (options.CompactionIntervalSeconds > MaxWaitSeconds)
            problems.Add(new($"{prefix}.compactionIntervalSeconds", $"must be at most {MaxWaitSeconds} (1d)"));
        if (options.Render.MaxTargets < 1) problems.Add(new($"{prefix}.render.maxTargets", "must be at least 1"));
        if (options.Render.MaxPoints < 1) problems.Add(new($"{prefix}.render.maxPoints", "must be at least 1"));
        if (options.Render.MaxPointsRead < 1) problems.Add(new($"{prefix}.render.maxPointsRead", "must be at least 1"));
        if (options.Render.MaxConcurrent < 1) problems.Add(new($"{prefix}.render.maxConcurrent", "must be at least 1"));
        if (options.Render.MaxDepth is < 1 or > GraphiteHosting.MaxDepthCeiling)
            problems.Add(new($"{prefix}.render.maxDepth", $"must be between 1 and {GraphiteHosting.MaxDepthCeiling}"));
        if (options.Render.MaxPointsProduced < 1) problems.Add(new($"{prefix}.render.maxPointsProduced", "must be at least 1"));
        if (options.Render.MaxImageWidth < 1) problems.Add(new($"{prefix}.render.maxImageWidth", "must be at least 1"));
        if (options.Render.MaxImageHeight < 1) problems.Add(new($"{prefix}.render.maxImageHeight", "must be at least 1"));
        if (options.Render.TimeoutSeconds is < 1 or > MaxWaitSeconds)
            problems.Add(new($"{prefix}.render.timeoutSeconds", $"must be at least 1 and at most {MaxWaitSeconds} (1d)"));
        if (options.MaxSeries < 1) problems.Add(new($"{prefix}.maxSeries", "must be at least 1"));
        if (options.MaxFindResults < 1) problems.Add(new($"{prefix}.maxFindResults", "must be at least 1"));
        if (options.ChunkCacheBytes < 0) problems.Add(new($"{prefix}.chunkCacheBytes", "must be 0 or more"));
        problems.AddRange(TsdbHosting.ValidateRules(options, prefix));
        return problems;
    }
}

/// <summary>
/// The host's entry points into storage: wires the embedded store (Tsdb), the events store and the Graphite API (Graphite);
/// the external sinks are wired through <c>MetricSinks</c>, <c>PrometheusSinks</c> and <c>ElasticsearchSinks</c> (Sinks).
/// </summary>
public static class StorageHosting
{
    /// <summary>
    /// Registers the embedded time-series store (as <see cref="ISeriesReader"/>, and as an
    /// <see cref="IMetricSink"/> when <paramref name="embeddedSink"/>), the Graphite events store and
    /// <see cref="ISeriesQuery"/> (targets with functions, as /render evaluates them) and <see cref="ISeriesGraphs"/> (their images).
    /// </summary>
    public static IServiceCollection AddObserveStorage(this IServiceCollection services, StorageOptions options, bool embeddedSink)
    {
        services.AddSingleton(options);
        services.AddSingleton<StorageLimitHits>();
        services.AddObserveTsdb(options, embeddedSink);
        services.AddObserveGraphite(options);
        return services;
    }

    /// <summary>The store's stats, each once: the host generates /metrics, the <c>observe.*</c> series and /stats <c>metrics</c> from it.</summary>
    public static readonly IReadOnlyList<StatDescriptor<StorageStats>> StorageStatList =
    [
        Stat.Gauge<StorageStats>("observe_storage_series", "storage.series", "Series in the embedded store", s => s.Series),
        Stat.Gauge<StorageStats>("observe_storage_head_points", "storage.head_points", "Points in the store's head (not yet in chunks)", s => s.HeadPoints),
        Stat.Counter<StorageStats>("observe_storage_series_dropped_total", "storage.series_dropped", "Points not stored because their series would exceed storage.maxSeries", s => s.SeriesDroppedByLimit),
        Stat.Counter<StorageStats>("observe_tsdb_points_beyond_retention_total", "storage.points_beyond_retention", "Points older than every archive of their series' schema, dropped at write", s => s.PointsBeyondRetention),
        Stat.Counter<StorageStats>("observe_tsdb_pages_reclaimed_total", "storage.pages_reclaimed",
            "Free pages of the TSDB file given back to the file system (incremental vacuum after compaction and retention)", s => s.PagesReclaimed),
        Stat.Counter<StorageStats>("observe_tsdb_head_checkpoints_ignored_total", "storage.head_checkpoints_ignored",
            "TSDB head checkpoints the open ignored as torn, corrupt or not matching the store (the head rows were replayed instead)", s => s.HeadCheckpointsIgnored),
        new("observe_tsdb_corrupt_chunks_total", "storage.corrupt_chunks", StatKind.CounterShownAsTotal, "TSDB chunks whose checksum did not verify (never served)", null,
            s => [new(null, s.CorruptChunks)]),
        new("observe_tsdb_corrupt_head_rows_total", "storage.corrupt_head_rows", StatKind.CounterShownAsTotal,
            "TSDB head (write-ahead) rows whose checksum did not verify at open (their points are lost)", null, s => [new(null, s.CorruptHeadRows)]),
        Stat.Labelled<StorageStats>(StatKind.Gauge, "observe_storage_write_phase_seconds", "storage.write_phase_seconds.{phase}",
            "The last write into the store by phase: lock_wait, lookup (series by name), create (new series in memory), series_insert, encode (head row), head_insert, commit, register (new series into the name trie and lists), head_append, total",
            "phase", s => s.LastWrite?.Phases ?? []),
        new("observe_storage_write_full_collections", "storage.write_full_collections", StatKind.Gauge, "Full (generation-2) garbage collections during the last write into the store", null,
            s => s.LastWrite is { } w ? [new(null, w.Gen2Collections)] : []),
        Stat.Labelled<StorageStats>(StatKind.Counter, "observe_limit_hits_total", "limit_hits.{limit}", "Requests refused by a bound, by its configuration key (docs/limits.md)", "limit",
            s => Stat.Pairs(s.LimitHits)),
    ];

    /// <summary>The spooled sinks' stats, per sink, read from every <see cref="ISpoolStatsSource"/>.</summary>
    public static readonly IReadOnlyList<StatDescriptor<IReadOnlyList<SpoolStats>>> SpoolStatList =
    [
        Spool(StatKind.Gauge, "records", "Undelivered records in the sink's disk spool", s => s.Records),
        Spool(StatKind.Gauge, "bytes", "Undelivered bytes in the sink's disk spool", s => s.Bytes),
        Spool(StatKind.Gauge, "oldest_age_seconds", "Age of the oldest undelivered record", s => s.OldestAgeSeconds),
        Spool(StatKind.Counter, "appended", "Records appended since start", s => s.Appended),
        Spool(StatKind.Counter, "delivered", "Records delivered since start", s => s.Delivered),
        Spool(StatKind.Counter, "retries", "Failed delivery attempts since start", s => s.Retries),
        Spool(StatKind.Counter, "rejected", "Records the target rejected (kept in dead-letter) since start", s => s.Rejected),
        Spool(StatKind.Counter, "dropped_oldest", "Records dropped by the size bound since start", s => s.DroppedOldest),
        Spool(StatKind.Counter, "corrupt_skipped", "Corrupt or torn records skipped at open", s => s.CorruptSkipped),
    ];

    private static StatDescriptor<IReadOnlyList<SpoolStats>> Spool(StatKind kind, string name, string help, Func<SpoolStats, double> read) =>
        Stat.Labelled<IReadOnlyList<SpoolStats>>(kind, kind == StatKind.Gauge ? $"observe_spool_{name}" : $"observe_spool_{name}_total", "spool.{sink}." + name, help, "sink",
            all => all.Select(s => (s.Sink, read(s))));

    /// <summary>
    /// Starts opening the embedded store on its own thread, for the host to call right after it is built: the stages start
    /// and HTTP listens meanwhile; what reads or writes series waits for it. The task faults when the store cannot open.
    /// </summary>
    public static Task BeginOpen(IServiceProvider services) => services.GetRequiredService<ISeriesReader>().Opened;

    /// <summary>DogStatsD events → Graphite events (annotations), for the host to route <c>_e</c> events to.</summary>
    public static IStatsdEventSink StatsdEventsToGraphite(IServiceProvider services) => GraphiteHosting.StatsdEventsToGraphite(services);

    /// <summary>Maps the Graphite-compatible HTTP API (render, metrics, events, tags, functions, version) and the whisper import (<c>POST /api/import/whisper</c>).</summary>
    public static IEndpointRouteBuilder MapObserveStorage(this IEndpointRouteBuilder app)
    {
        var sp = app.ServiceProvider;
        app.MapWhisperImport();
        return app.MapGraphiteApi(sp.GetRequiredService<ISeriesReader>(), sp.GetRequiredService<GraphiteEventStore>(),
            sp.GetRequiredService<StorageOptions>().Render, sp.GetService<StorageLimitHits>(), sp.GetRequiredService<StorageOptions>().MaxFindResults);
    }
}
