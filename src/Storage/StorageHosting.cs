using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector;
using Observe.Storage.Graphite;
using Observe.Storage.Sinks;
using Observe.Storage.Sinks.Influx;
using Observe.Storage.Sinks.Spool;
using Observe.Storage.Tsdb;
using Observe.Common;

namespace Observe.Storage;

/// <summary>Factories the host uses to build sinks from configuration; the sink types stay internal.</summary>
public static class MetricSinks
{
    public static IMetricSink Console(TextWriter? output = null) => new ConsoleMetricSink(output);

    /// <summary>
    /// Registers every enabled <c>sinks.carbon</c> and <c>sinks.influx</c> entry as an <see cref="IMetricSink"/> behind
    /// its own disk spool in <c>&lt;dataDir&gt;/spool/&lt;name&gt;/</c>, and as an <see cref="ISpoolStatsSource"/>.
    /// </summary>
    public static IServiceCollection AddSpooledMetricSinks(this IServiceCollection services, string dataDir, SpoolOptions spool,
        IEnumerable<CarbonSinkOptions> carbon, IEnumerable<InfluxSinkOptions> influx)
    {
        foreach (var c in carbon.Where(c => c.Enabled))
            Add(services, c.Name, (sp, log) => Spooled(c.Name, dataDir, spool, new CarbonTcpTarget(c.Host, c.Port, c.Name,
                Path.Combine(SpoolPipeline.DirectoryFor(dataDir, c.Name), "carbon-recent")),
                c.Protocol == CarbonProtocol.Pickle ? new CarbonPickleEncoder() : new CarbonPlaintextEncoder(), log));
        foreach (var i in influx.Where(i => i.Enabled))
            Add(services, i.Name, (sp, log) => Spooled(i.Name, dataDir, spool, new InfluxHttpTarget(i),
                new InfluxLineEncoder(i.MeasurementNodes, i.Templates, i.Precision), log));
        return services;
    }

    /// <summary>Builds one spooled metric sink; for the host's factories and for tests and benchmarks.</summary>
    internal static SpooledMetricSink Spooled(string name, string dataDir, SpoolOptions spool, ISpoolTarget target, IMetricRecordEncoder encoder,
        ILogger? log = null, TimeProvider? time = null) =>
        new(new SpoolPipeline(name, SpoolPipeline.DirectoryFor(dataDir, name), target,
            new SpoolLimits(spool.MaxBytes, spool.SegmentBytes), TimeSpan.FromSeconds(spool.RetryMaxSeconds), time, log), encoder);

    internal static void Add(IServiceCollection services, string name, Func<IServiceProvider, ILogger, SpooledMetricSink> create)
    {
        // One instance serves both roles; the keyed registration owns it.
        services.AddKeyedSingleton<SpooledMetricSink>(name, (sp, _) =>
            create(sp, sp.GetService<ILoggerFactory>()?.CreateLogger("Observe.Sinks." + name) ?? NullLogger.Instance));
        services.AddSingleton<IMetricSink>(sp => sp.GetRequiredKeyedService<SpooledMetricSink>(name));
        services.AddSingleton<ISpoolStatsSource>(sp => sp.GetRequiredKeyedService<SpooledMetricSink>(name));
    }

    /// <summary>Problems in <c>sinks.spool</c>, <c>sinks.carbon</c> and <c>sinks.influx</c>, keyed below <c>sinks</c>.</summary>
    public static IReadOnlyList<ConfigProblem> Validate(SpoolOptions spool, IReadOnlyList<CarbonSinkOptions> carbon,
        IReadOnlyList<InfluxSinkOptions> influx, string prefix = "sinks")
    {
        var problems = new List<ConfigProblem>();
        void Fail(string key, string message) => problems.Add(new($"{prefix}.{key}", message));
        if (spool.MaxBytes < 1024) Fail("spool.maxBytes", "must be at least 1024");
        if (spool.SegmentBytes < 1024) Fail("spool.segmentBytes", "must be at least 1024");
        if (spool.RetryMaxSeconds is < 0.1 or > 86400) Fail("spool.retryMaxSeconds", "must be between 0.1 and 86400");
        var names = new HashSet<string>();
        void Name(string key, string name)
        {
            if (string.IsNullOrWhiteSpace(name) || name is "." or ".." || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
                Fail(key, "must be a non-empty name usable as a directory name (no '/')");
            else if (!names.Add(name)) Fail(key, $"'{name}' is already the name of another sink");
        }
        for (var i = 0; i < carbon.Count; i++)
        {
            var c = carbon[i];
            if (!c.Enabled) continue;
            Name($"carbon[{i}].name", c.Name);
            if (string.IsNullOrWhiteSpace(c.Host)) Fail($"carbon[{i}].host", "required");
            if (c.Port is < 1 or > 65535) Fail($"carbon[{i}].port", "must be between 1 and 65535");
        }
        for (var i = 0; i < influx.Count; i++)
        {
            var o = influx[i];
            if (!o.Enabled) continue;
            var k = $"influx[{i}]";
            Name($"{k}.name", o.Name);
            if (!Uri.TryCreate(o.Url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")) Fail($"{k}.url", "must be an http(s) URL");
            if (o.Version == 1 && string.IsNullOrWhiteSpace(o.Db)) Fail($"{k}.db", "required for version 1");
            else if (o.Version == 2)
            {
                if (string.IsNullOrWhiteSpace(o.Bucket)) Fail($"{k}.bucket", "required for version 2");
            }
            else if (o.Version != 1) Fail($"{k}.version", "must be 1 or 2");
            try { InfluxLineEncoder.PrecisionMultiplier(o.Precision); }
            catch (FormatException e) { Fail($"{k}.precision", e.Message); }
            if (o.MeasurementNodes < 0) Fail($"{k}.measurementNodes", "must be 0 (whole path) or more");
            for (var t = 0; t < o.Templates.Count; t++)
            {
                try { GraphiteTemplate.Parse(o.Templates[t]); }
                catch (FormatException e) { Fail($"{k}.templates[{t}]", e.Message); }
            }
            if (o.TimeoutSeconds <= 0) Fail($"{k}.timeoutSeconds", "must be more than 0");
        }
        return problems;
    }
}

/// <summary>Validates storage options with the same parsers the store uses, so config check and the store agree.</summary>
public static class StorageConfig
{
    public static IReadOnlyList<ConfigProblem> Validate(StorageOptions options, string prefix = "storage")
    {
        var problems = new List<ConfigProblem>();
        if (string.IsNullOrWhiteSpace(options.DataDir)) problems.Add(new($"{prefix}.dataDir", "must not be empty"));
        if (options.CompactionIntervalSeconds < 0) problems.Add(new($"{prefix}.compactionIntervalSeconds", "must be 0 (off) or more"));
        if (options.Render.MaxTargets < 1) problems.Add(new($"{prefix}.render.maxTargets", "must be at least 1"));
        if (options.Render.MaxPoints < 1) problems.Add(new($"{prefix}.render.maxPoints", "must be at least 1"));
        if (options.Render.MaxPointsRead < 1) problems.Add(new($"{prefix}.render.maxPointsRead", "must be at least 1"));
        if (options.Render.MaxConcurrent < 1) problems.Add(new($"{prefix}.render.maxConcurrent", "must be at least 1"));
        if (options.Render.MaxDepth is < 1 or > Graphite.TargetParser.MaxDepthCeiling)
            problems.Add(new($"{prefix}.render.maxDepth", $"must be between 1 and {Graphite.TargetParser.MaxDepthCeiling}"));
        if (options.Render.MaxPointsProduced < 1) problems.Add(new($"{prefix}.render.maxPointsProduced", "must be at least 1"));
        if (options.Render.MaxImageWidth < 1) problems.Add(new($"{prefix}.render.maxImageWidth", "must be at least 1"));
        if (options.Render.MaxImageHeight < 1) problems.Add(new($"{prefix}.render.maxImageHeight", "must be at least 1"));
        if (options.Render.TimeoutSeconds < 1) problems.Add(new($"{prefix}.render.timeoutSeconds", "must be at least 1"));
        if (options.MaxSeries < 1) problems.Add(new($"{prefix}.maxSeries", "must be at least 1"));
        if (options.MaxFindResults < 1) problems.Add(new($"{prefix}.maxFindResults", "must be at least 1"));
        for (var i = 0; i < options.Schemas.Count; i++)
        {
            var r = options.Schemas[i];
            CheckRegex($"{prefix}.schemas[{i}].pattern", r.Pattern, problems);
            try { Tsdb.Schema.Parse(r.Name, r.Retentions); }
            catch (FormatException e) { problems.Add(new($"{prefix}.schemas[{i}].retentions", e.Message)); }
        }
        for (var i = 0; i < options.Aggregation.Count; i++)
        {
            var r = options.Aggregation[i];
            CheckRegex($"{prefix}.aggregation[{i}].pattern", r.Pattern, problems);
            if (r.XFilesFactor is < 0 or > 1) problems.Add(new($"{prefix}.aggregation[{i}].xFilesFactor", "must be between 0 and 1"));
            try { Tsdb.Aggregation.ParseMethod(r.AggregationMethod); }
            catch (FormatException e) { problems.Add(new($"{prefix}.aggregation[{i}].aggregationMethod", e.Message + " (average, sum, min, max, last)")); }
        }
        return problems;
    }

    private static void CheckRegex(string key, string pattern, List<ConfigProblem> problems)
    {
        try { _ = new System.Text.RegularExpressions.Regex(pattern); }
        catch (ArgumentException e) { problems.Add(new(key, $"invalid regular expression: {e.Message}")); }
    }
}

/// <summary>What /stats shows of the embedded store.</summary>
/// <param name="SeriesDroppedByLimit">points not stored because their series would be beyond <c>storage.maxSeries</c></param>
/// <param name="LimitHits">requests refused per bound (its configuration key), see <see cref="StorageLimitHits"/></param>
public sealed record StorageStats(string DatabasePath, int Series, int HeadPoints, long LastPersistedBatchTimestamp, long CorruptChunks, long CorruptHeadRows,
    long PointsBeyondRetention = 0,
    long SeriesDroppedByLimit = 0, IReadOnlyDictionary<string, long>? LimitHits = null);

/// <summary>The host's entry points into storage: the embedded store, the events store and the Graphite API.</summary>
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
        services.AddSingleton(sp =>
        {
            var store = TimeSeriesStore.Open(options, sp.GetService<TimeProvider>(), Logger(sp, "Observe.Storage.Tsdb"));
            store.Pressure = sp.GetService<IMemoryPressure>();
            return store;
        });
        services.AddSingleton<IMemoryRelief>(sp => sp.GetRequiredService<TimeSeriesStore>());
        services.AddSingleton<ISeriesReader>(sp => sp.GetRequiredService<TimeSeriesStore>());
        if (embeddedSink) services.AddSingleton<IMetricSink>(sp => sp.GetRequiredService<TimeSeriesStore>());
        services.AddSingleton(sp => GraphiteEventStore.Open(options.DataDir, Logger(sp, "Observe.Storage.Events")));
        services.AddSingleton(sp => new GraphiteSeriesQuery(sp.GetRequiredService<ISeriesReader>(), sp.GetRequiredService<GraphiteEventStore>(), options.Render));
        services.AddSingleton<ISeriesQuery>(sp => sp.GetRequiredService<GraphiteSeriesQuery>());
        services.AddSingleton<ISeriesGraphs>(sp => sp.GetRequiredService<GraphiteSeriesQuery>());
        services.AddSingleton<StorageLimitHits>();
        services.AddSingleton<Func<StorageStats>>(sp =>
        {
            var store = sp.GetRequiredService<TimeSeriesStore>();
            var hits = sp.GetRequiredService<StorageLimitHits>();
            return () => new StorageStats(store.DatabasePath, store.SeriesCount, store.HeadPointCount,
                store.LastPersistedBatchTimestamp, store.CorruptChunks, store.CorruptHeadRows, store.PointsBeyondRetention, store.SeriesDroppedByLimit, hits.Snapshot());
        });
        return services;
    }

    internal static ILogger Logger(IServiceProvider sp, string category) =>
        sp.GetService<ILoggerFactory>()?.CreateLogger(category) ?? NullLogger.Instance;

    /// <summary>The store's stats, each once: the host generates /metrics, the <c>observe.*</c> series and /stats <c>metrics</c> from it.</summary>
    public static readonly IReadOnlyList<StatDescriptor<StorageStats>> StorageStatList =
    [
        Stat.Gauge<StorageStats>("observe_storage_series", "storage.series", "Series in the embedded store", s => s.Series),
        Stat.Gauge<StorageStats>("observe_storage_head_points", "storage.head_points", "Points in the store's head (not yet in chunks)", s => s.HeadPoints),
        Stat.Counter<StorageStats>("observe_storage_series_dropped_total", "storage.series_dropped", "Points not stored because their series would exceed storage.maxSeries", s => s.SeriesDroppedByLimit),
        Stat.Counter<StorageStats>("observe_tsdb_points_beyond_retention_total", "storage.points_beyond_retention", "Points older than every archive of their series' schema, dropped at write", s => s.PointsBeyondRetention),
        new("observe_tsdb_corrupt_chunks_total", "storage.corrupt_chunks", StatKind.CounterShownAsTotal, "TSDB chunks whose checksum did not verify (never served)", null,
            s => [new(null, s.CorruptChunks)]),
        new("observe_tsdb_corrupt_head_rows_total", "storage.corrupt_head_rows", StatKind.CounterShownAsTotal,
            "TSDB head (write-ahead) rows whose checksum did not verify at open (their points are lost)", null, s => [new(null, s.CorruptHeadRows)]),
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

    /// <summary>DogStatsD events → Graphite events (annotations), for the host to route <c>_e</c> events to.</summary>
    public static IStatsdEventSink StatsdEventsToGraphite(IServiceProvider services) =>
        new StatsdEventsToGraphite(services.GetRequiredService<GraphiteEventStore>());

    /// <summary>Maps the Graphite-compatible HTTP API (render, metrics, events, tags, functions, version) and the whisper import (<c>POST /api/import/whisper</c>).</summary>
    public static IEndpointRouteBuilder MapObserveStorage(this IEndpointRouteBuilder app)
    {
        var sp = app.ServiceProvider;
        Import.WhisperImportApi.Map(app, sp.GetRequiredService<TimeSeriesStore>(), sp.GetRequiredService<StorageLimitHits>());
        return app.MapGraphiteApi(sp.GetRequiredService<ISeriesReader>(), sp.GetRequiredService<GraphiteEventStore>(),
            sp.GetRequiredService<StorageOptions>().Render, sp.GetService<StorageLimitHits>(), sp.GetRequiredService<StorageOptions>().MaxFindResults);
    }
}

/// <summary>What /stats and the self-metrics (<c>observe.spool.&lt;sink&gt;.*</c>) show of one sink's disk spool.</summary>
public sealed record SpoolStats(string Sink, long Records, long Bytes, double OldestAgeSeconds, long Appended, long Delivered,
    long Retries, long Rejected, long DroppedOldest, string? LastError, long CorruptSkipped = 0);

/// <summary>Registered once per spooled sink so the host can report spool depth and age.</summary>
public interface ISpoolStatsSource
{
    SpoolStats Stats { get; }
}
