using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Observe.Collector;
using Observe.Storage;
using Observe.Storage.Tests.Sinks;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>The whole host with <c>sinks.elasticsearch</c> on, against the in-test endpoint replaying recorded Elasticsearch 8 responses.</summary>
public class ElasticsearchSinkHostTests
{
    [Fact]
    public async Task RecordedElasticsearchResponses_the_host_installs_the_template_on_start_and_its_log_sink_delivers_through_the_spool()
    {
        await using var es = await RecordedElasticsearch.StartAsync();
        es.Reply(200, "template-ack.json");
        es.Reply(429, "whole-429.json");
        es.Reply(200, "bulk-ok-2.json");
        await using var app = await ObserveApp.StartAsync(c =>
        {
            c.Sinks.Elasticsearch.Enabled = true;
            c.Sinks.Elasticsearch.Url = es.Url;
            c.Sinks.Elasticsearch.Username = "elastic";
            c.Sinks.Elasticsearch.Password = "changeme-changeme";
            c.Sinks.Spool.RetryMaxSeconds = 0.5;
        });
        // The template goes in at start, before any log arrives.
        await Poll.UntilAsync(() => es.Requests.Any(r => r.Method == "PUT"), TimeSpan.FromSeconds(10), "index template PUT at start");
        Assert.Equal("/_index_template/observe-logs", es.Requests.Single().PathAndQuery);

        var sink = Assert.Single(app.App.Services.GetServices<ILogSink>(), s => s.Name == "elasticsearch");
        var at = new DateTimeOffset(2026, 11, 23, 13, 0, 0, TimeSpan.Zero);
        await sink.WriteAsync([
            new LogEvent(at, "error", "web1", "shop", "payment failed", new Dictionary<string, string> { ["order"] = "42" }),
            new LogEvent(at.AddSeconds(1), "info", "web2", "shop", "ok", new Dictionary<string, string>()),
        ], default);

        var spool = Assert.Single(app.App.Services.GetServices<ISpoolStatsSource>(), s => s.Stats.Sink == "elasticsearch");
        // Whole request refused with 429 first, then taken: delivered once, nothing rejected, nothing waiting.
        await Poll.UntilAsync(() => spool.Stats.Delivered == 1, TimeSpan.FromSeconds(20), "the batch delivered after the 429");
        Assert.Equal((0L, 0L), (spool.Stats.Records, spool.Stats.Rejected));
        var bulks = es.Requests.Where(r => r.Method == "POST").ToList();
        Assert.Equal(2, bulks.Count);
        Assert.Equal(bulks[0].Body, bulks[1].Body); // the same record, same ids: a replay cannot duplicate
        var action = JsonDocument.Parse(bulks[0].Body.Split('\n')[0]).RootElement.GetProperty("create");
        Assert.Equal("observe-logs-2026.11.23", action.GetProperty("_index").GetString());
        Assert.StartsWith("Basic ", bulks[0].Authorization);
    }
}
