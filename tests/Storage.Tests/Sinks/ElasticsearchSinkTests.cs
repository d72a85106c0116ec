using System.Buffers;
using System.Text.Json;
using Observe.Collector;
using Observe.Storage.Sinks.Elasticsearch;
using Observe.Storage.Sinks.Spool;
using Observe.TestSupport;

namespace Observe.Storage.Tests.Sinks;

public class ElasticsearchSinkTests : IAsyncLifetime
{
    private RecordedElasticsearch _es = null!;
    private readonly string _dir = Repo.TempDir("es-sink");
    private string DeadLetter => Path.Combine(_dir, "dead-letter.ndjson");

    public async Task InitializeAsync() => _es = await RecordedElasticsearch.StartAsync();
    public async Task DisposeAsync() => await _es.DisposeAsync();

    private ElasticsearchBulkTarget Target(Action<ElasticsearchSinkOptions>? configure = null)
    {
        var o = new ElasticsearchSinkOptions { Enabled = true, Url = _es.Url, ApiKey = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==" };
        configure?.Invoke(o);
        return new ElasticsearchBulkTarget(o, DeadLetter);
    }

    private static LogEvent Event(int i, DateTimeOffset? at = null) =>
        new(at ?? new DateTimeOffset(2026, 11, 23, 12, 0, i, TimeSpan.Zero), "error", "web1", "shop", $"message {i} \"quoted\"\nsecond line",
            new Dictionary<string, string> { ["request_id"] = $"r{i}", ["level"] = "shadows nothing" });

    private static byte[] Encode(params LogEvent[] events)
    {
        var w = new ArrayBufferWriter<byte>();
        new ElasticsearchBulkEncoder(new IndexNamePattern("observe-logs-{yyyy.MM.dd}")).Encode(events, w);
        return w.WrittenSpan.ToArray();
    }

    private static List<JsonElement> Lines(string ndjson) =>
        ndjson.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Fact]
    public async Task RecordedElasticsearchResponses_all_ok_installs_the_template_first_then_bulk_indexes_by_event_day()
    {
        _es.Reply(200, "template-ack.json");
        _es.Reply(200, "bulk-ok-3.json");
        using var target = Target();
        var record = Encode(Event(1, new DateTimeOffset(2026, 11, 22, 23, 59, 59, TimeSpan.Zero)), Event(2), Event(3, new DateTimeOffset(2026, 11, 24, 0, 30, 0, TimeSpan.FromHours(1))));
        var outcome = await target.DeliverAsync(record, default);
        Assert.Equal(DeliveryStatus.Delivered, outcome.Status);

        var requests = _es.Requests.ToList();
        Assert.Equal(2, requests.Count);
        var template = requests[0];
        Assert.Equal(("PUT", "/_index_template/observe-logs"), (template.Method, template.PathAndQuery));
        var t = JsonDocument.Parse(template.Body).RootElement;
        Assert.Equal("observe-logs-*", t.GetProperty("index_patterns")[0].GetString());
        Assert.Equal("flattened", t.GetProperty("template").GetProperty("mappings").GetProperty("properties").GetProperty("fields").GetProperty("type").GetString());

        var bulk = requests[1];
        Assert.Equal("POST", bulk.Method);
        Assert.StartsWith("/_bulk?filter_path=", bulk.PathAndQuery);
        Assert.Equal("application/x-ndjson", bulk.ContentType);
        Assert.StartsWith("ApiKey ", bulk.Authorization);
        Assert.EndsWith("\n", bulk.Body);
        var lines = Lines(bulk.Body);
        Assert.Equal(6, lines.Count);
        // Daily indices by the event's UTC day (the third event is 23:30 UTC on the 23rd).
        Assert.Equal(["observe-logs-2026.11.22", "observe-logs-2026.11.23", "observe-logs-2026.11.23"],
            lines.Where((_, i) => i % 2 == 0).Select(a => a.GetProperty("create").GetProperty("_index").GetString()));
        var doc = lines[1];
        Assert.Equal("2026-11-22T23:59:59.000Z", doc.GetProperty("@timestamp").GetString());
        Assert.Equal("message 1 \"quoted\"\nsecond line", doc.GetProperty("message").GetString());
        Assert.Equal("r1", doc.GetProperty("fields").GetProperty("request_id").GetString());
        Assert.Equal("error", doc.GetProperty("level").GetString());
        Assert.Equal(3, target.ItemsDelivered);
        Assert.False(File.Exists(DeadLetter));
    }

    [Fact]
    public async Task RecordedElasticsearchResponses_mixed_items_retry_only_429_and_5xx_dead_letter_the_400_and_accept_the_409()
    {
        _es.Reply(200, "template-ack.json");
        _es.Reply(200, "bulk-mixed.json");
        _es.Reply(200, "bulk-ok-2.json");
        using var target = Target();
        var events = Enumerable.Range(1, 5).Select(i => Event(i)).ToArray();
        var record = Encode(events);

        var outcome = await target.DeliverAsync(record, default);
        Assert.Equal(DeliveryStatus.RetryRemaining, outcome.Status);
        Assert.Contains("2 of 5", outcome.Error);
        // Exactly the action/document pairs of items 2 (429) and 5 (503), byte for byte, in order.
        var pairs = ElasticsearchBulkTarget.SplitPairs(record);
        Assert.Equal(pairs[1].ToArray().Concat(pairs[4].ToArray()), outcome.Remaining.ToArray());
        Assert.Equal((2, 2, 1), (target.ItemsDelivered, target.ItemsRetried, target.ItemsRejected));

        var dead = Lines(await File.ReadAllTextAsync(DeadLetter));
        var entry = Assert.Single(dead);
        Assert.Equal(400, entry.GetProperty("status").GetInt32());
        Assert.Equal("document_parsing_exception", entry.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains("message 3", entry.GetProperty("request").GetString());

        // The spool hands back only the remaining items; the recorded answer for two items is all OK.
        var second = await target.DeliverAsync(outcome.Remaining, default);
        Assert.Equal(DeliveryStatus.Delivered, second.Status);
        var lastBulk = _es.Requests.Last();
        Assert.Equal(["message 2 \"quoted\"\nsecond line", "message 5 \"quoted\"\nsecond line"],
            Lines(lastBulk.Body).Where((_, i) => i % 2 == 1).Select(d => d.GetProperty("message").GetString()));
        Assert.Equal(4, target.ItemsDelivered);
        Assert.Single(Lines(await File.ReadAllTextAsync(DeadLetter)));
    }

    [Theory]
    [InlineData(429, "whole-429.json", "es_rejected_execution_exception")]
    [InlineData(503, "whole-503.json", "no master")]
    public async Task RecordedElasticsearchResponses_whole_request_429_and_503_retry_the_whole_record_later(int status, string file, string reason)
    {
        _es.Reply(200, "template-ack.json");
        _es.Reply(status, file);
        using var target = Target();
        var outcome = await target.DeliverAsync(Encode(Event(1), Event(2)), default);
        Assert.Equal(DeliveryStatus.RetryLater, outcome.Status);
        Assert.Contains(reason, outcome.Error);
        Assert.Equal((0, 0, 0), (target.ItemsDelivered, target.ItemsRetried, target.ItemsRejected));
        Assert.False(File.Exists(DeadLetter));
    }

    [Fact]
    public async Task RecordedElasticsearchResponses_a_refused_template_holds_back_every_bulk_request()
    {
        _es.Reply(503, "whole-503.json");
        _es.Reply(200, "template-ack.json");
        _es.Reply(200, "bulk-ok-2.json");
        using var target = Target(o => { o.ApiKey = null; o.Username = "elastic"; o.Password = "changeme"; });
        var record = Encode(Event(1), Event(2));
        var first = await target.DeliverAsync(record, default);
        Assert.Equal(DeliveryStatus.RetryLater, first.Status);
        Assert.Contains("index template", first.Error);
        Assert.Single(_es.Requests); // no _bulk before the template is in
        Assert.Equal(DeliveryStatus.Delivered, (await target.DeliverAsync(record, default)).Status);
        Assert.Equal(["PUT", "PUT", "POST"], _es.Requests.Select(r => r.Method));
        Assert.Equal("Basic " + Convert.ToBase64String("elastic:changeme"u8), _es.Requests.Last().Authorization);
    }

    [Fact]
    public async Task RecordedElasticsearchResponses_through_the_disk_spool_only_the_retryable_items_are_sent_again()
    {
        _es.Reply(200, "template-ack.json");
        _es.Reply(200, "bulk-mixed.json");
        _es.Reply(503, "whole-503.json");
        _es.Reply(200, "bulk-ok-2.json");
        var target = Target();
        var pipeline = new SpoolPipeline("es", Path.Combine(_dir, "spool"), target, new SpoolLimits(), TimeSpan.FromMilliseconds(200));
        await using (var sink = new SpooledLogSink(pipeline, new ElasticsearchBulkEncoder(new IndexNamePattern("observe-logs-{yyyy.MM.dd}"))))
        {
            await sink.WriteAsync(Enumerable.Range(1, 5).Select(i => Event(i)).ToList(), default);
            await Poll.UntilAsync(() => sink.Stats.Records == 0 && _es.Requests.Count == 4, TimeSpan.FromSeconds(20), "the spool drained");
            Assert.Equal((1, 1, 0L), (sink.Stats.Appended, sink.Stats.Delivered, sink.Stats.Rejected));
        }
        var bulks = _es.Requests.Where(r => r.Method == "POST").Select(r => Lines(r.Body).Where((_, i) => i % 2 == 1)
            .Select(d => d.GetProperty("message").GetString()![..9]).ToList()).ToList();
        // The whole batch once; then only items 2 and 5, refused once as a whole (503) and sent again.
        Assert.Equal([["message 1", "message 2", "message 3", "message 4", "message 5"], ["message 2", "message 5"], ["message 2", "message 5"]], bulks);
        Assert.Equal((4, 1), (target.ItemsDelivered, target.ItemsRejected));
        Assert.Single(Lines(await File.ReadAllTextAsync(DeadLetter)));
    }

    [Theory]
    [InlineData("observe-logs-{yyyy.MM.dd}", null)]
    [InlineData("logs-{yyyy.MM}", null)]
    [InlineData("Observe-{yyyy}", "lowercase")]
    [InlineData("_x-{yyyy}", "may not start")]
    [InlineData("a b-{yyyy}", "forbids")]
    [InlineData("", "required")]
    public void Index_patterns_are_checked_like_Elasticsearch_checks_names(string pattern, string? problem)
    {
        var p = IndexNamePattern.Problem(pattern);
        if (problem == null) Assert.Null(p); else Assert.Contains(problem, p);
    }
}
