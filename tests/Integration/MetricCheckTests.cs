using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Observe.Checks;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>Metric checks evaluate Graphite targets with functions against the real embedded store, as /render does.</summary>
public class MetricCheckTests
{
    [Fact]
    public async Task A_metric_check_with_functions_reads_the_store_and_goes_critical_on_the_ratio()
    {
        await using var app = await ObserveApp.StartAsync(c =>
        {
            c.Collector.Statsd.Enabled = false;
            c.Checks.Hosts.Add(new HostOptions
            {
                Name = "shop",
                Checks =
                [
                    new CheckOptions
                    {
                        Name = "error-ratio", Kind = "metric", CheckInterval = "1s", RetryInterval = "1s", MaxCheckAttempts = 1,
                        Target = "divideSeries(sumSeries(app.*.errors), sumSeries(app.*.requests))", Window = "10m", Aggregate = "avg",
                        Warning = "0.05", Critical = "0.1", NoData = "unknown",
                    },
                ],
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

    private static async Task<(string State, string Output)> State(HttpClient http, string check)
    {
        var s = await http.GetFromJsonAsync<JsonElement>($"/api/checks/shop/{check}");
        return (s.GetProperty("state").ToString(), s.GetProperty("output").GetString() ?? "");
    }
}
