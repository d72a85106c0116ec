using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Observe.Alerting;
using Observe.Collector;
using Observe.Host;
using Observe.TestSupport;

namespace Observe.Observe.Tests;

/// <summary>
/// Issue 19: the alerting stage's stats come from its one list like every other stage's. Before, /metrics counted a
/// notification dropped from a full queue in observe_alerting_notifications_failed_total while observe.notifications.failed
/// did not: now failed means given up after every retry in both, and a drop is counted as dropped in both.
/// </summary>
public class AlertingStatsTests
{
    [Fact]
    public async Task A_notification_dropped_from_a_full_queue_is_dropped_not_failed_on_metrics_and_in_observe_series()
    {
        // A webhook that accepts the connection and never answers: the first notification hangs in flight, the second
        // waits in the one-slot queue, the third pushes it out (dropped). Nothing is given up after retries.
        using var hang = new TcpListener(IPAddress.Loopback, 0);
        hang.Start();
        var accepted = new List<TcpClient>();
        var accepting = Task.Run(async () => { try { while (true) accepted.Add(await hang.AcceptTcpClientAsync()); } catch (Exception) { } });
        var options = new AlertingOptions
        {
            Route = new RouteOptions { Receiver = "drop-test", GroupBy = ["host"], GroupWait = "0s", GroupInterval = "1s", RepeatInterval = "4h" },
            Receivers = [new ReceiverOptions { Name = "drop-test", Webhook = new() { Url = $"http://127.0.0.1:{((IPEndPoint)hang.LocalEndpoint).Port}/hook" } }],
            Delivery = new DeliveryOptions { QueueCapacity = 1, MaxAttempts = 1, Timeout = "60s" },
        };
        await using var sp = new ServiceCollection().AddObserveAlerting(options).BuildServiceProvider();
        var hosted = sp.GetServices<IHostedService>().ToList();
        foreach (var h in hosted) await h.StartAsync(default);
        var sink = sp.GetRequiredService<IAlertSink>();
        foreach (var host in new[] { "a", "b", "c" })
            await sink.SendAsync(new AlertEvent("checks", $"check/{host}/http", AlertStatus.Firing, "critical", $"{host}/http is CRITICAL", null,
                new Dictionary<string, string> { ["host"] = host, ["check"] = "http" }, DateTimeOffset.UtcNow), default);

        // The observe.* series, as each flush writes them.
        var sources = new SelfMetricsSources(sp);
        sources.Bind();
        var self = sources.Create(10_000);
        double dropped = 0, failed = 0;
        var t = 1000L;
        await Poll.UntilAsync(() =>
        {
            var points = new List<MetricPoint>();
            self.AddPoints(t++, points);
            dropped += points.Single(p => p.Path == "observe.notifications.dropped_per_second").Value;
            failed += points.Single(p => p.Path == "observe.notifications.failed_per_second").Value;
            return dropped > 0;
        }, TimeSpan.FromSeconds(15), "the drop in observe.notifications.dropped_per_second");
        Assert.Equal(0, failed);

        // /metrics, generated as the host generates it, on the registry the host serves (where main's hand-written counters lived).
        StatsExport.ToPrometheus(ObserveStats.Sources(sp), Prometheus.Metrics.DefaultRegistry);
        using var text = new MemoryStream();
        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(text);
        var metrics = System.Text.Encoding.UTF8.GetString(text.ToArray()).Split('\n');
        const string labels = "{receiver=\"drop-test\",integration=\"webhook\"}";
        double Sample(string family) => metrics.Where(l => l.StartsWith(family + labels + " ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(family + labels + " ").Length..], System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Single();
        // None failed (main counted the drop here), one or two dropped (the worker may not have taken the first before the third arrived).
        Assert.Equal(0, Sample("observe_alerting_notifications_failed_total"));
        Assert.InRange(Sample("observe_alerting_notifications_dropped_total"), 1, 2);

        foreach (var h in hosted) await h.StopAsync(default);
        hang.Stop();
        foreach (var c in accepted) c.Dispose();
        await accepting;
    }
}
