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
        var service = app.ServiceProvider.GetRequiredService<LogIngestService>();
        var options = app.ServiceProvider.GetRequiredService<LogIngestService>().Options;
        if (options.Enabled && options.Http.Enabled) LogsHttpApi.Map(app, service.Pipeline);
        return app;
    }

    /// <summary>Exports the log counters on the Prometheus registry (read at scrape time, nothing on the hot path).</summary>
    public static void ExportLogMetrics(this IServiceProvider services, Prometheus.CollectorRegistry? registry = null)
    {
        registry ??= Prometheus.Metrics.DefaultRegistry;
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        var snapshot = services.GetRequiredService<Func<LogIngestStats>>();
        var accepted = f.CreateGauge("observe_logs_accepted_total", "Log events accepted, per source", "source");
        // observe_logs_rejected_total{reason} is exported by the host's one list of limit counters (with its observe.* series).
        var pending = f.CreateGauge("observe_gelf_pending_messages", "Chunked GELF messages waiting for their other chunks");
        var sinks = new SinkStatsGauges(f, "log_sink", "events", "Log events written per log sink", "log sink");
        var tcp = new Listeners.TcpListenerGauges(f);
        registry.AddBeforeCollectCallback(() =>
        {
            var s = snapshot();
            foreach (var (source, n) in s.AcceptedBySource) accepted.WithLabels(source).Set(n);
            pending.Set(s.PendingGelfMessages);
            sinks.Set(s.Sinks);
            if (s.GelfTcp is { } gelf) tcp.Set([gelf]);
        });
    }
}
