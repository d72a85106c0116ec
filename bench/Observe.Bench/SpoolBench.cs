using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Observe.Collector;
using Observe.Storage.Sinks;
using Observe.Storage.Sinks.Influx;
using Observe.Storage.Sinks.Spool;

namespace Observe.Bench;

/// <summary>
/// Disk spool append and replay rates with realistic records: one 10 000-point flush encoded as InfluxDB line
/// protocol (and as carbon plaintext) per record. Append = encode + frame + write + fsync (what a sink's
/// WriteAsync costs); replay = reopen (scan + CRC of every record) then read + commit every record (what catching
/// up after an outage costs, target time excluded).
/// </summary>
internal static class SpoolBench
{
    public static Task<int> RunAsync(string[] args)
    {
        var records = Arg(args, "--records", 300);
        var points = Arg(args, "--points", 10_000);
        var root = Path.Combine(Path.GetTempPath(), "observe-spool-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Console.WriteLine($"spool bench: {records} records of {points} points, dir {root}, load average {File.ReadAllText("/proc/loadavg").Trim()}");
        foreach (var (name, encoder) in new (string, IMetricRecordEncoder)[] { ("influx", new InfluxLineEncoder()), ("carbon", new CarbonPlaintextEncoder()) })
        {
            var dir = Path.Combine(root, name);
            var batch = Flush(points, 1_700_000_000);
            var buffer = new ArrayBufferWriter<byte>(points * 80);
            long bytes = 0;
            var sw = Stopwatch.StartNew();
            using (var spool = DiskSpool.Open(dir, new SpoolLimits(MaxBytes: 64L << 30)))
            {
                for (var i = 0; i < records; i++)
                {
                    buffer.ResetWrittenCount();
                    encoder.Encode(batch, buffer);
                    spool.Append(buffer.WrittenSpan);
                    bytes += buffer.WrittenCount;
                }
            }
            var append = sw.Elapsed.TotalSeconds;
            sw.Restart();
            long replayed = 0;
            using (var spool = DiskSpool.Open(dir, new SpoolLimits(MaxBytes: 64L << 30)))
            {
                var open = sw.Elapsed.TotalSeconds;
                byte[]? buf = null;
                while (spool.TryReadHead(ref buf, out var pos, out var len))
                {
                    replayed += len;
                    spool.CommitHead(pos);
                }
                if (buf != null) ArrayPool<byte>.Shared.Return(buf);
                var replay = sw.Elapsed.TotalSeconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name}: record {bytes / records / 1024.0:0} KiB; append (encode+fsync) {records / append:0.0} records/s = {records * (double)points / append:0} points/s, {bytes / append / 1e6:0.0} MB/s; " +
                    $"replay (open {open:0.00} s + read/commit) {records / replay:0.0} records/s = {records * (double)points / replay:0} points/s, {replayed / replay / 1e6:0.0} MB/s"));
            }
        }
        Directory.Delete(root, true);
        return Task.FromResult(0);
    }

    /// <summary>A flush shaped like statsd output: timers, counters and tagged gauges with varied values.</summary>
    private static MetricBatch Flush(int n, long ts)
    {
        var rnd = new Random(1);
        var points = new List<MetricPoint>(n);
        for (var i = 0; i < n; i++)
        {
            var path = (i % 3) switch
            {
                0 => $"stats.timers.shop.api.endpoint{i % 500}.upper_90",
                1 => $"stats_counts.shop.orders.sku{i}",
                _ => $"stats.gauges.shop.queue{i % 100};dc=ams;role=web{i % 7}",
            };
            points.Add(new MetricPoint(path, Math.Round(rnd.NextDouble() * 1000, 3), ts));
        }
        return new MetricBatch(ts, points);
    }

    private static int Arg(string[] args, string name, int dflt)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : dflt;
    }
}
