using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Observe.Storage;
using Observe.Storage.Tests.Sinks;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>The log fan-out feeds every log sink: logs posted to the host reach both the embedded store and the
/// Elasticsearch sink (the in-test endpoint replaying recorded Elasticsearch 8 responses).</summary>
public class LogsToElasticsearchTests
{
    [Fact]
    public async Task RecordedElasticsearchResponses_logs_posted_to_the_host_reach_the_store_and_the_elasticsearch_sink()
    {
        await using var es = await RecordedElasticsearch.StartAsync();
        es.Reply(200, "template-ack.json");
        es.Reply(200, "bulk-ok-3.json");
        await using var app = await ObserveApp.StartAsync(c =>
        {
            c.Sinks.Elasticsearch.Enabled = true;
            c.Sinks.Elasticsearch.Url = es.Url;
            c.Logs.BatchMaxEvents = 3; // the three posted logs are one batch, so one bulk request of three items
        });
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        var posted = await http.PostAsync("/api/logs", new StringContent(
            "{\"msg\":\"es one\",\"service\":\"shop\",\"level\":\"error\"}\n{\"msg\":\"es two\",\"app\":\"cart\"}\n{\"short_message\":\"es three\",\"level\":4,\"_order\":\"A-17\"}\n"));
        Assert.Equal(202, (int)posted.StatusCode);

        var spool = Assert.Single(app.App.Services.GetServices<ISpoolStatsSource>(), s => s.Stats.Sink == "elasticsearch");
        await Poll.UntilAsync(() => spool.Stats.Delivered == 1, TimeSpan.FromSeconds(20), "the batch delivered to Elasticsearch");
        var bulk = Assert.Single(es.Requests, r => r.Method == "POST").Body;
        foreach (var text in new[] { "es one", "es two", "es three", "A-17", "\"shop\"", "\"cart\"" }) Assert.Contains(text, bulk);
        var stored = await http.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/logs?q=es");
        Assert.Equal(3, stored.GetProperty("count").GetInt32());
        var stats = app.App.Services.GetRequiredService<Func<Observe.Collector.LogIngestStats>>()();
        Assert.Equal(["elasticsearch", "logstore"], stats.Sinks.Select(s => s.Name).Order());
    }
}
