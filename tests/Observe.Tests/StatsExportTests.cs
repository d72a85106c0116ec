using Observe.Alerting;
using Observe.Checks;
using Observe.Collector;
using Observe.Common;
using Observe.Host;
using Observe.Storage;

namespace Observe.Observe.Tests;

/// <summary>
/// Issue 19: each stage keeps one list of its stats, and /metrics, the observe.* series and /stats <c>metrics</c> are all
/// generated from it. Every descriptor of every list must appear in each output, so a new stat cannot be forgotten in one.
/// </summary>
public class StatsExportTests
{
    private sealed class States(params CheckStatus[] all) : ICheckStates
    {
        public IReadOnlyList<CheckStatus> Current() => all;
        public CheckStatus? Get(string host, string check) => null;
    }

    private static readonly TcpListenerStats Tcp = new("graphite", "127.0.0.1:2003", 10, Accepted: 5, Open: 1, Refused: 2, IdleClosed: 3, AcceptErrors: 4);
    private static readonly SinkStats Sink = new("carbon:1", 1, PointsWritten: 900, WriteFailures: 1, BatchesDropped: 2, BatchesQueued: 3, null);

    /// <summary>Every stage present, with one of everything (a sink, a listener, a reason, a limit, a spool, a check).</summary>
    private static IReadOnlyList<StatSource> AllSources()
    {
        var collector = new CollectorStats(
            new StatsdIngestStats("127.0.0.1:8125", 1, 0, KernelUdpDrops: 3, 100, 200, 4, 5, 0, ActiveKeys: 42, 0, TagLimitDrops: 6, EventsRefused: 7),
            new GraphiteIngestStats(null, 10, 1, 0, 2), new FlushStats(10_000, 5, 0, 0.25, 900) { LastPhases = new(10_000, 900, 0.1, 0.2, 0.01, 0.02, 1.5, 1, 0.3) }, [Sink], [Tcp],
            new PickleIngestStats(null, 1, 8, 1, new Dictionary<string, long> { ["refused"] = 1 }));
        var logs = new LogIngestStats(null, null, 9, new Dictionary<string, long> { ["udp"] = 9 }, new Dictionary<string, long> { ["invalid_utf8"] = 2 },
            1, 1, [Sink with { Name = "es" }], Tcp with { Name = "gelf-tcp" },
            RuleDrops: new Dictionary<string, long> { ["series_limit"] = 4 });
        var storage = new StorageStats("x.db", 12, 3, 0, 1, 1, 2, 3, new Dictionary<string, long> { ["storage.render.maxDepth"] = 4 })
        {
            LastWrite = new(900, 2, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.45, 1),
        };
        IReadOnlyList<SpoolStats> spools = [new("influx", 7, 7000, 12.5, 10, 3, 1, 0, 0, null, 1)];
        var ran = DateTimeOffset.UnixEpoch;
        IReadOnlyList<CheckStatus> checks = [new("web1", "a", "tcp", CheckState.Ok, StateType.Hard, 1, 3, "", null, ran, null, ran, null, 0.01, 0.5, true,
            25, null, [], false, 0, null, new Dictionary<string, string>())];
        var memory = new MemoryGovernor(0, () => 0, () => [], TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        return ObserveStats.Sources(() => collector, () => logs, () => storage, () => spools, () => new CheckRunStats(20, 5, 1), () => checks,
            () => new HostStats(50, 7, 1, memory, TlsReloadFailures: 2),
            () => new ScrapeStats(3, 30, new Dictionary<string, long> { ["connect"] = 2 }, 1, 1, 1, 1, 5, 50, 500),
            () => new BeaconStats(null, 9, new Dictionary<string, long> { ["bot"] = 6 }),
            () => new AlertingStats([new("ops", "irc", Sent: 4, Failed: 1, Dropped: 2, Queued: 3, AttemptsFailed: 5)], IrcQueueDepth: 6));
    }

    private static List<(IStatDescriptor Stat, StatValue Value)> Values(IReadOnlyList<StatSource> sources) => sources.SelectMany(s => s.Read()!).ToList();

    [Fact]
    public void The_full_sample_gives_every_descriptor_a_value()
    {
        // Otherwise the tests below would pass vacuously for a new descriptor: extend AllSources with what it reads.
        var sources = AllSources();
        var read = Values(sources);
        Assert.All(sources.SelectMany(s => s.Descriptors), d => Assert.Contains(read, v => ReferenceEquals(v.Stat, d)));
    }

    [Fact]
    public async Task Every_descriptor_is_a_metrics_family_of_its_kind()
    {
        var sources = AllSources();
        var registry = Prometheus.Metrics.NewCustomRegistry();
        StatsExport.ToPrometheus(sources, registry);
        using var text = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(text);
        var lines = System.Text.Encoding.UTF8.GetString(text.ToArray()).Split('\n');
        foreach (var (d, v) in Values(sources))
        {
            Assert.Contains($"# TYPE {d.Family} {(StatsExport.IsPrometheusCounter(d) ? "counter" : "gauge")}", lines);
            var sample = v.Labels is { } l ? $"{d.Family}{{{string.Join(',', d.Labels!.Zip(l, (name, value) => $"{name}=\"{value}\""))}}} " : d.Family + " ";
            Assert.Contains(lines, line => line.StartsWith(sample, StringComparison.Ordinal) && double.Parse(line[sample.Length..], System.Globalization.CultureInfo.InvariantCulture) == v.Value);
        }
        // A total is a counter; the one older exception keeps its name (and so its gauge type).
        Assert.All(sources.SelectMany(s => s.Descriptors), d => Assert.Equal(d.Kind == StatKind.Gauge ? d.Family.EndsWith("_total") : d.Family != "observe_statsd_kernel_udp_drops",
            StatsExport.IsPrometheusCounter(d)));
    }

    [Fact]
    public void Every_descriptor_is_an_observe_series()
    {
        var sources = AllSources();
        var points = new List<MetricPoint>();
        new SelfMetrics(() => sources, 10_000).AddPoints(1000, points);
        var names = points.Select(p => p.Path).ToHashSet();
        foreach (var (d, v) in Values(sources))
        {
            var suffix = d.Kind == StatKind.Counter ? "_per_second" : "";
            var series = "observe." + SelfMetrics.SeriesName(d, v.Labels) + suffix;
            if (d.Labels is { } labels && !labels.Any(label => d.Series.Contains('{' + label + '}'))) series = "observe." + d.Series + suffix;
            Assert.Contains(series, names);
            if (d.TotalSeries is { } total) Assert.Contains("observe." + total + suffix, names);
        }
    }

    [Fact]
    public void Every_descriptor_is_in_stats()
    {
        var sources = AllSources();
        var json = System.Text.Json.JsonSerializer.SerializeToElement(StatsExport.ToJson(sources));
        foreach (var (d, v) in Values(sources))
        {
            Assert.True(json.TryGetProperty(d.Family, out var family), d.Family);
            Assert.Equal(v.Value, (v.Labels ?? []).Aggregate(family, (level, label) => level.GetProperty(label)).GetDouble());
        }
    }

    [Fact]
    public void Names_are_unique_and_well_formed()
    {
        // A family in two lists (the TCP listeners of the collector and of the log ingest) must be the same stat.
        var all = AllSources().SelectMany(s => s.Descriptors).ToList();
        Assert.All(all.GroupBy(d => d.Family), g => Assert.Single(g.Select(d => (d.Series, d.TotalSeries, d.Kind, d.Help, string.Join(',', d.Labels ?? []))).Distinct()));
        Assert.All(all.SelectMany(d => new[] { d.Series, d.TotalSeries }.OfType<string>().Select(series => (series, d.Family))).GroupBy(x => x.series),
            g => Assert.Single(g.Select(x => x.Family).Distinct()));
        Assert.All(all, d => Assert.Matches("^observe_[a-z_]+$", d.Family));
        Assert.All(all, d => Assert.Matches(@"^[a-z_{}]+(\.[a-z_{}]+)*$", d.Series));
        Assert.All(all.Where(d => d.TotalSeries != null), d => Assert.Matches(@"^[a-z_]+(\.[a-z_]+)*$", d.TotalSeries!));
    }
}
