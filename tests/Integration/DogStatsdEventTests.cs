using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Observe.TestSupport;

namespace Observe.Integration;

public class DogStatsdEventTests
{
    [Fact]
    public async Task A_dogstatsd_event_becomes_a_graphite_event_for_grafana_annotations()
    {
        await using var app = await ObserveApp.StartAsync();
        using (var udp = new UdpClient())
        {
            var when = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60;
            var line = $"_e{{15,11}}:Deploy finished|shop v1.2.3|d:{when}|h:web1|t:success|#service:shop,env:prod";
            await udp.SendAsync(Encoding.UTF8.GetBytes(line), app.StatsdEndpoint);
        }
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        JsonElement events = default;
        await Poll.UntilAsync(async () =>
        {
            events = await http.GetFromJsonAsync<JsonElement>("/events/get_data?from=-1h&until=now&tags=dogstatsd");
            return events.GetArrayLength() == 1;
        }, TimeSpan.FromSeconds(10), "event stored");
        var e = events[0];
        Assert.Equal("Deploy finished", e.GetProperty("what").GetString());
        Assert.Equal("shop v1.2.3", e.GetProperty("data").GetString());
        var tags = e.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.Contains("service:shop", tags);
        Assert.Contains("success", tags);
        Assert.Equal(1, app.Stats.Statsd.EventsReceived);
    }
}
