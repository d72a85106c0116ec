using Observe.Alerting;
using Observe.Checks;
using Observe.Collector;
using Observe.Host;
using Observe.Storage;

namespace Observe.Observe.Tests;

/// <summary>The observe.* self-metrics: counters become per-second rates between flushes, levels are written as they are.</summary>
public class SelfMetricsTests
{
    private sealed class Spool(SpoolStats stats) : ISpoolStatsSource { public SpoolStats Stats { get; set; } = stats; }

    private static CollectorStats Collector(long packets, long bad, long sinkFailures) => new(
        new StatsdIngestStats("127.0.0.1:8125", 1, 0, KernelUdpDrops: 3, packets, MetricsReceived: packets * 2, bad, 0, 0, ActiveKeys: 42, 0, 0),
        new GraphiteIngestStats(null, 0, 0, 0, 0),
        new FlushStats(10_000, 5, 0, LastDurationSeconds: 0.25, LastPoints: 900),
        [new SinkStats("carbon:1", 5, 900, sinkFailures, 0, BatchesQueued: 2, null)]);

    [Fact]
    public void Counters_are_rates_over_the_interval_and_levels_are_values()
    {
        var collector = Collector(packets: 100, bad: 0, sinkFailures: 0);
        var spool = new Spool(new SpoolStats("influx", Records: 7, Bytes: 7000, OldestAgeSeconds: 12.5, 10, 3, 1, 0, 0, null));
        IReadOnlyList<ReceiverStats> receivers = [new("ops", "irc", Sent: 4, Failed: 1, 0, 0), new("oncall", "pagerduty", Sent: 2, Failed: 0, 0, 1)];
        var self = Self(() => collector, () => new StorageStats("x.db", Series: 1234, 10, 0, 0, 0), () => [spool.Stats],
            () => receivers, () => null, () => new CheckRunStats(20, StateStoreFailures: 5, AvailabilityRefused: 1));

        var first = Points(self, 1000);
        Assert.Equal(10, first["observe.statsd.packets_received_per_second"]);   // 100 since start over the 10 s interval
        Assert.Equal(0.3, first["observe.statsd.udp_kernel_drops_per_second"]);
        Assert.Equal(42, first["observe.statsd.active_keys"]);
        Assert.Equal(0.25, first["observe.flush.duration_seconds"]);
        Assert.Equal(1234, first["observe.storage.series"]);
        Assert.Equal(2, first["observe.sinks.carbon_1.batches_queued"]);           // the sink name as one Graphite node
        Assert.Equal(7, first["observe.spool.influx.records"]);
        Assert.Equal(12.5, first["observe.spool.influx.oldest_age_seconds"]);
        Assert.Equal(0.6, first["observe.notifications.sent_per_second"], 10);
        Assert.Equal(0.1, first["observe.notifications.failed_per_second"], 10);
        Assert.Equal(1, first["observe.notifications.queued"]);
        Assert.Equal(0.1, first["observe.notifications.by_receiver.ops.irc.failed_per_second"], 10);
        Assert.Equal(2, first["observe.checks.runs_per_second"]);
        Assert.DoesNotContain(first.Keys, k => k.StartsWith("observe.checks.count."));   // Checks off: no series

        // 20 s later: 400 more packets, 10 bad lines, 3 sink failures; nothing else moved.
        collector = Collector(packets: 500, bad: 10, sinkFailures: 3);
        var second = Points(self, 1020);
        Assert.Equal(20, second["observe.statsd.packets_received_per_second"]);
        Assert.Equal(0.5, second["observe.statsd.bad_lines_per_second"]);
        Assert.Equal(0.15, second["observe.sinks.carbon_1.write_failures_per_second"], 10);
        Assert.Equal(0, second["observe.notifications.sent_per_second"]);
        Assert.Equal(0, second["observe.statsd.udp_kernel_drops_per_second"]);
        Assert.Equal(0, second["observe.checks.runs_per_second"]);
    }

    private sealed class States(params CheckStatus[] all) : ICheckStates
    {
        public IReadOnlyList<CheckStatus> Current() => all;
        public CheckStatus? Get(string host, string check) => all.FirstOrDefault(s => s.Host == host && s.Check == check);
    }

    private static CheckStatus Status(string check, CheckState state, DateTimeOffset? lastCheck, double? latency, bool flapping) =>
        new("web1", check, "tcp", state, StateType.Hard, 1, 3, "", null, lastCheck, null, DateTimeOffset.UnixEpoch, null, 0.01, latency, flapping,
            flapping ? 25 : 0, null, [], false, 0, null, new Dictionary<string, string>());

    [Fact]
    public void Checks_are_counted_per_state_with_their_latency()
    {
        var ran = DateTimeOffset.UtcNow;
        var checks = new States(Status("a", CheckState.Ok, ran, 0.5, false), Status("b", CheckState.Warning, ran, 1.5, true),
            Status("c", CheckState.Ok, null, null, false));
        var self = Self(() => null, () => null, () => [], () => null, () => checks.Current(), () => null);
        var points = Points(self, 1000);
        Assert.Equal(1, points["observe.checks.count.ok"]);            // c has not run yet: pending, not OK
        Assert.Equal(1, points["observe.checks.count.warning"]);
        Assert.Equal(0, points["observe.checks.count.critical"]);
        Assert.Equal(1, points["observe.checks.count.pending"]);
        Assert.Equal(1, points["observe.checks.count.flapping"]);
        Assert.Equal(1.0, points["observe.checks.latency_seconds.mean"]);
        Assert.Equal(1.5, points["observe.checks.latency_seconds.upper"]);
        Assert.DoesNotContain(points.Keys, k => k.StartsWith("observe.statsd.") || k.StartsWith("observe.notifications."));
    }

    /// <summary>Issue 15's limit counters come from the stages' lists that also feed /metrics: every entry is an observe.* series.</summary>
    [Fact]
    public void Limit_counters_are_observe_series_from_the_one_list()
    {
        var hits = new Dictionary<string, long> { ["storage.render.maxDepth"] = 4 };
        var rejected = new Dictionary<string, long> { ["invalid_utf8"] = 20 };
        var storage = new StorageStats("x.db", 1, 0, 0, CorruptChunks: 2, CorruptHeadRows: 1, PointsBeyondRetention: 10, SeriesDroppedByLimit: 30, LimitHits: hits);
        var logs = new LogIngestStats(null, null, 0, new Dictionary<string, long>(), rejected, 0, 0, [], RuleDrops: new Dictionary<string, long> { ["series_limit"] = 40 });
        var beacons = new BeaconStats(null, 9, new Dictionary<string, long> { ["bot"] = 60 });
        var self = Self(() => null, () => storage, () => [], () => null, () => null, () => new CheckRunStats(20, StateStoreFailures: 5, AvailabilityRefused: 1),
            () => logs, () => new HostStats(AuthFailures: 50, HttpConnectionsRejected: 7, StoresQuarantined: 1,
                new MemoryGovernor(0, () => 0, () => [], TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)), () => beacons);
        var p = Points(self, 1000);
        Assert.Equal(0.4, p["observe.limit_hits.storage_render_maxDepth_per_second"], 10);
        Assert.Equal(2, p["observe.logs.rejected.invalid_utf8_per_second"], 10);
        Assert.Equal(4, p["observe.logs.rule_drops.series_limit_per_second"], 10);
        Assert.Equal(6, p["observe.beacons.dropped.bot_per_second"], 10);
        Assert.Equal(3, p["observe.storage.series_dropped_per_second"], 10);
        Assert.Equal(1, p["observe.storage.points_beyond_retention_per_second"], 10);
        Assert.Equal(2, p["observe.storage.corrupt_chunks"]);
        Assert.Equal(1, p["observe.storage.corrupt_head_rows"]);
        Assert.Equal(5, p["observe.auth.failures_per_second"], 10);
        Assert.Equal(0.7, p["observe.http.connections_rejected_per_second"], 10);
        Assert.Equal(0.1, p["observe.store.quarantined_per_second"], 10);
        Assert.Equal(0.5, p["observe.checks.state_store_failures_per_second"], 10);
        Assert.Equal(0.1, p["observe.checks.availability_refused_per_second"], 10);
    }

    /// <summary>
    /// The last flush runs while the host disposes its service provider (CI caught a start that failed on a busy port
    /// logging "flush metric source SelfMetrics failed" with an ObjectDisposedException stack): the sources are bound once
    /// after the host is built, and reading them never touches the provider again.
    /// </summary>
    [Fact]
    public void Sources_bound_after_build_are_read_after_the_provider_is_disposed()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<Func<CollectorStats>>(services,
            _ => () => Collector(packets: 100, bad: 0, sinkFailures: 0));
        var provider = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services);
        var sources = new SelfMetricsSources(provider);
        var self = sources.Create(10_000);
        Assert.DoesNotContain("observe.statsd.packets_received_per_second", Points(self, 990).Keys); // not bound yet: absent
        sources.Bind();
        provider.Dispose();
        var p = Points(self, 1000);
        Assert.Equal(10, p["observe.statsd.packets_received_per_second"]);
    }

    private static SelfMetrics Self(Func<CollectorStats?> collector, Func<StorageStats?> storage, Func<IReadOnlyList<SpoolStats>> spools,
        Func<IReadOnlyList<ReceiverStats>?> receivers, Func<IReadOnlyList<CheckStatus>?> checks, Func<CheckRunStats?> checkRuns,
        Func<LogIngestStats?>? logs = null, Func<HostStats>? host = null, Func<BeaconStats?>? beacons = null) =>
        new(() => ObserveStats.Sources(collector, logs ?? (() => null), storage, spools, checkRuns, checks, host ?? (() => new HostStats(0, 0, 0)),
            beacons: beacons, alerting: () => receivers() is { } r ? new AlertingStats(r, null) : null),
            flushIntervalMs: 10_000);

    private static Dictionary<string, double> Points(SelfMetrics self, long timestamp)
    {
        var points = new List<MetricPoint>();
        self.AddPoints(timestamp, points);
        Assert.All(points, p => Assert.Equal(timestamp, p.Timestamp));
        return points.ToDictionary(p => p.Path, p => p.Value);
    }
}
