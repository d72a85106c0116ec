using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Observe.Collector.Logs;
using Observe.Collector.Pipeline;

namespace Observe.Collector;

/// <summary>The host's entry points into log ingest: UDP JSON, GELF (UDP and TCP) and <c>POST /api/logs</c>.</summary>
public static class LogsHosting
{
    /// <summary>
    /// Registers the log listeners and fan-out; every registered <see cref="ILogSink"/> gets every batch. Call after
    /// <see cref="CollectorHosting.AddObserveCollector"/>: the counts per service and level go through its metric sinks
    /// on its flush interval, and this stops (flushing its logs and counts) before the collector does.
    /// </summary>
    public static IServiceCollection AddObserveLogs(this IServiceCollection services, LogsOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(sp =>
        {
            var collector = sp.GetService<CollectorService>();
            var statsd = sp.GetService<CollectorOptions>()?.Statsd;
            // Rules feed the StatsD aggregator, so their counters and timers are flushed with (and exactly like) StatsD's.
            var rules = collector != null && options.Metrics.Rules.Count > 0
                ? new LogMetricRules(options.Metrics, collector.Aggregator, statsd?.KeyNameSanitize ?? true) : null;
            return new LogIngestService(options, sp.GetServices<ILogSink>(), collector?.Fanout, statsd?.FlushInterval ?? 10_000,
                sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>(), sp.GetService<TimeProvider>() ?? TimeProvider.System, rules);
        });
        services.AddHostedService(sp => sp.GetRequiredService<LogIngestService>());
        services.AddSingleton<Func<LogIngestStats>>(sp => sp.GetRequiredService<LogIngestService>().Snapshot);
        return services;
    }

    /// <summary>Maps <c>POST /api/logs</c> (scope <c>ingest</c>) when HTTP ingest is enabled.</summary>
    public static IEndpointRouteBuilder MapLogsIngestApi(this IEndpointRouteBuilder app)
    {
        // The service is not built here: it builds the collector (and what its events reach), a stage started after HTTP listens.
        var sp = app.ServiceProvider;
        var options = sp.GetRequiredService<LogsOptions>();
        if (options.Enabled && options.Http.Enabled) LogsHttpApi.Map(app, () => sp.GetRequiredService<LogIngestService>().Pipeline);
        return app;
    }
}
