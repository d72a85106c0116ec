// Prometheus sinks: dotnet run -c Release --project bench/Observe.Bench -- --prometheus [--seconds N]
// Times the remote-write encoding of a realistic 10 000-point flush (name mapping + protobuf + snappy), the snappy
// block codec alone, and the /metrics exposition (write a flush, render the page).
using System.Buffers;
using System.Diagnostics;
using Observe.Collector;
using Observe.Storage.Sinks.Prometheus;

namespace Observe.Bench;

internal static class PrometheusBench
{
    public static int Run(string[] args)
    {
        var seconds = args.SkipWhile(a => a != "--seconds").Skip(1).Select(double.Parse).FirstOrDefault(3);
        var batch = Flush(10_000, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var mapper = new PrometheusNameMapper([
            new PrometheusMappingOptions { Match = "stats.timers.*.*.*", Name = "timer_${3}", Labels = { ["service"] = "$1", ["endpoint"] = "$2" } },
        ]);
        Console.WriteLine($"flush: {batch.Points.Count} points (timers of 40 services × 25 endpoints × 8 stats, counters, tagged counters, gauges)");
        Console.WriteLine($"load average at start: {File.ReadAllText("/proc/loadavg").Trim()}");

        // 1. Whole remote-write record: mapping (cached after the first flush) + protobuf + snappy.
        var encoder = new RemoteWriteEncoder(mapper);
        var record = new ArrayBufferWriter<byte>(1 << 20);
        encoder.Encode(batch, record); // warm: JIT, mapping cache
        var (n, elapsed) = Repeat(seconds, () => { record.ResetWrittenCount(); encoder.Encode(batch, record); });
        var raw = SnappyBlock.DecodedLength(record.WrittenSpan);
        Console.WriteLine($"remote-write encode: {n / elapsed.TotalSeconds:F0} flushes/s = {n * batch.Points.Count / elapsed.TotalSeconds / 1e6:F2} M points/s; " +
                          $"body {raw} B protobuf → {record.WrittenCount} B snappy ({(double)record.WrittenCount / raw:P1}), {(double)record.WrittenCount / batch.Points.Count:F1} B/point");

        // 2. Snappy alone on that protobuf body.
        var body = SnappyBlock.Decode(record.WrittenSpan);
        var dst = new byte[SnappyBlock.MaxEncodedLength(body.Length)];
        (n, elapsed) = Repeat(seconds, () => SnappyBlock.Encode(body, dst));
        Console.WriteLine($"snappy encode: {n * (double)body.Length / elapsed.TotalSeconds / 1e6:F0} MB/s (uncompressed input)");
        var compressed = record.WrittenSpan.ToArray();
        (n, elapsed) = Repeat(seconds, () => SnappyBlock.Decode(compressed));
        Console.WriteLine($"snappy decode (test decoder): {n * (double)body.Length / elapsed.TotalSeconds / 1e6:F0} MB/s (uncompressed output)");
        var random = new byte[body.Length];
        new Random(1).NextBytes(random);
        (n, elapsed) = Repeat(seconds, () => SnappyBlock.Encode(random, dst));
        Console.WriteLine($"snappy encode, incompressible input: {n * (double)random.Length / elapsed.TotalSeconds / 1e6:F0} MB/s");

        // 3. Exposition: one flush written, the page rendered.
        var exposition = new PrometheusExposition(mapper, 3, TimeSpan.FromSeconds(10));
        (n, elapsed) = Repeat(seconds, () => exposition.WriteAsync(batch, default).AsTask().Wait());
        Console.WriteLine($"exposition write: {n * batch.Points.Count / elapsed.TotalSeconds / 1e6:F2} M points/s");
        var page = exposition.Render();
        (n, elapsed) = Repeat(seconds, () => exposition.Render());
        Console.WriteLine($"exposition render: {elapsed.TotalMilliseconds / n:F1} ms per scrape ({page.Length} chars, {exposition.SeriesCount} series)");
        return 0;
    }

    private static (int Runs, TimeSpan Elapsed) Repeat(double seconds, Action action)
    {
        var sw = Stopwatch.StartNew();
        var runs = 0;
        while (sw.Elapsed.TotalSeconds < seconds) { action(); runs++; }
        return (runs, sw.Elapsed);
    }

    /// <summary>Etsy-shaped flush: timers (8 stats each), counters (rate + count), tagged counters, gauges.</summary>
    private static MetricBatch Flush(int points, long ts)
    {
        var rnd = new Random(42);
        var list = new List<MetricPoint>(points);
        string[] stats = ["mean", "upper_90", "mean_90", "count", "count_ps", "lower", "upper", "sum"];
        for (var s = 0; s < 40 && list.Count < points; s++)
            for (var e = 0; e < 25 && list.Count < points; e++)
                foreach (var st in stats) list.Add(new($"stats.timers.svc{s}.endpoint{e}.{st}", Math.Round(rnd.NextDouble() * 300, 3), ts));
        for (var i = 0; list.Count < points - 200; i++)
        {
            var v = rnd.Next(0, 50);
            list.Add(new($"stats.shop.counter{i}", v / 10.0, ts));
            list.Add(new($"stats_counts.shop.counter{i};env=prod;host=web{i % 8}", v, ts));
        }
        for (var g = 0; list.Count < points; g++) list.Add(new($"stats.gauges.queue{g}.depth", rnd.Next(0, 1000), ts));
        return new MetricBatch(ts, list);
    }
}
