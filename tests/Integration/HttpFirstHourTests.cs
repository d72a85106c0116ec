using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Observe.Checks;

namespace Observe.Integration;

/// <summary>HTTP calls as a new user types them from the docs: curl without a JSON content type.</summary>
public class HttpFirstHourTests
{
    [Fact]
    public async Task An_event_posted_as_curl_d_sends_it_without_a_JSON_content_type_is_stored()
    {
        await using var app = await ObserveApp.StartAsync(c => c.Collector.Statsd.Enabled = false);
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        // curl -d '…' sends Content-Type: application/x-www-form-urlencoded; graphite-web reads the body as JSON anyway.
        var body = """{"what": "deploy api 1.4.2", "tags": ["deploy", "api", "prod"], "data": "by alice"}""";
        var r = await http.PostAsync("/events/", new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var events = await http.GetFromJsonAsync<JsonElement>("/events/get_data?from=-1h&tags=deploy");
        Assert.Equal("deploy api 1.4.2", Assert.Single(events.EnumerateArray()).GetProperty("what").GetString());
    }

    [Fact]
    public async Task A_passive_result_without_a_JSON_content_type_is_told_so()
    {
        await using var app = await ObserveApp.StartAsync(c =>
        {
            c.Collector.Statsd.Enabled = false;
            c.Checks.Hosts = [new HostOptions { Name = "web1", Checks = [new CheckOptions { Name = "backup", Kind = "passive", FreshnessThreshold = "1h" }] }];
        });
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        var r = await http.PostAsync("/api/checks/web1/backup/result", new StringContent("""{"status": 0, "output": "ok"}""", Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("expected Content-Type: application/json", (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        var ok = await http.PostAsync("/api/checks/web1/backup/result", new StringContent("""{"status": 0, "output": "ok"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, ok.StatusCode);
    }
}
