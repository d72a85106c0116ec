using Microsoft.Extensions.DependencyInjection;
using Observe.Collector.Beacons;
using Observe.Collector.Pipeline;

namespace Observe.Collector;

/// <summary>The host's entry point for page-load beacons (<c>collector.beacons</c>).</summary>
public static class BeaconsHosting
{
    /// <summary>Registers the beacon listener; call after <see cref="CollectorHosting.AddObserveCollector"/> (its timers flush with StatsD's).</summary>
    public static IServiceCollection AddObserveBeacons(this IServiceCollection services, BeaconOptions options)
    {
        if (!options.Enabled) return services;
        services.AddSingleton(sp => new BeaconService(options, sp.GetRequiredService<CollectorService>().Aggregator,
            sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>()));
        services.AddHostedService(sp => sp.GetRequiredService<BeaconService>());
        services.AddSingleton<Func<BeaconStats>>(sp => sp.GetRequiredService<BeaconService>().Stats);
        return services;
    }
}
