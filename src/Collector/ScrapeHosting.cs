using Microsoft.Extensions.DependencyInjection;
using Observe.Collector.Pipeline;
using Observe.Collector.Scrape;

namespace Observe.Collector;

/// <summary>The host's entry points into scraping (<c>scrape:</c>): /stats JSON, Prometheus exposition, nginx stub_status.</summary>
public static class ScrapeHosting
{
    /// <summary>Registers the scrape scheduler. Call after <see cref="CollectorHosting.AddObserveCollector"/>: each scrape's
    /// batch goes through its metric sinks.</summary>
    public static IServiceCollection AddObserveScrape(this IServiceCollection services, ScrapeOptions options)
    {
        services.AddSingleton(sp =>
        {
            var fanout = sp.GetRequiredService<CollectorService>().Fanout;
            return new ScrapeService(options, b => fanout.Publish(b),
                sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>(), sp.GetService<TimeProvider>() ?? TimeProvider.System);
        });
        services.AddHostedService(sp => sp.GetRequiredService<ScrapeService>());
        services.AddSingleton<Func<ScrapeStats>>(sp => sp.GetRequiredService<ScrapeService>().Snapshot);
        return services;
    }

    /// <summary>Every problem with the <c>scrape:</c> section.</summary>
    public static IEnumerable<Observe.Common.ConfigProblem> Validate(ScrapeOptions options) => options.Validate();
}
