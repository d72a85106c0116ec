using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector.Logs;
using Observe.Collector.Pipeline;
using Observe.TestSupport;

namespace Observe.Collector.Tests;

public class LogPipelineTests
{
    private sealed class LogRecorder : ILogSink
    {
        public readonly List<IReadOnlyList<LogEvent>> Batches = [];
        public string Name => "recorder";
        public ValueTask WriteAsync(IReadOnlyList<LogEvent> events, CancellationToken ct)
        {
            lock (Batches) Batches.Add(events);
            return ValueTask.CompletedTask;
        }
        public int Count { get { lock (Batches) return Batches.Sum(b => b.Count); } }
    }

    private static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 3, TimeSpan.Zero);

    private static (LogPipeline, LogRecorder, LogRecorder, RecordingMetricSink, SinkFanout, ManualTimeProvider) Make(int batchMax = 1000)
    {
        var clock = new ManualTimeProvider(Start);
        var a = new LogRecorder();
        var b = new LogRecorder();
        var metrics = new RecordingMetricSink("metrics");
        var fanout = new SinkFanout([metrics], 100, NullLogger.Instance);
        var p = new LogPipeline(new LogsOptions { BatchMaxEvents = batchMax, BatchMaxDelayMs = 100 }, [a, b], fanout, 10_000, clock, NullLogger.Instance);
        return (p, a, b, metrics, fanout, clock);
    }

    private static void Send(LogPipeline p, string json) => Assert.True(p.HandleJson(Encoding.UTF8.GetBytes(json), 0, out var e), e);

    [Fact]
    public async Task Every_log_sink_gets_every_batch_by_count_or_by_delay()
    {
        var (p, a, b, _, fanout, clock) = Make(batchMax: 3);
        await using var disposeFanout = fanout;
        for (var i = 0; i < 4; i++) Send(p, $$"""{"message":"m{{i}}"}""");
        await Poll.UntilAsync(() => a.Count == 3 && b.Count == 3, TimeSpan.FromSeconds(5), "the full batch of 3");
        clock.Advance(TimeSpan.FromMilliseconds(100));
        await Poll.UntilAsync(() => a.Count == 4 && b.Count == 4, TimeSpan.FromSeconds(5), "the 4th event after the batch delay");
        Assert.Equal(["m0", "m1", "m2", "m3"], a.Batches.SelectMany(x => x).Select(e => e.Message));
        Assert.Equal(2, p.Stats(null, null, 0).Sinks[1].BatchesWritten);
        await p.DisposeAsync();
    }

    [Fact]
    public async Task Counts_per_service_and_level_become_counters_on_the_flush_boundary()
    {
        var (p, _, _, metrics, fanout, clock) = Make();
        await using var disposeFanout = fanout;
        Send(p, """{"message":"a","service":"shop","level":"error"}""");
        Send(p, """{"message":"b","service":"shop","level":3}""");
        Send(p, """{"message":"c","service":"shop.eu/1","level":"warning"}""");
        Send(p, """{"message":"d"}""");
        clock.Advance(TimeSpan.FromSeconds(7)); // to 12:00:10
        await Poll.UntilAsync(() => metrics.Snapshot().Count == 1, TimeSpan.FromSeconds(5), "the first flush");
        var first = metrics.Snapshot()[0];
        Assert.Equal(Start.AddSeconds(7).ToUnixTimeSeconds(), first.Timestamp);
        Assert.Equal(new Dictionary<string, double> { ["logs.shop.error"] = 2, ["logs.shop_eu_1.warn"] = 1, ["logs.unknown.info"] = 1 },
            first.Points.ToDictionary(x => x.Path, x => x.Value));
        Send(p, """{"message":"e","service":"shop","level":"error"}""");
        clock.Advance(TimeSpan.FromSeconds(10));
        await Poll.UntilAsync(() => metrics.Snapshot().Count == 2, TimeSpan.FromSeconds(5), "the second flush");
        // An idle counter goes on as 0, as Etsy statsd's counters do.
        Assert.Equal(new Dictionary<string, double> { ["logs.shop.error"] = 1, ["logs.shop_eu_1.warn"] = 0, ["logs.unknown.info"] = 0 },
            metrics.Snapshot()[1].Points.ToDictionary(x => x.Path, x => x.Value));
        await p.DisposeAsync();
    }

    [Fact]
    public async Task Rejects_are_counted_per_reason()
    {
        var (p, _, _, _, fanout, _) = Make();
        await using var disposeFanout = fanout;
        Assert.False(p.HandleJson("{oops"u8, 0, out var error));
        Assert.Contains("invalid JSON", error);
        Assert.False(p.HandleJson("""{"level":"info"}"""u8, 0, out _));
        p.Reject(LogRejectReason.ChunkTimeout);
        var rejected = p.Stats(null, null, 0).Rejected;
        Assert.Equal(1, rejected["invalid_json"]);
        Assert.Equal(1, rejected["missing_message"]);
        Assert.Equal(1, rejected["chunk_timeout"]);
        await p.DisposeAsync();
    }

    [Fact]
    public async Task Http_bodies_are_accepted_partially_and_bad_lines_named()
    {
        var (p, a, _, _, fanout, _) = Make();
        await using var disposeFanout = fanout;
        var nd = LogsHttpApi.Ingest("{\"msg\":\"one\"}\r\n\n[1]\n{\"msg\":\"three\"}\n{\"level\":\"x\"}"u8, p);
        Assert.Equal((2, 2), (nd.Accepted, nd.Rejected));
        Assert.Equal([3, 5], nd.Errors.Select(e => e.Line));
        Assert.Contains("no message", nd.Errors[1].Error);

        var array = LogsHttpApi.Ingest("[\n {\"msg\":\"a\"},\n 7,\n {\"msg\":\"b\"}\n]"u8, p);
        Assert.Equal((2, 1), (array.Accepted, array.Rejected));
        Assert.Equal(3, array.Errors.Single().Line);
        Assert.Contains("item 2", array.Errors[0].Error);

        var broken = LogsHttpApi.Ingest("[{\"msg\":\"c\"},\n{\"msg\":"u8, p);
        Assert.Equal((1, 1), (broken.Accepted, broken.Rejected));
        Assert.Contains("invalid JSON", broken.Errors[0].Error);

        await p.StopAsync(CancellationToken.None);
        Assert.Equal(["one", "three", "a", "b", "c"], a.Batches.SelectMany(x => x).Select(e => e.Message));
        await p.DisposeAsync();
    }
}
