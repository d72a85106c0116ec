using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector;
using Observe.Common;
using Observe.Storage.Tsdb;

namespace Observe.Storage;

/// <summary>What /stats shows of the embedded store.</summary>
/// <param name="SeriesDroppedByLimit">points not stored because their series would be beyond <c>storage.maxSeries</c></param>
/// <param name="LimitHits">requests refused per bound (its configuration key), see <see cref="StorageLimitHits"/></param>
/// <param name="PagesReclaimed">free pages given back to the file system by incremental vacuum since start (after compaction and retention)</param>
/// <param name="HeadCheckpointsIgnored">head checkpoints the open ignored as torn, corrupt or not matching the store (its head rows were replayed instead)</param>
public sealed record StorageStats(string DatabasePath, int Series, int HeadPoints, long LastPersistedBatchTimestamp, long CorruptChunks, long CorruptHeadRows,
    long PointsBeyondRetention = 0,
    long SeriesDroppedByLimit = 0, IReadOnlyDictionary<string, long>? LimitHits = null, long PagesReclaimed = 0,
    long HeadCheckpointsIgnored = 0)
{
    /// <summary>The store is still opening (a restart): the counts are not known yet and read 0.</summary>
    public bool Opening { get; init; }
    /// <summary>The last write (flush) by phase; null before the first.</summary>
    public StorageWritePhases? LastWrite { get; init; }
}

/// <summary>
/// One write of a batch into the embedded store by phase (issue 21: where a slow flush goes): waiting for the store lock,
/// looking each point's series up by name, creating new series in memory (ids, rules), inserting their rows, encoding the
/// head row, inserting it (and the last-batch mark), the commit (fsync), registering the new series for finds and compaction
/// (name trie, lists), then placing the points in the in-memory head;
/// <paramref name="Gen2Collections"/> garbage collections of generation 2 happened during it.
/// </summary>
public sealed record StorageWritePhases(long Points, int SeriesCreated, double LockWaitSeconds, double LookupSeconds, double CreateSeconds,
    double SeriesInsertSeconds, double EncodeSeconds, double HeadInsertSeconds, double CommitSeconds, double RegisterSeconds, double HeadAppendSeconds, double TotalSeconds,
    int Gen2Collections)
{
    /// <summary>The phases as (name, seconds), in order: /stats, /metrics and the slow-flush line use these names.</summary>
    public IEnumerable<(string Phase, double Seconds)> Phases =>
    [
        ("lock_wait", LockWaitSeconds), ("lookup", LookupSeconds), ("create", CreateSeconds), ("series_insert", SeriesInsertSeconds),
        ("encode", EncodeSeconds), ("head_insert", HeadInsertSeconds), ("commit", CommitSeconds), ("register", RegisterSeconds), ("head_append", HeadAppendSeconds),
        ("total", TotalSeconds),
    ];

    /// <summary>In a few words, for the log line of a slow flush.</summary>
    public override string ToString() =>
        string.Join(", ", Phases.Select(p => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{p.Phase} {p.Seconds:F2} s")))
        + $", {SeriesCreated} series created, {Gen2Collections} gen2 GCs";
}

/// <summary>The TSDB project's entry points for the storage wiring (<c>StorageHosting</c>); the store stays internal.</summary>
public static class TsdbHosting
{
    private static readonly TimeSpan StatsWait = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Registers the embedded time-series store as <see cref="ISeriesReader"/> and <see cref="IMemoryRelief"/> (and as an
    /// <see cref="IMetricSink"/> when <paramref name="embeddedSink"/>), and its <see cref="StorageStats"/> (limit hits from the
    /// registered <see cref="StorageLimitHits"/>).
    /// </summary>
    public static IServiceCollection AddObserveTsdb(this IServiceCollection services, StorageOptions options, bool embeddedSink)
    {
        // Opened on its own thread from the first resolution (the host resolves ISeriesReader right after it is built), so
        // the stages start and HTTP listens while it opens; every seam below is the opening store, which waits for it.
        services.AddSingleton(sp =>
        {
            var time = sp.GetService<TimeProvider>();
            var log = sp.GetService<ILoggerFactory>()?.CreateLogger("Observe.Storage.Tsdb") ?? NullLogger.Instance;
            var pressure = sp.GetService<IMemoryPressure>();
            return new StoreOpening(() =>
            {
                var store = TimeSeriesStore.Open(options, time, log);
                store.Pressure = pressure;
                return store;
            }, TimeSpan.FromSeconds(options.Render.TimeoutSeconds));
        });
        services.AddSingleton<IMemoryRelief>(sp => sp.GetRequiredService<StoreOpening>());
        services.AddSingleton<ISeriesReader>(sp => sp.GetRequiredService<StoreOpening>());
        if (embeddedSink) services.AddSingleton<IMetricSink>(sp => sp.GetRequiredService<StoreOpening>());
        services.AddSingleton<Func<StorageStats>>(sp =>
        {
            var opening = sp.GetRequiredService<StoreOpening>();
            var hits = sp.GetRequiredService<StorageLimitHits>();
            var path = Path.GetFullPath(Path.Combine(options.DataDir, "tsdb.db"));
            return () =>
            {
                // /stats, /metrics and the observe.* series must answer while a large store opens (seconds): a moment's
                // wait, then "opening" instead of holding a scrape for storage.render.timeoutSeconds and failing it.
                try { opening.Opened.Wait(StatsWait); }
                catch (AggregateException) { }
                if (!opening.Opened.IsCompletedSuccessfully) return new StorageStats(path, 0, 0, 0, 0, 0, 0, 0, hits.Snapshot()) { Opening = true };
                var store = opening.Store;
                var (series, headPoints) = store.CountsForStats();
                return new StorageStats(store.DatabasePath, series, headPoints,
                    store.LastPersistedBatchTimestamp, store.CorruptChunks, store.CorruptHeadRows, store.PointsBeyondRetention, store.SeriesDroppedByLimit, hits.Snapshot(), store.PagesReclaimed,
                    store.CheckpointIgnored == null ? 0 : 1)
                { LastWrite = store.LastWrite };
            };
        });
        return services;
    }

    /// <summary>Maps the whisper import (<c>POST /api/import/whisper</c>) onto the registered store.</summary>
    public static IEndpointRouteBuilder MapWhisperImport(this IEndpointRouteBuilder app)
    {
        var sp = app.ServiceProvider;
        Import.WhisperImportApi.Map(app, sp.GetRequiredService<StoreOpening>(), sp.GetRequiredService<StorageLimitHits>());
        return app;
    }

    /// <summary>Problems in <c>storage.schemas</c> and <c>storage.aggregation</c>, found with the parsers the store uses.</summary>
    public static IEnumerable<ConfigProblem> ValidateRules(StorageOptions options, string prefix)
    {
        var problems = new List<ConfigProblem>();
        for (var i = 0; i < options.Schemas.Count; i++)
        {
            var r = options.Schemas[i];
            CheckRegex($"{prefix}.schemas[{i}].pattern", r.Pattern, problems);
            try { Schema.Parse(r.Name, r.Retentions); }
            catch (FormatException e) { problems.Add(new($"{prefix}.schemas[{i}].retentions", e.Message)); }
        }
        for (var i = 0; i < options.Aggregation.Count; i++)
        {
            var r = options.Aggregation[i];
            CheckRegex($"{prefix}.aggregation[{i}].pattern", r.Pattern, problems);
            if (r.XFilesFactor is < 0 or > 1) problems.Add(new($"{prefix}.aggregation[{i}].xFilesFactor", "must be between 0 and 1"));
            try { Aggregation.ParseMethod(r.AggregationMethod); }
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
