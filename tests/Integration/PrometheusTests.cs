using System.Buffers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Observe.Collector;
using Observe.Storage;
using Observe.Storage.Sinks.Prometheus;
using Observe.Storage.Sinks.Spool;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

internal static class StatsdSend
{
    public static async Task LinesAsync(System.Net.IPEndPoint statsd, params string[] lines)
    {
        using var udp = new UdpClient();
        var datagram = Encoding.ASCII.GetBytes(string.Join("\n", lines));
        await udp.SendAsync(datagram, datagram.Length, statsd);
    }
}

/// <summary>A real Prometheus 2.42 scrapes Observe's /metrics every second; its query API returns the mapped series.</summary>
public class PrometheusScrapeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Prometheus_scrapes_mapped_aggregated_metrics_beside_Observes_own_and_drops_stale_series()
    {
        await using var app = await ObserveApp.StartAsync(c =>
        {
            // A flush's values live one interval and Prometheus scrapes every second: 3 s gives each flush three scrapes (at
            // 1 s a loaded machine's late scrape missed the flush that carried the counters, and the test saw 0).
            c.Collector.Statsd.FlushInterval = 3000;
            c.Prometheus.Enabled = true;
            c.Prometheus.StaleAfterFlushes = 3;
            c.Prometheus.Mappings.Add(new PrometheusMappingOptions
            {
                Match = "stats.timers.*.*.mean", Name = "timer_mean", Labels = { ["service"] = "$1", ["endpoint"] = "${2}" },
            });
        });
        await using var prometheus = await PrometheusPeer.StartAsync("prom-scrape", $"{app.HttpBase.Host}:{app.HttpBase.Port}");
        try
        {
            // Prometheus starts scraping a few seconds after it is ready (target discovery); a flush's values live one interval.
            await Poll.UntilAsync(async () => (await prometheus.QueryAsync("up{job=\"observe\"}")) is [var up] && up.Value == 1,
                TimeSpan.FromSeconds(30), "first scrape of Observe");
            // Both timer samples in one datagram, so they land in the same flush: mean 100.
            await StatsdSend.LinesAsync(app.StatsdEndpoint, "shop.checkout:120|ms", "shop.checkout:80|ms", "api.hits:5|c", "api.req:3|c|#env:prod", "shop.stock:42|g");

            async Task<double?> One(string q) => (await prometheus.QueryAsync(q)) is [var r] ? r.Value : null;
            await Poll.UntilAsync(async () => await One("max_over_time(timer_mean{service=\"shop\",endpoint=\"checkout\"}[5m])") == 100,
                TimeSpan.FromSeconds(30), "timer_mean 100 in Prometheus");
            Assert.Equal(5, await One("max_over_time(stats_counts_api_hits[5m])"));
            Assert.Equal(3, await One("max_over_time(stats_counts_api_req{env=\"prod\"}[5m])"));
            Assert.Equal(42, await One("max_over_time(stats_gauges_shop_stock[5m])"));
            // One scrape target carries both: the combined page parses (a scrape that succeeds, no error) and Observe's own
            // metrics are in it. (Polled: on a loaded machine a single scrape may miss its 1 s timeout.)
            await Poll.UntilAsync(async () =>
            {
                var t = (await prometheus.Client.GetFromJsonAsync<JsonElement>("/api/v1/targets")).GetProperty("data").GetProperty("activeTargets")[0];
                return t.GetProperty("health").GetString() == "up" && t.GetProperty("lastError").GetString() == "";
            }, TimeSpan.FromSeconds(10), "a clean scrape of the combined page");
            Assert.NotNull(await One("observe_flushes_total{job=\"observe\"}"));

            // The timer gets no samples after its flush, so three flushes later it leaves /metrics and Prometheus marks it stale.
            // A gauge is flushed every interval, so it stays (both checked at once: a failed scrape would hide both).
            using var page = new HttpClient { BaseAddress = app.HttpBase };
            await Poll.UntilAsync(async () =>
            {
                var text = await page.GetStringAsync("/metrics");
                return !text.Contains("timer_mean") && text.Contains("\nstats_gauges_shop_stock 42\n");
            }, TimeSpan.FromSeconds(30), "timer_mean gone from /metrics");
            await Poll.UntilAsync(async () => (await prometheus.QueryAsync("timer_mean")).Count == 0 && await One("stats_gauges_shop_stock") == 42,
                TimeSpan.FromSeconds(30), "timer_mean stale in Prometheus while the gauge is current");
        }
        catch
        {
            using var http = new HttpClient { BaseAddress = app.HttpBase };
            output.WriteLine(await prometheus.Client.GetStringAsync("/api/v1/targets"));
            output.WriteLine(string.Join("\n", (await http.GetStringAsync("/metrics")).Split('\n').Where(l => l.Contains("stats_"))));
            foreach (var q in new[] { "max_over_time(timer_mean[5m])", "max_over_time(stats_counts_api_hits[5m])", "timer_mean", "up" })
                foreach (var (labels, value) in await prometheus.QueryAsync(q))
                    output.WriteLine($"{q}: {string.Join(",", labels.Select(l => $"{l.Key}={l.Value}"))} = {value}");
            output.WriteLine(prometheus.Log());
            throw;
        }
    }
}

/// <summary>Remote-write into a real Prometheus 2.42 (<c>--web.enable-remote-write-receiver</c>), read back with its query API.</summary>
public class PrometheusRemoteWriteTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Flushes_written_through_the_spool_read_back_with_query_range()
    {
        await using var prometheus = await PrometheusPeer.StartAsync("prom-rw");
        var start = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 2;
        await using var app = await ObserveApp.StartAsync(c =>
        {
            c.Collector.Statsd.FlushInterval = 1000;
            c.Sinks.RemoteWrite.Add(new RemoteWriteSinkOptions { Name = "prom", Url = prometheus.RemoteWriteUrl });
            c.Prometheus.Mappings.Add(new PrometheusMappingOptions { Match = "stats.gauges.rw.*", Name = "rw_gauge", Labels = { ["which"] = "$1" } });
        });
        try
        {
            await StatsdSend.LinesAsync(app.StatsdEndpoint, "rw.a:7|g", "rw.b:-2.5|g", "rw.hits:4|c|#env:prod");
            await Poll.UntilAsync(async () => (await prometheus.QueryAsync("sum_over_time(stats_counts_rw_hits{env=\"prod\"}[5m])")) is [var r] && r.Value == 4,
                TimeSpan.FromSeconds(30), "the counter in Prometheus");
            var end = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var range = await prometheus.QueryRangeAsync("rw_gauge", start, end, 1);
            Assert.Equal(["a", "b"], range.Select(s => s.Labels["which"]).Order());
            Assert.All(range, s => Assert.Equal("rw_gauge", s.Labels["__name__"]));
            Assert.All(range.Single(s => s.Labels["which"] == "a").Points, p => Assert.Equal(7, p.Value));
            Assert.All(range.Single(s => s.Labels["which"] == "b").Points, p => Assert.Equal(-2.5, p.Value));
            Assert.NotEmpty(range[0].Points);
            // Every flush was one record, delivered: nothing rejected, nothing waiting.
            var spool = app.App.Services.GetServices<ISpoolStatsSource>().Single(s => s.Stats.Sink == "prom").Stats;
            Assert.True(spool.Delivered > 0 && spool.Rejected == 0, spool.ToString());
        }
        catch
        {
            output.WriteLine(prometheus.Log());
            throw;
        }
    }

    [Fact]
    public async Task Real_Prometheus_decodes_a_multi_fragment_snappy_body_and_refuses_a_corrupt_one_with_400()
    {
        await using var prometheus = await PrometheusPeer.StartAsync("prom-snappy");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var points = Enumerable.Range(0, 5000).Select(i => new MetricPoint($"snappy.check{i % 50}.series{i};n={i}", i * 0.5, now)).ToList();
        var record = new ArrayBufferWriter<byte>();
        new RemoteWriteEncoder(PrometheusNameMapper.Unmapped).Encode(new MetricBatch(now, points), record);
        var raw = SnappyBlock.DecodedLength(record.WrittenSpan);
        Assert.True(raw > 4 * 65536, $"body {raw} bytes spans several 64 KiB fragments");
        Assert.True(record.WrittenCount < raw / 2, $"compressed {record.WrittenCount} of {raw}");

        using var target = new RemoteWriteTarget(new RemoteWriteSinkOptions { Url = prometheus.RemoteWriteUrl });
        var outcome = await target.DeliverAsync(record.WrittenMemory, default);
        Assert.True(outcome.Status == DeliveryStatus.Delivered, outcome.Error);
        var count = await prometheus.QueryAsync("count({__name__=~\"snappy_check.*\"})");
        var sum = await prometheus.QueryAsync("sum({__name__=~\"snappy_check.*\"})");
        Assert.Equal(5000, Assert.Single(count).Value);
        Assert.Equal(Enumerable.Range(0, 5000).Sum(i => i * 0.5), Assert.Single(sum).Value);

        var corrupt = record.WrittenSpan.ToArray();
        corrupt[^1] ^= 0xff;
        corrupt[^100] ^= 0x55;
        var refused = await target.DeliverAsync(corrupt.AsMemory()[..(corrupt.Length - 7)], default);
        Assert.Equal(DeliveryStatus.Rejected, refused.Status);
        Assert.StartsWith("400", refused.Error);
        output.WriteLine($"body {raw} B → snappy {record.WrittenCount} B; corrupt body: {refused.Error}");
    }
}
