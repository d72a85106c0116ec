using Observe.Common;

namespace Observe.Collector;

/// <summary>
/// The collector's and the log ingest's stats, each once: the host generates their /metrics families, their
/// <c>observe.*</c> series and /stats <c>metrics</c> from these lists (src/Observe/StatsExport.cs).
/// </summary>
public static class CollectorStatList
{
    public static readonly IReadOnlyList<StatDescriptor<CollectorStats>> Collector =
    [
        Stat.Counter<CollectorStats>("observe_statsd_packets_received_total", "statsd.packets_received", "StatsD packets received since start", s => s.Statsd.PacketsReceived),
        Stat.Counter<CollectorStats>("observe_statsd_metrics_received_total", "statsd.lines_received", "StatsD lines received since start", s => s.Statsd.MetricsReceived),
        Stat.Counter<CollectorStats>("observe_statsd_bad_lines_total", "statsd.bad_lines", "StatsD lines rejected as bad since start", s => s.Statsd.BadLinesSeen),
        Stat.Counter<CollectorStats>("observe_statsd_keys_dropped_total", "statsd.keys_dropped", "StatsD samples dropped by the active-key limit", s => s.Statsd.KeysDroppedByLimit),
        Stat.Counter<CollectorStats>("observe_statsd_kernel_udp_drops", "statsd.udp_kernel_drops", "Datagrams the kernel dropped on the StatsD port (/proc/net/udp)", s => s.Statsd.KernelUdpDrops),
        Stat.Counter<CollectorStats>("observe_statsd_events_refused_total", "statsd.events_refused",
            "DogStatsD events and service checks refused (collector.statsd.events: listener not opted in, or sender not in sources)", s => s.Statsd.EventsRefused),
        Stat.Gauge<CollectorStats>("observe_statsd_active_keys", "statsd.active_keys", "Active StatsD keys", s => s.Statsd.ActiveKeys),
        Stat.Counter<CollectorStats>("observe_graphite_lines_received_total", "graphite.lines_received", "Graphite plaintext lines received", s => s.Graphite.LinesReceived),
        Stat.Counter<CollectorStats>("observe_graphite_bad_lines_total", "graphite.bad_lines", "Graphite plaintext lines rejected", s => s.Graphite.BadLines),
        Stat.Labelled<CollectorStats>(StatKind.Counter, "observe_tag_limit_drops_total", "{protocol}.tag_limit_drops", "Metrics dropped for too many or too long tags", "protocol",
            s => [("statsd", s.Statsd.TagLimitDrops), ("graphite", s.Graphite.TagLimitDrops)]),
        new("observe_pickle_points_received_total", "graphite.pickle_points_received", StatKind.Counter, "Points taken by carbon's pickle receiver", null,
            s => s.Pickle is { } p ? [new(null, p.PointsReceived)] : []),
        new("observe_pickle_bad_points_total", "graphite.pickle_bad_points", StatKind.Counter, "Pickle points skipped (not (path, (timestamp, value)), or a bad path or value)", null,
            s => s.Pickle is { } p ? [new(null, p.BadPoints)] : []),
        Stat.Labelled<CollectorStats>(StatKind.Counter, "observe_pickle_frames_rejected_total", "graphite.pickle_frames_rejected",
            "Pickle frames that closed their connection, by reason (refused = forbidden opcode)", "reason", s => Stat.Pairs(s.Pickle?.FramesRejected)),
        // The flush in progress is not measured yet: these are the previous flush's.
        Stat.Gauge<CollectorStats>("observe_flush_duration_seconds", "flush.duration_seconds", "Duration of the last flush", s => s.Flush.LastDurationSeconds),
        Stat.Gauge<CollectorStats>("observe_flush_points", "flush.points", "Points written by the last flush", s => s.Flush.LastPoints),
        Stat.Counter<CollectorStats>("observe_flushes_total", "flushes", "Flushes since start", s => s.Flush.Count),
        Stat.Labelled<CollectorStats>(StatKind.Gauge, "observe_flush_phase_seconds", "flush.phase_seconds.{phase}",
            "The last flush every sink wrote, by phase: snapshot (the maps under their locks), build (the points), sources (observe.* points), publish (onto the sinks' queues), delivered (its start to the last sink's write done)",
            "phase", s => s.Flush.LastPhases is { } p
                ? [("snapshot", p.SnapshotSeconds), ("build", p.BuildSeconds), ("sources", p.SourcesSeconds), ("publish", p.PublishSeconds), ("delivered", p.DeliveredSeconds)]
                : []),
        new("observe_flush_full_collections", "flush.full_collections", StatKind.Gauge,
            "Full (generation-2) garbage collections during the last flush every sink wrote (its start to the last sink's write done)", null,
            s => s.Flush.LastPhases is { } p ? [new(null, p.Gen2Collections)] : []),
        .. Sinks<CollectorStats>("sink", "sinks", "points", "Points written per sink", "sink", s => s.Sinks),
        .. TcpListeners<CollectorStats>(s => s.TcpListeners ?? []),
    ];

    /// <summary>The scrapes of <c>scrape.targets</c> (each target's own health is its <c>up</c>/<c>scrape_duration</c> series).</summary>
    public static readonly IReadOnlyList<StatDescriptor<ScrapeStats>> Scrape =
    [
        Stat.Gauge<ScrapeStats>("observe_scrape_targets", "scrape.targets", "Targets in scrape.targets", s => s.Targets),
        Stat.Counter<ScrapeStats>("observe_scrapes_total", "scrape.scrapes", "Scrapes of scrape.targets since start", s => s.Scrapes),
        Stat.Labelled<ScrapeStats>(StatKind.Counter, "observe_scrape_failures_total", "scrape.failures.{reason}",
            "Scrapes that failed, by reason (timeout, connect, status, body_size, json_depth, parse)", "reason", s => Stat.Pairs(s.Failures)),
        Stat.Labelled<ScrapeStats>(StatKind.Counter, "observe_scrape_limit_hits_total", "scrape.limit_hits.{limit}",
            "Scraped series dropped by a bound (series: maxSeriesPerScrape, name_length: maxNameLength), non-finite values and unreadable exposition lines skipped", "limit",
            s => [("series", s.SeriesDropped), ("name_length", s.NamesTooLong), ("non_finite", s.NonFiniteSkipped), ("bad_line", s.BadLines)]),
        Stat.Labelled<ScrapeStats>(StatKind.Gauge, "observe_scrape_schedule_lag_seconds", "scrape.schedule_lag_seconds.{quantile}",
            "How late scrapes started against their schedule over the last 8192 (p50, p99, max)", "quantile",
            s => [("0.5", s.LagP50Ms / 1000), ("0.99", s.LagP99Ms / 1000), ("1", s.LagMaxMs / 1000)]),
    ];

    /// <summary>Page-load beacons (<c>collector.beacons</c>).</summary>
    public static readonly IReadOnlyList<StatDescriptor<BeaconStats>> Beacons =
    [
        Stat.Counter<BeaconStats>("observe_beacons_accepted_total", "beacons.accepted", "Page-load beacons taken (collector.beacons)", s => s.Accepted),
        Stat.Labelled<BeaconStats>(StatKind.Counter, "observe_beacons_dropped_total", "beacons.dropped.{reason}",
            "Page-load beacons refused or dropped, per reason (collector.beacons)", "reason", s => Stat.Pairs(s.Dropped)),
    ];

    public static readonly IReadOnlyList<StatDescriptor<LogIngestStats>> Logs =
    [
        Stat.Labelled<LogIngestStats>(StatKind.Counter, "observe_logs_accepted_total", "logs.accepted.{source}", "Log events accepted, per source", "source",
            s => Stat.Pairs(s.AcceptedBySource)),
        Stat.Labelled<LogIngestStats>(StatKind.Counter, "observe_logs_rejected_total", "logs.rejected.{reason}", "Log inputs rejected, per reason", "reason",
            s => Stat.Pairs(s.Rejected)),
        Stat.Labelled<LogIngestStats>(StatKind.Counter, "observe_log_rule_drops_total", "logs.rule_drops.{reason}",
            "Log events a logs.metrics rule matched but made no point for, per reason", "reason", s => Stat.Pairs(s.RuleDrops)),
        Stat.Gauge<LogIngestStats>("observe_gelf_pending_messages", "logs.gelf_pending_messages", "Chunked GELF messages waiting for their other chunks", s => s.PendingGelfMessages),
        .. Sinks<LogIngestStats>("log_sink", "log_sinks", "events", "Log events written per log sink", "log sink", s => s.Sinks),
        .. TcpListeners<LogIngestStats>(s => s.GelfTcp is { } g ? [g] : []),
    ];

    /// <summary>The per-sink stats (written, failures, dropped, queued, the last batch's queue wait and write) that metric and log sinks both have.</summary>
    private static StatDescriptor<T>[] Sinks<T>(string prefix, string series, string written, string writtenHelp, string what, Func<T, IEnumerable<SinkStats>> sinks) =>
    [
        Stat.Labelled(StatKind.Counter, $"observe_{prefix}_{written}_written_total", series + ".{sink}." + written + "_written", writtenHelp, "sink",
            (T s) => sinks(s).Select(x => (x.Name, (double)x.PointsWritten))),
        Stat.Labelled(StatKind.Counter, $"observe_{prefix}_write_failures_total", series + ".{sink}.write_failures", $"Failed writes per {what}", "sink",
            (T s) => sinks(s).Select(x => (x.Name, (double)x.WriteFailures))),
        Stat.Labelled(StatKind.Counter, $"observe_{prefix}_batches_dropped_total", series + ".{sink}.batches_dropped", $"Batches dropped per {what} (queue full)", "sink",
            (T s) => sinks(s).Select(x => (x.Name, (double)x.BatchesDropped))),
        Stat.Labelled(StatKind.Gauge, $"observe_{prefix}_batches_queued", series + ".{sink}.batches_queued", $"Batches waiting per {what}", "sink",
            (T s) => sinks(s).Select(x => (x.Name, (double)x.BatchesQueued))),
        Stat.Labelled(StatKind.Gauge, $"observe_{prefix}_queue_wait_seconds", series + ".{sink}.queue_wait_seconds", $"How long the last batch written waited in its queue, per {what}", "sink",
            (T s) => sinks(s).Select(x => (x.Name, x.LastQueueWaitSeconds))),
        Stat.Labelled(StatKind.Gauge, $"observe_{prefix}_write_seconds", series + ".{sink}.write_seconds", $"How long writing the last batch took (retries included), per {what}", "sink",
            (T s) => sinks(s).Select(x => (x.Name, x.LastWriteSeconds))),
    ];

    /// <summary>The TCP listeners' stats (statsd-tcp and graphite in the collector, gelf-tcp in the log ingest).</summary>
    private static StatDescriptor<T>[] TcpListeners<T>(Func<T, IEnumerable<TcpListenerStats>> listeners) =>
    [
        Stat.Labelled(StatKind.Gauge, "observe_tcp_connections_open", "tcp.{listener}.open", "TCP connections open now, per listener", "listener",
            (T s) => listeners(s).Select(l => (l.Name, (double)l.Open))),
        Stat.Labelled(StatKind.Counter, "observe_tcp_connections_accepted_total", "tcp.{listener}.accepted",
            "TCP connections accepted since start (refused ones included), per listener", "listener", (T s) => listeners(s).Select(l => (l.Name, (double)l.Accepted))),
        Stat.Labelled(StatKind.Counter, "observe_tcp_connections_refused_total", "tcp.{listener}.refused",
            "TCP connections reset because the listener's maxConnections were open", "listener", (T s) => listeners(s).Select(l => (l.Name, (double)l.Refused))),
        Stat.Labelled(StatKind.Counter, "observe_tcp_connections_idle_closed_total", "tcp.{listener}.idle_closed",
            "TCP connections closed after sending nothing for the idle timeout", "listener", (T s) => listeners(s).Select(l => (l.Name, (double)l.IdleClosed))),
        Stat.Labelled(StatKind.Counter, "observe_tcp_accept_errors_total", "tcp.{listener}.accept_errors",
            "Failed accepts (e.g. out of file descriptors), per listener", "listener", (T s) => listeners(s).Select(l => (l.Name, (double)l.AcceptErrors))),
    ];
}
