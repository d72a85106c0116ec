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

/// <summary>What /stats shows of the embedded store.</summary>
public sealed record StorageStats(string DatabasePath, int Series, int HeadPoints, long LastPersistedBatchTimestamp, long CorruptChunks, long CorruptHeadRows);

/// <summary>The host's entry points into storage: the embedded store, the events store and the Graphite API.</summary>
public static class StorageHosting
{
    /// <summary>
    /// Registers the embedded time-series store (as <see cref="ISeriesReader"/>, and as an
    /// <see cref="IMetricSink"/> when <paramref name="embeddedSink"/>) and the Graphite events store.
    /// </summary>
    public static IServiceCollection AddObserveStorage(this IServiceCollection services, StorageOptions options, bool embeddedSink)
    {
        services.AddSingleton(options);
        services.AddSingleton(sp => TimeSeriesStore.Open(options, sp.GetService<TimeProvider>()));
        services.AddSingleton<ISeriesReader>(sp => sp.GetRequiredService<TimeSeriesStore>());
        if (embeddedSink) services.AddSingleton<IMetricSink>(sp => sp.GetRequiredService<TimeSeriesStore>());
        services.AddSingleton(_ => GraphiteEventStore.Open(options));
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
        return app.MapGraphiteApi(sp.GetRequiredService<ISeriesReader>(), sp.GetRequiredService<GraphiteEventStore>());
    }
}
