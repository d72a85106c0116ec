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
        services.AddSingleton(sp => new ScrapeService(options, sp.GetRequiredService<CollectorService>().Fanout.Publish,
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>(), sp.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddHostedService(sp => sp.GetRequiredService<ScrapeService>());
        services.AddSingleton<Func<ScrapeStats>>(sp => sp.GetRequiredService<ScrapeService>().Snapshot);
        return services;
    }

    /// <summary>Every problem with the <c>scrape:</c> section.</summary>
    public static IEnumerable<Observe.Common.ConfigProblem> Validate(ScrapeOptions options) => options.Validate();

    /// <summary>Exports the scrape counters on the Prometheus registry (read at scrape time).</summary>
    public static void ExportScrapeMetrics(this IServiceProvider services, Prometheus.CollectorRegistry? registry = null)
    {
        registry ??= Prometheus.Metrics.DefaultRegistry;
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        var snapshot = services.GetRequiredService<Func<ScrapeStats>>();
        var scrapes = f.CreateGauge("observe_scrapes_total", "Scrapes of scrape.targets since start");
        var failures = f.CreateGauge("observe_scrape_failures_total", "Scrapes that failed, by reason (timeout, connect, status, body_size, json_depth, parse)", "reason");
        var limits = f.CreateGauge("observe_scrape_limit_hits_total", "Scraped series dropped by a bound (series: maxSeriesPerScrape, name_length: maxNameLength), non-finite values and unreadable exposition lines skipped", "limit");
        var lag = f.CreateGauge("observe_scrape_schedule_lag_seconds", "How late scrapes started against their schedule over the last 8192 (p50, p99, max)", "quantile");
        registry.AddBeforeCollectCallback(() =>
        {
            var s = snapshot();
            scrapes.Set(s.Scrapes);
            foreach (var (reason, n) in s.Failures) failures.WithLabels(reason).Set(n);
            limits.WithLabels("series").Set(s.SeriesDropped);
            limits.WithLabels("name_length").Set(s.NamesTooLong);
            limits.WithLabels("non_finite").Set(s.NonFiniteSkipped);
            limits.WithLabels("bad_line").Set(s.BadLines);
            lag.WithLabels("0.5").Set(s.LagP50Ms / 1000);
            lag.WithLabels("0.99").Set(s.LagP99Ms / 1000);
            lag.WithLabels("1").Set(s.LagMaxMs / 1000);
        });
    }
}
