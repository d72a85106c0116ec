using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Observe.Collector;
using Observe.Collector.Statsd;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Feeds the same StatsD corpus to real Etsy statsd 0.9.0 (graphite backend → GraphiteLineRecorder)
/// and to Observe's StatsdAggregator, and asserts the same names and values per flush.
/// </summary>
public sealed class StatsdDifferentialTests(ITestOutputHelper output)
{
    private const int FlushIntervalMs = 1000;

    public static TheoryData<string> Configurations => ["legacy", "namespaced", "percentiles", "deleteIdle"];

    private static StatsdOptions Options(string name)
    {
        var o = new StatsdOptions { FlushInterval = FlushIntervalMs };
        switch (name)
        {
            case "legacy": break;
            case "namespaced":
                o.LegacyNamespace = false; o.GlobalPrefix = "gp"; o.PrefixCounter = "cnt"; o.PrefixTimer = "tmr";
                o.PrefixGauge = "gau"; o.PrefixSet = "st"; o.GlobalSuffix = "sfx";
                break;
            case "percentiles":
                o.PercentThreshold = [90, 99.9, -10];
                o.Histogram =
                [
                    new HistogramOptions { Metric = "t.a", Bins = ["10", "20.5", "40", "inf"] },
                    new HistogramOptions { Metric = "t.", Bins = ["1", "100", "1000"] },
                ];
                break;
            case "deleteIdle":
                o.DeleteIdleStats = true; o.GaugesMaxTTL = 2; o.PrefixStats = "mystatsd";
                break;
        }
        return o;
    }

    private static string EtsyConfig(StatsdOptions o, int port, int mgmtPort, int graphitePort)
    {
        var cfg = new Dictionary<string, object?>
        {
            ["port"] = port, ["address"] = "127.0.0.1", ["mgmt_address"] = "127.0.0.1", ["mgmt_port"] = mgmtPort,
            ["flushInterval"] = o.FlushInterval, ["graphiteHost"] = "127.0.0.1", ["graphitePort"] = graphitePort,
            ["backends"] = new[] { "./backends/graphite" }, ["percentThreshold"] = o.PercentThreshold,
            ["prefixStats"] = o.PrefixStats,
        };
        if (o.Histogram.Count > 0)
            cfg["histogram"] = o.Histogram.Select(h => new Dictionary<string, object>
            {
                ["metric"] = h.Metric,
                ["bins"] = h.Bins.Select(b => b == "inf" ? (object)"inf" : double.Parse(b, CultureInfo.InvariantCulture)).ToArray(),
            }).ToArray();
        if (o.DeleteIdleStats) { cfg["deleteIdleStats"] = true; cfg["gaugesMaxTTL"] = o.GaugesMaxTTL; }
        if (!o.LegacyNamespace)
            cfg["graphite"] = new Dictionary<string, object>
            {
                ["legacyNamespace"] = false, ["globalPrefix"] = o.GlobalPrefix, ["prefixCounter"] = o.PrefixCounter,
                ["prefixTimer"] = o.PrefixTimer, ["prefixGauge"] = o.PrefixGauge, ["prefixSet"] = o.PrefixSet,
                ["globalSuffix"] = o.GlobalSuffix,
            };
        return JsonSerializer.Serialize(cfg);
    }

    private static bool IgnoredValue(string name) =>
        name.Contains("processing_time") || name.Contains("calculationtime") || name.Contains("timestamp_lag")
        || name.Contains("graphiteStats.last_exception") || name.Contains("graphiteStats.last_flush")
        || name.Contains("graphiteStats.flush_time") || name.Contains("graphiteStats.flush_length");

    [Theory]
    [MemberData(nameof(Configurations))]
    public async Task Observe_matches_Etsy_statsd(string configuration)
    {
        Assert.True(File.Exists(Path.Combine(Repo.NodeModules, "statsd", "stats.js")), "run tests/peers/install.sh");
        var parts = new[] { StatsdCorpus.Part1(), StatsdCorpus.Part2() };
        Assert.True(parts.Sum(p => StatsdCorpus.LineCount(p)) >= 200);
        output.WriteLine($"corpus: {StatsdCorpus.LineCount(parts[0])} + {StatsdCorpus.LineCount(parts[1])} lines in {parts[0].Length} + {parts[1].Length} packets");
        Exception? last = null;
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            try { await RunOnce(configuration, parts); return; }
            catch (FlushMisalignedException e) { last = e; output.WriteLine($"attempt {attempt}: {e.Message}; retrying"); }
        }
        throw last!;
    }

    private sealed class FlushMisalignedException(string m) : Exception(m);

    private async Task RunOnce(string configuration, byte[][][] parts)
    {
        var options = Options(configuration);
        var naming = new StatsdNaming(options);
        var packetsName = naming.CounterCount(options.PrefixStats + ".packets_received");
        await using var recorder = new GraphiteLineRecorder();
        var port = FreePort.Get();
        var mgmt = FreePort.Get();
        // (Repo.TempDir's slice overruns for short PIDs; a private temp dir avoids it.)
        var dir = Repo.TempDir($"etsy-{configuration}");
        Directory.CreateDirectory(dir);
        var configPath = Path.Combine(dir, "config.js");
        await File.WriteAllTextAsync(configPath, EtsyConfig(options, port, mgmt, recorder.Port));
        await using var etsy = PeerProcess.Start("node", [Path.Combine(Repo.NodeModules, "statsd", "stats.js"), configPath],
            dir, Path.Combine(dir, "statsd.log"));
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var target = new IPEndPoint(IPAddress.Loopback, port);

        double Packets(IReadOnlyList<string> flush) =>
            flush.Select(l => l.Split(' ')).Where(f => f[0] == packetsName).Select(f => double.Parse(f[1], CultureInfo.InvariantCulture)).Single();

        await Poll.UntilAsync(() => recorder.Flushes.Count >= 1 || etsy.HasExited, TimeSpan.FromSeconds(30), "Etsy statsd's first flush");
        Assert.False(etsy.HasExited, etsy.Log());

        // Which Etsy flush (index) each part landed in.
        var partFlush = new int[parts.Length];
        for (var p = 0; p < parts.Length; p++)
        {
            var before = recorder.Flushes.Count;
            foreach (var packet in parts[p]) udp.SendTo(packet, target);
            await Poll.UntilAsync(() => recorder.Flushes.Skip(before).Any(f => Packets(f) > 0), TimeSpan.FromSeconds(20), $"the flush with part {p + 1}");
            var flushes = recorder.Flushes;
            var idx = Enumerable.Range(before, flushes.Count - before).First(i => Packets(flushes[i]) > 0);
            if (Packets(flushes[idx]) != parts[p].Length)
                throw new FlushMisalignedException($"part {p + 1}: flush {idx} saw {Packets(flushes[idx])} of {parts[p].Length} packets");
            partFlush[p] = idx;
        }
        var lastIndex = partFlush[^1] + 1; // one idle flush after the last part
        await Poll.UntilAsync(() => recorder.Flushes.Count > lastIndex, TimeSpan.FromSeconds(20), "the idle flush");
        var etsyFlushes = recorder.Flushes;
        for (var i = partFlush[0]; i <= lastIndex; i++)
            if (!partFlush.Contains(i) && Packets(etsyFlushes[i]) != 0)
                throw new FlushMisalignedException($"flush {i} has unexpected packets");

        // Replay into Observe: every Etsy flush is one Observe flush, each part fed before its flush.
        var aggregator = new StatsdAggregator(options);
        var compared = 0;
        for (var i = 0; i <= lastIndex; i++)
        {
            var p = Array.IndexOf(partFlush, i);
            if (p >= 0) foreach (var packet in parts[p]) aggregator.HandlePacket(packet);
            var batch = aggregator.Flush(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            if (i < partFlush[0]) continue;
            Compare(i, etsyFlushes[i], batch);
            compared++;
        }
        Assert.Equal(parts.Length + 1, compared);
        output.WriteLine($"{configuration}: compared {compared} flushes, {etsyFlushes[partFlush[0]].Count} + {etsyFlushes[partFlush[1]].Count} + {etsyFlushes[lastIndex].Count} lines");
    }

    private static void Compare(int index, IReadOnlyList<string> etsyLines, MetricBatch observe)
    {
        var etsy = etsyLines.Select(l =>
        {
            var a = l.Split(' ');
            Assert.Equal(3, a.Length);
            return (Name: a[0], Value: double.Parse(a[1], CultureInfo.InvariantCulture));
        }).ToList();
        var etsyNames = etsy.Select(e => e.Name).Order(StringComparer.Ordinal).ToList();
        var obsNames = observe.Points.Select(p => p.Path).Order(StringComparer.Ordinal).ToList();
        var missing = etsyNames.Except(obsNames).ToList();
        var extra = obsNames.Except(etsyNames).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0 && etsyNames.Count == obsNames.Count,
            $"flush {index}: names differ.\nonly in Etsy: {string.Join(", ", missing)}\nonly in Observe: {string.Join(", ", extra)}\ncounts {etsyNames.Count} vs {obsNames.Count}");
        var obsByName = observe.Points.ToLookup(p => p.Path, p => p.Value);
        var errors = new List<string>();
        foreach (var group in etsy.GroupBy(e => e.Name))
        {
            if (IgnoredValue(group.Key)) continue;
            var ev = group.Select(g => g.Value).Order().ToList();
            var ov = obsByName[group.Key].Order().ToList();
            for (var k = 0; k < ev.Count; k++)
                if (!Close(ev[k], ov[k])) errors.Add($"{group.Key}: Etsy {ev[k].ToString("R", CultureInfo.InvariantCulture)} Observe {ov[k].ToString("R", CultureInfo.InvariantCulture)}");
        }
        Assert.True(errors.Count == 0, $"flush {index}: {errors.Count} values differ:\n" + string.Join("\n", errors));
    }

    private static bool Close(double a, double b)
    {
        if (double.IsNaN(a) || double.IsNaN(b)) return double.IsNaN(a) && double.IsNaN(b);
        if (a == b) return true;
        return Math.Abs(a - b) <= 1e-9 * Math.Max(Math.Abs(a), Math.Abs(b));
    }
}
