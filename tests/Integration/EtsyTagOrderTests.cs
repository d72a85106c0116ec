using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Observe.Collector.Pipeline;
using Observe.Storage;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>
/// Etsy statsd 0.9.0's own tests (graphite_tags_are_supported, dogstatsd_tags_are_supported) expect tags on the carbon
/// wire in the client's order (<c>foobar.count;tag1=val1;tag3=val3;tag2=val2</c>). The same lines go to real Etsy statsd
/// and to Observe; the tagged carbon lines must be the same, while Observe's store keeps one canonical series.
/// </summary>
public sealed class EtsyTagOrderTests
{
    // The inputs of Etsy's two tests (namespaced output, as they configure it).
    private static readonly string[] Lines =
    [
        "fo/o;tag1=val1:250|c", "b ar;tag1=val1;tag2=val2:250|c", "foo+bar;tag1=val1;tag3=val3;tag2=val2:250|c",
        "dogfo/o:250|c|#tag1:val1", "dogb ar:250|c|#tag1:val1,tag2:val2", "dogfoo+bar:250|c|#tag1:val;1,tag3:val3,tag2:val2",
    ];

    private static HashSet<string> TaggedNames(IEnumerable<string> lines) =>
        lines.Select(l => l.Split(' ')[0]).Where(n => n.Contains(';')).ToHashSet();

    [Fact]
    public async Task Carbon_wire_keeps_the_clients_tag_order_like_Etsy_and_the_store_is_canonical()
    {
        Assert.True(File.Exists(Path.Combine(Repo.NodeModules, "statsd", "stats.js")), "run tests/peers/install.sh");
        var etsyLines = await EtsyFlush();

        await using var carbon = new GraphiteLineRecorder();
        var app = await ObserveApp.StartAsync(c =>
        {
            c.Sinks.Carbon = [new() { Port = carbon.Port }];
            c.Collector.Statsd.LegacyNamespace = false;
            c.Collector.Statsd.FlushInterval = 3_600_000; // flushed by hand
        });
        try
        {
            using (var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
                foreach (var l in Lines) udp.SendTo(Encoding.UTF8.GetBytes(l), app.StatsdEndpoint);
            await Poll.UntilAsync(() => app.Stats.Statsd.MetricsReceived >= Lines.Length, TimeSpan.FromSeconds(20), "lines received");
            app.App.Services.GetRequiredService<CollectorService>().Scheduler!.FlushOnce();
            var reader = app.App.Services.GetRequiredService<ISeriesReader>();
            await Poll.UntilAsync(() => reader.TaggedSeries().Contains("stats.counters.foobar.count;tag1=val1;tag2=val2;tag3=val3"),
                TimeSpan.FromSeconds(10), "the canonical series in the store");
            Assert.DoesNotContain("stats.counters.foobar.count;tag1=val1;tag3=val3;tag2=val2", reader.TaggedSeries());
        }
        finally { await app.DisposeAsync(); }
        await Poll.UntilAsync(() => carbon.Flushes.Count >= 1, TimeSpan.FromSeconds(10), "carbon connection closed");

        var etsy = etsyLines;
        var observe = TaggedNames(carbon.Flushes.SelectMany(f => f));
        Assert.Contains("stats.counters.foobar.count;tag1=val1;tag3=val3;tag2=val2", etsy);
        Assert.Contains("stats.counters.dogfoobar.count;tag1=val_1;tag3=val3;tag2=val2", etsy);
        Assert.True(etsy.SetEquals(observe),
            $"only in Etsy: {string.Join(", ", etsy.Except(observe))}\nonly in Observe: {string.Join(", ", observe.Except(etsy))}");
    }

    /// <summary>Real Etsy statsd, namespaced output, one flush per second; returns the tagged names it sent.</summary>
    private static async Task<HashSet<string>> EtsyFlush()
    {
        await using var recorder = new GraphiteLineRecorder();
        int port = FreePort.Get(), mgmt = FreePort.Get();
        var dir = Repo.TempDir("etsy-tags");
        Directory.CreateDirectory(dir);
        var config = Path.Combine(dir, "config.js");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["port"] = port, ["address"] = "127.0.0.1", ["mgmt_address"] = "127.0.0.1", ["mgmt_port"] = mgmt, ["flushInterval"] = 1000,
            ["graphiteHost"] = "127.0.0.1", ["graphitePort"] = recorder.Port, ["backends"] = new[] { "./backends/graphite" },
            ["graphite"] = new Dictionary<string, object> { ["legacyNamespace"] = false },
        }));
        await using var etsy = PeerProcess.Start("node", [Path.Combine(Repo.NodeModules, "statsd", "stats.js"), config], dir, Path.Combine(dir, "statsd.log"));
        await Poll.UntilAsync(() => recorder.Flushes.Count >= 1 || etsy.HasExited, TimeSpan.FromSeconds(30), "Etsy statsd's first flush");
        Assert.False(etsy.HasExited, etsy.Log());
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        foreach (var l in Lines) udp.SendTo(Encoding.UTF8.GetBytes(l), new IPEndPoint(IPAddress.Loopback, port));
        // Counters are kept (sent as 0) after their flush, so the lines may straddle a flush boundary: take the union.
        HashSet<string> names = [];
        await Poll.UntilAsync(() => (names = TaggedNames(recorder.Flushes.SelectMany(f => f))).Count >= 2 * Lines.Length,
            TimeSpan.FromSeconds(20), "Etsy's rate and count line of every tagged counter");
        return names;
    }
}
