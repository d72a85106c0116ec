using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Observe.Checks;
using Observe.Collector;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>
/// <c>scrape:</c> against real sources, read back through /render: a mochiprofiler-like /stats JSON service, nginx's
/// stub_status, a target that is down (up = 0, CRITICAL through a metric check on its up series), Prometheus' own
/// /metrics and prometheus-node-exporter (Debian's, from tests/peers/install.sh).
/// </summary>
public class ScrapeTests
{
    private static ScrapeTargetOptions Target(string job, string instance, string url, string format) =>
        new() { Job = job, Instance = instance, Url = url, Format = format, Interval = "1s", Timeout = "900ms" };

    [Fact]
    public async Task Stats_json_and_nginx_stub_status_are_stored_and_a_dead_target_is_down_and_critical()
    {
        await using var stats = await StatsApp.StartAsync();
        var dir = Repo.TempDir("scrape-nginx");
        var nginxPort = FreePort.Get();
        await using var nginx = await NginxPeer.StartAsync(dir, nginxPort, $$"""
              server {
                listen 127.0.0.1:{{nginxPort}};
                location = /nginx_status { stub_status; }
              }
            """);
        var dead = $"http://127.0.0.1:{FreePort.Get()}/stats";
        await using var app = await ObserveApp.StartAsync(c =>
        {
            c.Collector.Statsd.Enabled = false;
            var json = Target("cart", "web1", stats.Url(), "json");
            json.Exclude = ["vm.schedulers.*"];
            c.Scrape.Targets = [json, Target("nginx", "lb1", $"http://127.0.0.1:{nginxPort}/nginx_status", "nginx"), Target("cart", "web9", dead, "json")];
            c.Checks.Hosts.Add(new HostOptions
            {
                Name = "cart",
                Checks =
                [
                    UpCheck("web1-up", "scrape.cart.web1.up"),
                    UpCheck("web9-up", "scrape.cart.web9.up"),
                ],
            });
        });
        using var http = new HttpClient { BaseAddress = app.HttpBase };

        Assert.Equal(1027, await LastAsync(http, "scrape.cart.web1.counters.requests"));
        Assert.Equal(104857600, await LastAsync(http, "scrape.cart.web1.vm.memory.total"));
        Assert.Equal(140.25, await LastAsync(http, "scrape.cart.web1.timings.1.mean_ms"));
        Assert.Equal(2, await LastAsync(http, "scrape.cart.web1.counters.errors.5xx"));
        Assert.Equal(1, await LastAsync(http, "scrape.cart.web1.healthy"));
        Assert.Empty(await RenderJson.GetAsync(http, "scrape.cart.web1.vm.schedulers.*", "-5min")); // excluded
        stats.Requests = 2000;
        await Poll.UntilAsync(async () => await LastAsync(http, "scrape.cart.web1.counters.requests") == 2000, TimeSpan.FromSeconds(30), "the new counter value");

        // nginx counts our own scrapes: requests grows, one connection (ours) is active.
        Assert.True(await LastAsync(http, "scrape.nginx.lb1.requests") >= 1);
        Assert.True(await LastAsync(http, "scrape.nginx.lb1.active") >= 1);
        Assert.Equal(1, await LastAsync(http, "scrape.nginx.lb1.up"));
        Assert.InRange(await LastAsync(http, "scrape.nginx.lb1.scrape_duration"), 0.001, 900);

        Assert.Equal(0, await LastAsync(http, "scrape.cart.web9.up"));
        await Poll.UntilAsync(async () => await StateAsync(http, "web9-up") == "critical", TimeSpan.FromSeconds(30), "the dead target CRITICAL");
        await Poll.UntilAsync(async () => await StateAsync(http, "web1-up") == "ok", TimeSpan.FromSeconds(30), "the live target OK");
        // Counted: in this app's stats, and as a family on /metrics (whose values every app in this test process shares).
        Assert.True(app.App.Services.GetRequiredService<Func<ScrapeStats>>()().Failures["connect"] >= 1);
        Assert.Contains("observe_scrape_failures_total{reason=\"connect\"}", await http.GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task Prometheus_own_metrics_and_node_exporter_become_tagged_series_counters_as_they_are()
    {
        await using var prometheus = await PrometheusPeer.StartAsync("scrape-prometheus");
        var nodePort = FreePort.Get();
        var nodeDir = Repo.TempDir("node-exporter");
        await using var node = PeerProcess.Start("/usr/bin/prometheus-node-exporter",
            [$"--web.listen-address=127.0.0.1:{nodePort}", "--collector.disable-defaults", "--collector.cpu", "--collector.loadavg", "--collector.meminfo"],
            nodeDir, Path.Combine(nodeDir, "node-exporter.log"));
        await Tcp.WaitForPortAsync(nodePort, TimeSpan.FromSeconds(20), "node exporter to listen");
        await using var app = await ObserveApp.StartAsync(c =>
        {
            c.Collector.Statsd.Enabled = false;
            c.Scrape.Targets =
            [
                Target("prometheus", "p1", $"http://127.0.0.1:{prometheus.Port}/metrics", "prometheus"),
                Target("node", "n1", $"http://127.0.0.1:{nodePort}/metrics", "prometheus"),
            ];
        });
        using var http = new HttpClient { BaseAddress = app.HttpBase };

        // Labels are tags: prometheus_build_info{version="2.42.0",…} 1.
        var build = await SeriesAsync(http, "seriesByTag('name=scrape.prometheus.p1.prometheus_build_info')");
        Assert.Contains(build, s => s.Name.Contains(";version=2.42") && s.Last == 1);
        // A histogram is its _bucket{le} series, the +Inf bucket equal to _count.
        var buckets = await SeriesAsync(http, "seriesByTag('name=scrape.prometheus.p1.prometheus_http_request_duration_seconds_bucket','le=+Inf')");
        Assert.NotEmpty(buckets);
        Assert.Contains(await SeriesAsync(http, "seriesByTag('name=scrape.prometheus.p1.go_gc_duration_seconds','quantile=1')"), s => s.Last >= 0);
        Assert.True(await LastAsync(http, "scrape.prometheus.p1.go_goroutines") > 0);

        // node_cpu_seconds_total is a counter stored as it is: what the exporter says now is no less than what was stored.
        var idle = await SeriesAsync(http, "seriesByTag('name=scrape.node.n1.node_cpu_seconds_total','mode=idle','cpu=0')");
        var stored = Assert.Single(idle).Last;
        var exposed = (await new HttpClient().GetStringAsync($"http://127.0.0.1:{nodePort}/metrics")).Split('\n')
            .Single(l => l.StartsWith("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}"));
        var now = double.Parse(exposed.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(stored, now - 120, now);
        Assert.True(await LastAsync(http, "scrape.node.n1.node_memory_MemTotal_bytes") > 0);
        Assert.Equal(1, await LastAsync(http, "scrape.node.n1.up"));
    }

    private static CheckOptions UpCheck(string name, string target) => new()
    {
        Name = name, Kind = "metric", Target = target, Window = "30s", Aggregate = "last", Critical = "1:", NoData = "unknown",
        CheckInterval = "1s", RetryInterval = "1s", MaxCheckAttempts = 1,
    };

    /// <summary>The last non-null value of one series, polled until it is there.</summary>
    private static async Task<double> LastAsync(HttpClient http, string target)
    {
        double value = double.NaN;
        await Poll.UntilAsync(async () =>
        {
            var points = await RenderJson.GetAsync(http, target, "-5min");
            if (points.Count == 0) return false;
            value = points[^1].Value;
            return true;
        }, TimeSpan.FromSeconds(30), target);
        return value;
    }

    /// <summary>Every series of a target with its last non-null value, polled until there is one.</summary>
    private static async Task<List<(string Name, double Last)>> SeriesAsync(HttpClient http, string target)
    {
        var result = new List<(string, double)>();
        await Poll.UntilAsync(async () =>
        {
            var json = await http.GetFromJsonAsync<JsonElement>($"/render?target={Uri.EscapeDataString(target)}&from=-5min&format=json");
            result = RenderJson.Series(json).Where(s => s.Points.Count > 0).Select(s => (s.Target, s.Points[^1].Value)).ToList();
            return result.Count > 0;
        }, TimeSpan.FromSeconds(30), target);
        return result;
    }

    private static async Task<string> StateAsync(HttpClient http, string check) =>
        (await http.GetFromJsonAsync<JsonElement>($"/api/checks/cart/{check}")).GetProperty("state").ToString();
}
