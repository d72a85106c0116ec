// Storage benchmark: dotnet run -c Release --project bench/Observe.Bench -- --storage [--flushes N] [--dir PATH]
using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Observe.Collector;
using Observe.Storage;
using Observe.Storage.Tsdb;

if (!args.Contains("--storage")) { Console.WriteLine("usage: Observe.Bench --storage [--flushes N] [--dir PATH]"); return 2; }
int flushes = Arg("--flushes", 60);
string root = args.SkipWhile(a => a != "--dir").Skip(1).FirstOrDefault() ?? Path.Combine(Path.GetTempPath(), "observe-bench-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(root);

var names = StatsdShape.Names();
Console.WriteLine($"series: {names.Length} ({StatsdShape.Timers} timers x 12, {StatsdShape.Counters} counters x 2, {StatsdShape.Gauges} gauges)");
long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
long start = now - now % 600 - flushes * 10L;

// ---- 1. append ----
var opts = new StorageOptions { DataDir = Path.Combine(root, "append"), CompactionIntervalSeconds = 0 };
long points = 0;
var appendWatch = new Stopwatch();
double compactSeconds = 0;
var rnd = new Random(42);
var state = new StatsdShape(names.Length, rnd);
using (var store = TimeSeriesStore.Open(opts))
{
    var batchPoints = new MetricPoint[names.Length];
    for (int f = 0; f < flushes; f++)
    {
        long ts = start + f * 10L;
        state.Next(names, batchPoints, ts);  // generating values is not timed
        appendWatch.Start();
        await store.WriteAsync(new MetricBatch(ts, batchPoints), CancellationToken.None);
        appendWatch.Stop();
        points += batchPoints.Length;
        if ((f + 1) % 60 == 0 && f + 1 < flushes)
        {
            // What the background compactor does every 10 minutes of data (not part of the append timing).
            var cw0 = Stopwatch.StartNew();
            store.Compact(force: true);
            compactSeconds += cw0.Elapsed.TotalSeconds;
        }
    }
    Console.WriteLine($"append: {points:N0} points in {appendWatch.Elapsed.TotalSeconds:F2} s = {points / appendWatch.Elapsed.TotalSeconds:N0} points/s (one SQLite transaction per 10 s flush, synchronous=FULL)");
    var cw = Stopwatch.StartNew();
    store.Compact(force: true);
    compactSeconds += cw.Elapsed.TotalSeconds;
    Console.WriteLine($"compaction (every 60 flushes + final): {compactSeconds:F2} s total = {points / compactSeconds:N0} points/s");
}
var (dbBytes, chunkBytes, rollupBytes, seriesBytes) = Sizes(opts.DataDir);
Console.WriteLine($"disk after compaction (checkpointed, vacuumed): {dbBytes:N0} bytes = {(double)dbBytes / points:F2} bytes/point (all: index, chunks, rollups, SQLite pages)");
Console.WriteLine($"  level-0 chunk blobs: {(double)chunkBytes / points:F2} bytes/point; rollup blobs: {(double)rollupBytes / points:F2} bytes/point; series names: {seriesBytes:N0} bytes");

// ---- 2. fetch 100 series x 24 h ----
var fopts = new StorageOptions { DataDir = Path.Combine(root, "fetch"), CompactionIntervalSeconds = 0 };
var fetchNames = names.Where((_, i) => i % 1000 == 0).Take(100).ToArray();
long dayStart = now - now % 10 - 86400;
using (var store = TimeSeriesStore.Open(fopts))
{
    var bp = new MetricPoint[fetchNames.Length];
    var st = new StatsdShape(names.Length, new Random(1));
    var all = new MetricPoint[names.Length];
    for (long ts = dayStart; ts <= now - now % 10; ts += 10)
    {
        st.Next(names, all, ts);
        for (int i = 0; i < fetchNames.Length; i++) bp[i] = all[i * 1000];
        await store.WriteAsync(new MetricBatch(ts, bp), CancellationToken.None);
        if ((ts - dayStart) % 7200 == 0) store.Compact();
    }
    store.Compact();
}
using (var store = TimeSeriesStore.Open(fopts))
{
    foreach (var (label, span) in new[] { ("24 h (1m archive)", 86400L), ("6 h (10s archive)", 21600L) })
    {
        for (int run = 0; run < 3; run++)
        {
            var sw = Stopwatch.StartNew();
            long slots = 0, nonNull = 0;
            foreach (var n in fetchNames)
            {
                var w = store.Fetch(n, now - span, now)!;
                slots += w.Values.Length;
                nonNull += w.Values.Count(v => v != null);
            }
            Console.WriteLine($"fetch 100 series x {label}, run {run + 1}: {sw.Elapsed.TotalMilliseconds:F1} ms ({slots:N0} slots, {nonNull:N0} non-null)");
        }
    }
}
if (!args.Contains("--dir")) Directory.Delete(root, true);
return 0;

int Arg(string name, int dflt)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : dflt;
}

static (long Db, long Chunks, long Rollups, long Series) Sizes(string dir)
{
    var path = Path.Combine(dir, "tsdb.db");
    using var c = new SqliteConnection($"Data Source={path};Pooling=False");
    c.Open();
    long Scalar(string sql) { using var cmd = c.CreateCommand(); cmd.CommandText = sql; return Convert.ToInt64(cmd.ExecuteScalar() ?? 0L); }
    Scalar("PRAGMA wal_checkpoint(TRUNCATE)");
    using (var v = c.CreateCommand()) { v.CommandText = "VACUUM"; v.ExecuteNonQuery(); }
    Scalar("PRAGMA wal_checkpoint(TRUNCATE)");
    long chunks = Scalar("SELECT COALESCE(SUM(length(data)),0) FROM chunk WHERE level = 0");
    long rollups = Scalar("SELECT COALESCE(SUM(length(data)),0) FROM chunk WHERE level > 0");
    long series = Scalar("SELECT COALESCE(SUM(length(name)),0) FROM series");
    c.Close();
    long db = new FileInfo(path).Length + (File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0);
    return (db, chunks, rollups, series);
}

/// <summary>
/// What Etsy statsd flushes every 10 s: timers expand to 12 series, counters to 2 (rate + count), gauges to 1.
/// Values: integer-millisecond timings, small integer counts (60% of counters idle, sending 0), slowly moving gauges.
/// </summary>
sealed class StatsdShape(int n, Random rnd)
{
    public const int Timers = 5000, Counters = 15000, Gauges = 10000;
    private static readonly string[] TimerSuffixes = ["count", "count_ps", "lower", "upper", "upper_90", "mean", "mean_90", "sum", "sum_90", "sum_squares", "median", "std"];
    private readonly double[] _gauge = new double[n];

    public static string[] Names()
    {
        var list = new List<string>(100_000);
        for (int t = 0; t < Timers; t++) foreach (var s in TimerSuffixes) list.Add($"stats.timers.svc{t % 50}.endpoint{t / 50}.{s}");
        for (int c = 0; c < Counters; c++) { list.Add($"stats.svc{c % 50}.counter{c / 50}"); list.Add($"stats_counts.svc{c % 50}.counter{c / 50}"); }
        for (int g = 0; g < Gauges; g++) list.Add($"stats.gauges.host{g % 100}.gauge{g / 100}");
        return [.. list];
    }

    public void Next(string[] names, MetricPoint[] dst, long ts)
    {
        int i = 0;
        for (int t = 0; t < Timers; t++)
        {
            int count = t % 3 == 0 ? 0 : rnd.Next(1, 40);
            var samples = new int[count];
            for (int k = 0; k < count; k++) samples[k] = 5 + (int)(-Math.Log(1 - rnd.NextDouble()) * 40);
            Array.Sort(samples);
            int n90 = (int)Math.Round(count * 0.9);
            double sum = samples.Sum(), sum90 = samples.Take(n90).Sum(), sq = samples.Sum(x => (double)x * x);
            double mean = count > 0 ? sum / count : 0, mean90 = n90 > 0 ? sum90 / n90 : 0;
            double std = count > 0 ? Math.Sqrt(sq / count - mean * mean) : 0;
            double[] v = [count, count / 10.0, count > 0 ? samples[0] : 0, count > 0 ? samples[^1] : 0, n90 > 0 ? samples[n90 - 1] : 0,
                mean, mean90, sum, sum90, sq, count > 0 ? samples[count / 2] : 0, std];
            foreach (var x in v) { dst[i] = new MetricPoint(names[i], x, ts); i++; }
        }
        for (int c = 0; c < Counters; c++)
        {
            int count = c % 5 < 3 ? 0 : rnd.Next(0, 50);
            dst[i] = new MetricPoint(names[i], count / 10.0, ts); i++;
            dst[i] = new MetricPoint(names[i], count, ts); i++;
        }
        for (int g = 0; g < Gauges; g++)
        {
            if (rnd.Next(10) == 0) _gauge[i] += rnd.Next(-3, 4);
            dst[i] = new MetricPoint(names[i], _gauge[i], ts); i++;
        }
    }
}
