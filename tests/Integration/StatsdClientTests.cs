using Microsoft.Extensions.DependencyInjection;
using Observe.Collector.Pipeline;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>Real StatsD clients from npm (hot-shots, statsd-client) send to Observe; the flushed output is asserted.</summary>
public class StatsdClientTests
{
    private static async Task RunNode(string script, TimeSpan timeout)
    {
        var dir = Repo.TempDir("node-client");
        var file = Path.Combine(dir, "send.js");
        await File.WriteAllTextAsync(file, script);
        var (exit, _, stderr) = await PeerProcess.RunToEndAsync("node", [file], new Dictionary<string, string?> { ["NODE_PATH"] = Repo.NodeModules }, timeout: timeout);
        Assert.True(exit == 0, $"node exited {exit}: {stderr}");
    }

    private static async Task<Dictionary<string, double>> FlushAndCollect(ObserveApp app, GraphiteLineRecorder carbon, long expectedLines)
    {
        await Poll.UntilAsync(() => app.Stats.Statsd.MetricsReceived >= expectedLines, TimeSpan.FromSeconds(20), $"{expectedLines} lines received");
        app.App.Services.GetRequiredService<CollectorService>().Scheduler!.FlushOnce();
        await Poll.UntilAsync(() => app.Stats.Sinks.Sum(s => s.BatchesWritten) >= 1, TimeSpan.FromSeconds(10), "flush written");
        await app.DisposeAsync();
        await Poll.UntilAsync(() => carbon.Flushes.Count >= 1, TimeSpan.FromSeconds(10), "carbon connection closed");
        // The shutdown flush may add a second batch (idle values); the first flush holds what the clients sent.
        var values = new Dictionary<string, double>();
        foreach (var line in carbon.Flushes.SelectMany(f => f))
        {
            var parts = line.Split(' ');
            values.TryAdd(parts[0], double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        return values;
    }

    // In process (ObserveApp), not the binary (ObserveProcess): the test flushes by hand through the collector's
    // scheduler, which only the in-process host exposes, so no interval has to pass.
    private static Task<ObserveApp> StartObserve(GraphiteLineRecorder carbon) => ObserveApp.StartAsync(c =>
    {
        c.Sinks.Carbon = [new() { Port = carbon.Port }];
        c.Sinks.Embedded.Enabled = false;
        c.Collector.Statsd.FlushInterval = 3_600_000; // the test flushes by hand
    });

    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    public async Task Hot_shots_counters_timers_gauges_sets_and_tags(string protocol)
    {
        await using var carbon = new GraphiteLineRecorder();
        var app = await StartObserve(carbon);
        var port = app.Config.Collector.Statsd.Port;
        await RunNode($$"""
            const StatsD = require('hot-shots');
            const c = new StatsD({ host: '127.0.0.1', port: {{port}}, protocol: '{{protocol}}', errorHandler: e => { console.error(e); process.exit(3); } });
            for (let i = 0; i < 10; i++) c.increment('shop.orders');
            c.increment('shop.orders', 5);
            for (const v of [100, 200, 300, 400]) c.timing('shop.checkout', v);
            c.gauge('shop.queue', 42);
            for (const u of ['ann', 'bob', 'ann', 'cy']) c.set('shop.users', u);
            c.increment('shop.tagged', 2, ['env:prod', 'dc:ams']);
            c.close(err => process.exit(err ? 4 : 0));
            """, TimeSpan.FromSeconds(30));
        var v = await FlushAndCollect(app, carbon, 21);
        Assert.Equal(15, v["stats_counts.shop.orders"]);
        Assert.Equal(15 / 3600.0, v["stats.shop.orders"], 12); // Etsy: per second of the configured flushInterval
        Assert.Equal(4, v["stats.timers.shop.checkout.count"]);
        Assert.Equal(100, v["stats.timers.shop.checkout.lower"]);
        Assert.Equal(400, v["stats.timers.shop.checkout.upper"]);
        Assert.Equal(250, v["stats.timers.shop.checkout.mean"]);
        Assert.Equal(250, v["stats.timers.shop.checkout.median"]);
        Assert.Equal(400, v["stats.timers.shop.checkout.upper_90"]);
        Assert.Equal(42, v["stats.gauges.shop.queue"]);
        Assert.Equal(3, v["stats.sets.shop.users.count"]);
        Assert.Equal(2, v["stats_counts.shop.tagged;env=prod;dc=ams"]); // the client's tag order, as Etsy sends it
    }

    [Fact]
    public async Task Statsd_client_counters_timers_gauge_deltas_and_sets()
    {
        await using var carbon = new GraphiteLineRecorder();
        var app = await StartObserve(carbon);
        var port = app.Config.Collector.Statsd.Port;
        await RunNode($$"""
            const SDC = require('statsd-client');
            const c = new SDC({ host: '127.0.0.1', port: {{port}}, prefix: 'web' });
            c.increment('hits'); c.increment('hits', 4); c.decrement('hits');
            c.timing('render', 12); c.timing('render', 8);
            c.gauge('workers', 10); c.gaugeDelta('workers', -3);
            c.set('visitors', 'a'); c.set('visitors', 'b');
            c.close(); // flushes its buffer, then node exits on its own
            """, TimeSpan.FromSeconds(30));
        var v = await FlushAndCollect(app, carbon, 9);
        Assert.Equal(4, v["stats_counts.web.hits"]);
        Assert.Equal(2, v["stats.timers.web.render.count"]);
        Assert.Equal(10, v["stats.timers.web.render.mean"]);
        Assert.Equal(7, v["stats.gauges.web.workers"]);
        Assert.Equal(2, v["stats.sets.web.visitors.count"]);
    }
}
