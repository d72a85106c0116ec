using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Observe.Collector.Pipeline;
using Prometheus;

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

    /// <summary>Exports the collector's counters on the Prometheus registry (read at scrape time, nothing on the hot path).</summary>
    public static void ExportCollectorMetrics(this IServiceProvider services, CollectorRegistry? registry = null)
    {
        registry ??= Metrics.DefaultRegistry;
        var f = Metrics.WithCustomRegistry(registry);
        var snapshot = services.GetRequiredService<Func<CollectorStats>>();
        var packets = f.CreateGauge("observe_statsd_packets_received_total", "StatsD packets received since start");
        var lines = f.CreateGauge("observe_statsd_metrics_received_total", "StatsD lines received since start");
        var bad = f.CreateGauge("observe_statsd_bad_lines_total", "StatsD lines rejected as bad since start");
        var dropped = f.CreateGauge("observe_statsd_keys_dropped_total", "StatsD samples dropped by the active-key limit");
        var kernel = f.CreateGauge("observe_statsd_kernel_udp_drops", "Datagrams the kernel dropped on the StatsD port (/proc/net/udp)");
        var active = f.CreateGauge("observe_statsd_active_keys", "Active StatsD keys");
        var refused = f.CreateGauge("observe_statsd_events_refused_total", "DogStatsD events and service checks refused (collector.statsd.events: listener not opted in, or sender not in sources)");
        var gLines = f.CreateGauge("observe_graphite_lines_received_total", "Graphite plaintext lines received");
        var gBad = f.CreateGauge("observe_graphite_bad_lines_total", "Graphite plaintext lines rejected");
        var pPoints = f.CreateGauge("observe_pickle_points_received_total", "Points taken by carbon's pickle receiver");
        var pBad = f.CreateGauge("observe_pickle_bad_points_total", "Pickle points skipped (not (path, (timestamp, value)), or a bad path or value)");
        var pRejected = f.CreateGauge("observe_pickle_frames_rejected_total", "Pickle frames that closed their connection, by reason (refused = forbidden opcode)", "reason");
        var tagDrops = f.CreateGauge("observe_tag_limit_drops_total", "Metrics dropped for too many or too long tags", "protocol");
        var flushDur = f.CreateGauge("observe_flush_duration_seconds", "Duration of the last flush");
        var flushes = f.CreateGauge("observe_flushes_total", "Flushes since start");
        var sinks = new SinkStatsGauges(f, "sink", "points", "Points written per sink", "sink");
        var tcp = new Listeners.TcpListenerGauges(f);
        registry.AddBeforeCollectCallback(() =>
        {
            var s = snapshot();
            packets.Set(s.Statsd.PacketsReceived);
            lines.Set(s.Statsd.MetricsReceived);
            bad.Set(s.Statsd.BadLinesSeen);
            dropped.Set(s.Statsd.KeysDroppedByLimit);
            kernel.Set(s.Statsd.KernelUdpDrops);
            active.Set(s.Statsd.ActiveKeys);
            refused.Set(s.Statsd.EventsRefused);
            gLines.Set(s.Graphite.LinesReceived);
            gBad.Set(s.Graphite.BadLines);
            if (s.Pickle is { } p)
            {
                pPoints.Set(p.PointsReceived);
                pBad.Set(p.BadPoints);
                foreach (var (reason, n) in p.FramesRejected) pRejected.WithLabels(reason).Set(n);
            }
            tagDrops.WithLabels("statsd").Set(s.Statsd.TagLimitDrops);
            tagDrops.WithLabels("graphite").Set(s.Graphite.TagLimitDrops);
            flushDur.Set(s.Flush.LastDurationSeconds);
            flushes.Set(s.Flush.Count);
            sinks.Set(s.Sinks);
            tcp.Set(s.TcpListeners ?? []);
        });
    }
}
