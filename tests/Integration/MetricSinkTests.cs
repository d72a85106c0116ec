using System.Net.Http.Json;
using System.Text.Json;
using Observe.Collector;
using Observe.Storage;
using Observe.Storage.Sinks;
using Observe.Storage.Sinks.Influx;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>The spooled metric sinks against the real servers: InfluxDB 1.6, VictoriaMetrics 1.79, carbon + graphite-web.</summary>
public class MetricSinkTests
{
    private static readonly SpoolOptions FastRetry = new() { RetryMaxSeconds = 1 };

    private static async Task WriteAndDrain(IMetricSink sink, params MetricBatch[] batches)
    {
        foreach (var b in batches) await sink.WriteAsync(b, CancellationToken.None);
        var stats = ((ISpoolStatsSource)sink);
        await Poll.UntilAsync(() => stats.Stats.Records == 0, TimeSpan.FromSeconds(30), "spool drained: " + stats.Stats.LastError);
        Assert.Equal(0, stats.Stats.Rejected);
    }

    [Fact]
    public async Task InfluxDB_1_6_v1_write_reads_back_with_InfluxQL_with_tags_and_odd_names()
    {
        var dir = Repo.TempDir("influx");
        await using var influx = await InfluxServer.StartAsync(dir);
        await influx.CommandAsync("CREATE DATABASE observe");
        var t = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 10 * 10 - 60;
        await using var sink = MetricSinks.Spooled("influx", dir, FastRetry,
            new InfluxHttpTarget(new InfluxSinkOptions { Url = influx.Url, Db = "observe", Precision = "s" }), new InfluxLineEncoder());
        await WriteAndDrain(sink,
            new MetricBatch(t, [new("stats.gauges.cpu;dc=ams;role=web", 12.5, t), new("stats.gauges.cpu;dc=fra;role=web", 7, t)]),
            new MetricBatch(t + 10, [new("odd name,with=comma.x;k ,=v=a,b c", -1.25e-7, t + 10), new("stats.gauges.cpu;dc=ams;role=web", 13, t + 10)]));

        var cpu = (await influx.QueryAsync("observe", "SELECT \"value\" FROM \"stats.gauges.cpu\" WHERE \"dc\"='ams' AND \"role\"='web'"))!.Value;
        Assert.Equal([[t, 12.5], [t + 10, 13.0]], cpu[0].GetProperty("values").EnumerateArray()
            .Select(v => new[] { v[0].GetDouble(), v[1].GetDouble() }).ToArray());
        var byDc = (await influx.QueryAsync("observe", "SELECT count(\"value\") FROM \"stats.gauges.cpu\" GROUP BY \"dc\""))!.Value;
        Assert.Equal(["ams", "fra"], byDc.EnumerateArray().Select(s => s.GetProperty("tags").GetProperty("dc").GetString()).Order());

        // The escaped names come back exactly as they were.
        var odd = (await influx.QueryAsync("observe", "SELECT \"value\", \"k ,\" FROM \"odd name,with=comma.x\""))!.Value;
        var row = odd[0].GetProperty("values")[0];
        Assert.Equal(-1.25e-7, row[1].GetDouble());
        Assert.Equal("v=a,b c", row[2].GetString());
    }

    [Fact]
    public async Task InfluxDB_bad_line_is_rejected_into_the_dead_letter_file_and_the_rest_still_flows()
    {
        var dir = Repo.TempDir("influx-bad");
        await using var influx = await InfluxServer.StartAsync(dir);
        await influx.CommandAsync("CREATE DATABASE observe");
        var t = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 30;
        // A field type conflict is a 400 from InfluxDB: the first write makes "value" a string.
        using (var http = new HttpClient())
            (await http.PostAsync($"{influx.Url}/write?db=observe&precision=s", new StringContent($"conflict value=\"text\" {t - 10}\n"))).EnsureSuccessStatusCode();
        await using var sink = MetricSinks.Spooled("influx", dir, FastRetry,
            new InfluxHttpTarget(new InfluxSinkOptions { Url = influx.Url, Db = "observe" }), new InfluxLineEncoder());
        await sink.WriteAsync(new MetricBatch(t, [new("conflict", 1, t)]), CancellationToken.None);
        await sink.WriteAsync(new MetricBatch(t, [new("fine", 2, t)]), CancellationToken.None);
        var stats = (ISpoolStatsSource)sink;
        await Poll.UntilAsync(() => stats.Stats.Records == 0, TimeSpan.FromSeconds(30), "spool drained");
        Assert.Equal(1, stats.Stats.Rejected);
        Assert.Equal(1, stats.Stats.Delivered);
        Assert.Contains("400", stats.Stats.LastError);
        Assert.Equal("conflict value=1 " + t + "\n",
            System.Text.Encoding.UTF8.GetString(Assert.Single(Observe.Storage.Sinks.Spool.DiskSpool.ReadDeadLetters(Path.Combine(dir, "spool", "influx")))));
        Assert.NotNull(await influx.QueryAsync("observe", "SELECT \"value\" FROM \"fine\""));
    }

    [Fact]
    public async Task VictoriaMetrics_v2_write_and_graphite_plaintext_read_back_with_PromQL()
    {
        var dir = Repo.TempDir("vm");
        await using var vm = await VictoriaMetricsServer.StartAsync(dir);
        var t = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 30;
        await using var influx = MetricSinks.Spooled("vm-influx", dir, FastRetry,
            new InfluxHttpTarget(new InfluxSinkOptions { Url = vm.Url, Version = 2, Org = "o", Bucket = "b", Token = "ignored-token" }),
            new InfluxLineEncoder(measurementNodes: 2));
        await using var carbon = MetricSinks.Spooled("vm-carbon", dir, FastRetry,
            new CarbonTcpTarget("127.0.0.1", vm.GraphitePort), new CarbonPlaintextEncoder());
        var batch = new MetricBatch(t, [new("stats.gauges.queue;env=prod", 42, t), new("stats.counters.orders", 3, t)]);
        await WriteAndDrain(influx, batch);
        await WriteAndDrain(carbon, batch);

        // v2 line protocol: measurement "stats.gauges", field "queue" → series stats.gauges_queue with the tag as a label.
        await Poll.UntilAsync(async () => (await vm.QueryAsync("{__name__=\"stats.gauges_queue\",env=\"prod\"}", t + 1)).Count == 1,
            TimeSpan.FromSeconds(20), "v2 sample visible");
        Assert.Equal(42, (await vm.QueryAsync("{__name__=\"stats.gauges_queue\"}", t + 1)).Single().Value);
        Assert.Equal(3, (await vm.QueryAsync("{__name__=\"stats.counters_orders\"}", t + 1)).Single().Value);
        // Graphite plaintext: the path is the name, ;k=v tags become labels.
        await Poll.UntilAsync(async () => (await vm.QueryAsync("{__name__=\"stats.gauges.queue\",env=\"prod\"}", t + 1)).Count == 1,
            TimeSpan.FromSeconds(20), "graphite sample visible");
        Assert.Equal(3, (await vm.QueryAsync("{__name__=\"stats.counters.orders\"}", t + 1)).Single().Value);
    }

    [Theory]
    [InlineData("plaintext")]
    [InlineData("pickle")]
    public async Task Carbon_sink_reads_back_through_graphite_web_render(string protocol)
    {
        var dir = Repo.TempDir("carbon");
        await using var graphite = await GraphiteServer.StartAsync(dir, [("all", ".*", "10s:1d")]);
        var t = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 10 * 10 - 60;
        await using var sink = protocol == "pickle"
            ? MetricSinks.Spooled("carbon", dir, FastRetry, new CarbonTcpTarget("127.0.0.1", graphite.PicklePort), new CarbonPickleEncoder())
            : MetricSinks.Spooled("carbon", dir, FastRetry, new CarbonTcpTarget("127.0.0.1", graphite.LinePort), new CarbonPlaintextEncoder());
        // The tags go out in the client's order (as Etsy sends them); carbon puts them in order on receipt.
        await WriteAndDrain(sink, new MetricBatch(t, [new("sinks.carbon.a", 1.5, t), new("sinks.carbon.a", -2.25, t + 10),
            new("sinks.carbon.t;z=1;a=2", 7, t)]));
        using var http = new HttpClient();
        async Task<List<double>> Values(string target)
        {
            return (await RenderJson.GetAsync(http, target, $"{t - 5}", $"{t + 15}", graphite.WebUrl)).Select(p => p.Value).ToList();
        }
        var values = new List<double>();
        await Poll.UntilAsync(async () => (values = await Values("sinks.carbon.a")).Count == 2, TimeSpan.FromSeconds(30), "carbon to store both points");
        Assert.Equal([1.5, -2.25], values);
        await Poll.UntilAsync(async () => (await Values("seriesByTag('name=sinks.carbon.t','a=2')")).SequenceEqual([7.0]), TimeSpan.FromSeconds(30),
            "the tagged point");
    }
}

/// <summary>The host wires spooled sinks from config and reports their spools in /stats and /metrics.</summary>
public class SpoolHostingTests
{
    [Fact]
    public async Task An_unreachable_influx_sink_keeps_flushes_in_its_spool_and_shows_them_in_stats_and_metrics()
    {
        await using var app = await ObserveApp.StartAsync(c =>
        {
            c.Sinks.Influx = [new() { Name = "nowhere", Url = $"http://127.0.0.1:{FreePort.Get()}", Db = "x" }];
            c.Sinks.Spool.RetryMaxSeconds = 0.5;
            c.Collector.Statsd.FlushInterval = 200;
        });
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        JsonElement spool = default;
        await Poll.UntilAsync(async () =>
        {
            spool = (await http.GetFromJsonAsync<JsonElement>("/stats")).GetProperty("spools")[0];
            return spool.GetProperty("records").GetInt64() >= 2 && spool.GetProperty("retries").GetInt64() >= 1;
        }, TimeSpan.FromSeconds(20), "flushes held in the spool");
        Assert.Equal("nowhere", spool.GetProperty("sink").GetString());
        Assert.Contains("Connection refused", spool.GetProperty("lastError").GetString());
        Assert.True(Directory.EnumerateFiles(Path.Combine(app.Config.Storage.DataDir, "spool", "nowhere"), "*.seg").Any());
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Matches("observe_spool_records\\{sink=\"nowhere\"\\} [1-9]", metrics);
        Assert.Contains("observe_spool_retries_total{sink=\"nowhere\"}", metrics);
    }
}
