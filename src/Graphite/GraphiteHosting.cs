using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector;
using Observe.Storage.Graphite;

namespace Observe.Storage;

/// <summary>The Graphite project's entry points for the storage wiring (<c>StorageHosting</c>); the engine stays internal.</summary>
public static class GraphiteHosting
{
    /// <summary>Deepest <c>storage.render.maxDepth</c> the target parser accepts.</summary>
    public const int MaxDepthCeiling = TargetParser.MaxDepthCeiling;

    /// <summary>
    /// Registers the events store (<c>events.db</c> under <paramref name="options"/>' data dir, also as <see cref="IGraphiteEvents"/>)
    /// and <see cref="ISeriesQuery"/> + <see cref="ISeriesGraphs"/> over the registered <see cref="ISeriesReader"/>.
    /// </summary>
    public static IServiceCollection AddObserveGraphite(this IServiceCollection services, StorageOptions options)
    {
        services.AddSingleton(sp => GraphiteEventStore.Open(options.DataDir,
            sp.GetService<ILoggerFactory>()?.CreateLogger("Observe.Storage.Events") ?? NullLogger.Instance));
        services.AddSingleton<IGraphiteEvents>(sp => sp.GetRequiredService<GraphiteEventStore>());
        services.AddSingleton(sp => new GraphiteSeriesQuery(sp.GetRequiredService<ISeriesReader>(), sp.GetRequiredService<GraphiteEventStore>(), options.Render));
        services.AddSingleton<ISeriesQuery>(sp => sp.GetRequiredService<GraphiteSeriesQuery>());
        services.AddSingleton<ISeriesGraphs>(sp => sp.GetRequiredService<GraphiteSeriesQuery>());
        return services;
    }

    /// <summary>DogStatsD events → Graphite events (annotations), for the host to route <c>_e</c> events to.</summary>
    public static IStatsdEventSink StatsdEventsToGraphite(IServiceProvider services) =>
        new StatsdEventsToGraphite(services.GetRequiredService<GraphiteEventStore>());
}
