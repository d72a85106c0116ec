using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Observe.Collector;
using Observe.Common;
using Observe.Storage.Graphite;

namespace Observe.Storage;

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
        if (options.Render.MaxDepth is < 1 or > GraphiteHosting.MaxDepthCeiling)
            problems.Add(new($"{prefix}.render.maxDepth", $"must be between 1 and {GraphiteHosting.MaxDepthCeiling}"));
        if (options.Render.MaxPointsProduced < 1) problems.Add(new($"{prefix}.render.maxPointsProduced", "must be at least 1"));
        if (options.Render.MaxImageWidth < 1) problems.Add(new($"{prefix}.render.maxImageWidth", "must be at least 1"));
        if (options.Render.MaxImageHeight < 1) problems.Add(new($"{prefix}.render.maxImageHeight", "must be at least 1"));
        if (options.Render.TimeoutSeconds < 1) problems.Add(new($"{prefix}.render.timeoutSeconds", "must be at least 1"));
        if (options.MaxSeries < 1) problems.Add(new($"{prefix}.maxSeries", "must be at least 1"));
        if (options.MaxFindResults < 1) problems.Add(new($"{prefix}.maxFindResults", "must be at least 1"));
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

    /// <summary>Exports the store's size and its bounds' counters on the Prometheus registry (read at scrape time).</summary>
    public static void ExportStorageMetrics(this IServiceProvider services, Prometheus.CollectorRegistry? registry = null)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry ?? Prometheus.Metrics.DefaultRegistry);
        var snapshot = services.GetRequiredService<Func<StorageStats>>();
        var series = f.CreateGauge("observe_storage_series", "Series in the embedded store");
        // The bounds' counters (series dropped, limit hits, corrupt data) are exported by the host's one list of limit
        // counters, with their observe.* series (src/Observe/LimitCounters.cs).
        (registry ?? Prometheus.Metrics.DefaultRegistry).AddBeforeCollectCallback(() =>
        {
            var s = snapshot();
            series.Set(s.Series);
        });
    }

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
