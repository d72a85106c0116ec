using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Observe.Collector;
using Observe.Storage.Graphite;
using Observe.Storage.Sinks;
using Observe.Storage.Tsdb;

namespace Observe.Storage;

/// <summary>Factories the host uses to build sinks from configuration; the sink types stay internal.</summary>
public static class MetricSinks
{
    public static IMetricSink Carbon(string host, int port) => new CarbonPlaintextSink(host, port);
    public static IMetricSink Console(TextWriter? output = null) => new ConsoleMetricSink(output);
}

/// <summary>One problem in the <c>storage:</c> configuration, with its key path below <c>storage</c>.</summary>
public sealed record StorageConfigProblem(string KeyPath, string Message);

/// <summary>Validates storage options with the same parsers the store uses, so config check and the store agree.</summary>
public static class StorageConfig
{
    public static IReadOnlyList<StorageConfigProblem> Validate(StorageOptions options, string prefix = "storage")
    {
        var problems = new List<StorageConfigProblem>();
        if (string.IsNullOrWhiteSpace(options.DataDir)) problems.Add(new($"{prefix}.dataDir", "must not be empty"));
        if (options.CompactionIntervalSeconds < 0) problems.Add(new($"{prefix}.compactionIntervalSeconds", "must be 0 (off) or more"));
        if (options.Render.MaxTargets < 1) problems.Add(new($"{prefix}.render.maxTargets", "must be at least 1"));
        if (options.Render.MaxPoints < 1) problems.Add(new($"{prefix}.render.maxPoints", "must be at least 1"));
        if (options.Render.MaxConcurrent < 1) problems.Add(new($"{prefix}.render.maxConcurrent", "must be at least 1"));
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

    private static void CheckRegex(string key, string pattern, List<StorageConfigProblem> problems)
    {
        try { _ = new System.Text.RegularExpressions.Regex(pattern); }
        catch (ArgumentException e) { problems.Add(new(key, $"invalid regular expression: {e.Message}")); }
    }
}

/// <summary>What /stats shows of the embedded store.</summary>
public sealed record StorageStats(string DatabasePath, int Series, int HeadPoints, long LastPersistedBatchTimestamp, long CorruptChunks, long CorruptHeadRows);

/// <summary>The host's entry points into storage: the embedded store, the events store and the Graphite API.</summary>
public static class StorageHosting
{
    /// <summary>
    /// Registers the embedded time-series store (as <see cref="ISeriesReader"/>, and as an
    /// <see cref="IMetricSink"/> when <paramref name="embeddedSink"/>), the Graphite events store and
    /// <see cref="ISeriesQuery"/> (targets with functions, as /render evaluates them).
    /// </summary>
    public static IServiceCollection AddObserveStorage(this IServiceCollection services, StorageOptions options, bool embeddedSink)
    {
        services.AddSingleton(options);
        services.AddSingleton(sp => TimeSeriesStore.Open(options, sp.GetService<TimeProvider>()));
        services.AddSingleton<ISeriesReader>(sp => sp.GetRequiredService<TimeSeriesStore>());
        if (embeddedSink) services.AddSingleton<IMetricSink>(sp => sp.GetRequiredService<TimeSeriesStore>());
        services.AddSingleton(_ => GraphiteEventStore.Open(options));
        services.AddSingleton<ISeriesQuery>(sp => new GraphiteSeriesQuery(sp.GetRequiredService<ISeriesReader>(), sp.GetRequiredService<GraphiteEventStore>()));
        services.AddSingleton<Func<StorageStats>>(sp =>
        {
            var store = sp.GetRequiredService<TimeSeriesStore>();
            return () => new StorageStats(store.DatabasePath, store.SeriesCount, store.HeadPointCount,
                store.LastPersistedBatchTimestamp, store.CorruptChunks, store.CorruptHeadRows);
        });
        return services;
    }

    /// <summary>DogStatsD events → Graphite events (annotations), for the host to route <c>_e</c> events to.</summary>
    public static IStatsdEventSink StatsdEventsToGraphite(IServiceProvider services) =>
        new StatsdEventsToGraphite(services.GetRequiredService<GraphiteEventStore>());

    /// <summary>Maps the Graphite-compatible HTTP API (render, metrics, events, tags, functions, version).</summary>
    public static IEndpointRouteBuilder MapObserveStorage(this IEndpointRouteBuilder app)
    {
        var sp = app.ServiceProvider;
        return app.MapGraphiteApi(sp.GetRequiredService<ISeriesReader>(), sp.GetRequiredService<GraphiteEventStore>(),
            sp.GetRequiredService<StorageOptions>().Render);
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
