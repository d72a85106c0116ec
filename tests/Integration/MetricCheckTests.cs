using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MimeKit;
using Observe.Alerting;
using Observe.Checks;
using Observe.TestSupport;
using SkiaSharp;

namespace Observe.Integration;

/// <summary>Metric checks evaluate Graphite targets with functions against the real embedded store, as /render does.</summary>
public class MetricCheckTests
{
    [Fact]
    public async Task A_metric_check_with_functions_reads_the_store_and_goes_critical_on_the_ratio()
    {
        await using var app = await ObserveApp.StartAsync(c =>
        {
            Shop(c, new CheckOptions
            {
                Name = "error-ratio", Target = "divideSeries(sumSeries(app.*.errors), sumSeries(app.*.requests))", Window = "10m", Aggregate = "avg",
                Warning = "0.05", Critical = "0.1", NoData = "unknown",
            });
        });
        using var http = new HttpClient { BaseAddress = app.HttpBase };

        // Before any data: no series → the no-data state (UNKNOWN).
        await Poll.UntilAsync(async () => (await State(http, "error-ratio")).State == "unknown", TimeSpan.FromSeconds(20), "UNKNOWN without data");

        // Two web heads over the last minutes: 30 errors of 100 requests in total → ratio 0.3 > 0.1.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var lines = new StringBuilder();
        foreach (var ago in new[] { 120, 60 })
        {
            lines.Append($"app.web1.errors 10 {now - ago}\napp.web1.requests 40 {now - ago}\n");
            lines.Append($"app.web2.errors 5 {now - ago}\napp.web2.requests 10 {now - ago}\n");
        }
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(app.GraphiteEndpoint);
            await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes(lines.ToString()));
        }
        var output = "";
        await Poll.UntilAsync(async () => (await State(http, "error-ratio")) is ("critical", var o) && (output = o) != null,
            TimeSpan.FromSeconds(30), "CRITICAL on the error ratio");
        Assert.StartsWith("METRIC CRITICAL - ", output);
        Assert.EndsWith(" = 0.3 (avg over 600s)", output);
    }

    [Fact]
    public async Task A_metric_checks_alert_mail_carries_the_graph_of_its_target_as_an_inline_png()
    {
        await using var smtp = await SmtpSink.StartAsync();
        await using var app = await ObserveApp.StartAsync(c =>
        {
            Shop(c, new CheckOptions { Name = "latency", Target = "app.latency", Window = "10m", Aggregate = "max", Warning = "100", Critical = "200", NoData = "ok" });
            c.Alerting = new AlertingOptions
            {
                Route = new RouteOptions { Receiver = "mail", GroupBy = ["host"], GroupWait = "0s", GroupInterval = "1s", RepeatInterval = "4h" },
                Receivers = [new ReceiverOptions { Name = "mail", Email = new() { To = ["ops@example.com"], GraphWindow = "3h" } }],
                Smtp = new SmtpOptions { Host = "127.0.0.1", Port = smtp.Port, Security = "none", From = "observe@example.com" },
            };
        });
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var lines = new StringBuilder();
        for (var ago = 600; ago >= 60; ago -= 60) lines.Append($"app.latency {(ago > 120 ? 50 : 500)} {now - ago}\n");
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(app.GraphiteEndpoint);
            await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes(lines.ToString()));
        }
        await Poll.UntilAsync(() => smtp.Messages().Count >= 1, TimeSpan.FromSeconds(30), "the alert mail");

        using var raw = new MemoryStream(Encoding.UTF8.GetBytes(smtp.Messages()[0]));
        var mail = await MimeMessage.LoadAsync(raw);
        Assert.Contains("PROBLEM shop/latency", mail.Subject + mail.TextBody);
        var png = Assert.Single(mail.BodyParts.OfType<MimePart>(), p => p.ContentType.MimeType == "image/png");
        using var bytes = new MemoryStream();
        await png.Content!.DecodeToAsync(bytes);
        using var image = SKBitmap.Decode(bytes.ToArray());
        Assert.NotNull(image);
        Assert.Equal((600, 300), (image!.Width, image.Height));
        Assert.Contains($"cid:{png.ContentId}", mail.HtmlBody); // shown inline, not as an attachment
    }

    /// <summary>The metric check on host "shop", run every second and hard at its first failure; StatsD off.</summary>
    private static void Shop(Observe.Host.Config.ObserveConfig c, CheckOptions check)
    {
        c.Collector.Statsd.Enabled = false;
        check.Kind = "metric"; check.CheckInterval = "1s"; check.RetryInterval = "1s"; check.MaxCheckAttempts = 1;
        c.Checks.Hosts.Add(new HostOptions { Name = "shop", Checks = [check] });
    }

    private static async Task<(string State, string Output)> State(HttpClient http, string check)
    {
        var s = await http.GetFromJsonAsync<JsonElement>($"/api/checks/shop/{check}");
        return (s.GetProperty("state").ToString(), s.GetProperty("output").GetString() ?? "");
    }
}
