using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Observe.Collector.Pipeline;

namespace Observe.Collector;

/// <summary>The host's entry points into the collector: register it, and read what it has seen.</summary>
public static class CollectorHosting
{
    /// <summary>Registers listeners, aggregation and flushing; sinks are every registered <see cref="IMetricSink"/>, and every
    /// registered <see cref="IFlushMetricSource"/> adds its points to each StatsD flush.</summary>
    public static IServiceCollection AddObserveCollector(this IServiceCollection services, CollectorOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(sp => new CollectorService(options, sp.GetServices<IMetricSink>(), sp.GetService<IStatsdEventSink>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>(), sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetServices<IFlushMetricSource>(), sp.GetService<IMemoryPressure>()));
        services.AddHostedService(sp => sp.GetRequiredService<CollectorService>());
        services.AddSingleton<Func<CollectorStats>>(sp => sp.GetRequiredService<CollectorService>().Snapshot);
        return services;
    }

    /// <summary>Whether <paramref name="source"/> is a valid <c>collector.statsd.events.sources</c> item (an IP address or a CIDR network).</summary>
    public static bool IsEventSource(string source) => Statsd.StatsdEventPolicy.TryParseSource(source, out _);
}
