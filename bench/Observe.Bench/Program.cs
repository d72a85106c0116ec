// Storage benchmark: dotnet run -c Release --project bench/Observe.Bench -- --storage [--flushes N] [--dir PATH]
// Render benchmark vs graphite-web: ... -- --render [--png] [--runs N] [--slice BYTES] [--keep] (RenderBench.cs)
// Deploy verification on a fake clock: ... -- --deploys [--seed N] (DeployBench.cs)
// Prometheus remote-write encoding, snappy, /metrics exposition: ... -- --prometheus [--seconds N] (PrometheusBench.cs)
// Checks scheduling vs nginx (and Nagios 4): ... -- --checks [--rates 30000,60000] [--interval 10] (ChecksBench.cs)
// Console Problems page in chromium, 10 000 checks / 500 failing: ... -- --console [--hosts 100 --per-host 100 --failing 500] (ConsoleBench.cs)
// Bytes on disk per point, Observe vs VictoriaMetrics vs Prometheus on one StatsD-like data set: ... -- --bytes [--series 10000] [--hours 24] (BytesBench.cs)
// Head points and memory under steady load, compacting every 60 s: ... -- --head [--series N] [--flushes N] [--concurrent] (HeadBench.cs)
// Log ingest (UDP JSON, GELF) and time until searchable: ... -- --logs [--seconds 10] [--probes 20] (LogsBench.cs)
// Carbon pickle decode vs plaintext parse vs python3's unpickler: ... -- --pickle (PickleBench.cs)
// Restart to first /render, Observe vs VictoriaMetrics, 100 000 series: ... -- --restart [--series N] [--hours H] [--runs N] (RestartBench.cs)
// sumSeries over 1 000 / 10 000 series x 6 h in process, streamed vs materialised: ... -- --aggregate [--series 1000,10000] [--runs 5] [--profile: phase by phase, AggregateProfile.cs] (AggregateBench.cs);
//   with --peers also over HTTP against VictoriaMetrics on the same points (--http-only: skip the in-process runs) (AggregatePeersBench.cs)
// Chunk decode ns/point on a decimal-heavy chunk set: ... -- --decode [--chunks 3000] [--runs 7] (DecodeBench.cs)
using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Observe.Collector;
using Observe.Storage;
using Observe.Storage.Tsdb;

if (args.Contains("--prometheus")) return Observe.Bench.PrometheusBench.Run(args);
if (args.Contains("--render")) return await RenderBench.RunAsync(args);
if (args.Contains("--deploys")) return await Observe.Bench.DeployBench.RunAsync(args);
if (args.Contains("--checks")) return await Observe.Bench.ChecksBench.RunAsync(args);
if (args.Contains("--logs")) return await Observe.Bench.LogsBench.RunAsync(args);
if (args.Contains("--console")) return await Observe.Bench.ConsoleBench.RunAsync(args);
if (args.Contains("--head")) return await Observe.Bench.HeadBench.RunAsync(args);
if (args.Contains("--spool")) return await Observe.Bench.SpoolBench.RunAsync(args);
if (args.Contains("--pickle")) return await Observe.Bench.PickleBench.RunAsync(args);
if (args.Contains("--open")) return Observe.Bench.RestartBench.OpenOnly(args);
if (args.Contains("--restart")) return await Observe.Bench.RestartBench.RunAsync(args);
if (args.Contains("--bytes")) return await Observe.Bench.BytesBench.RunAsync(args);
if (args.Contains("--decode")) return Observe.Bench.DecodeBench.Run(args);
if (args.Contains("--aggregate")) return await Observe.Bench.AggregateBench.RunAsync(args);
if (args.Contains("--statsd-aggregator")) return Observe.Bench.StatsdAggregateBench.Run(args);
if (!args.Contains("--storage")) { Console.WriteLine("usage: Observe.Bench --storage [--flushes N] [--dir PATH] | --render [--png] [--runs N] [--keep]"); return 2; }
int flushes = Arg("--flushes", 60);
string root = args.SkipWhile(a => a != "--dir").Skip(1).FirstOrDefault() ?? Path.Combine(Path.GetTempPath(), "observe-bench-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(root);

var names = StatsdShape.Names();
Console.WriteLine($"series: {names.Length} ({StatsdShape.Timers} timers x 14 (idle: count, count_ps only), {StatsdShape.Counters} counters x 2, {StatsdShape.Gauges} gauges)");
long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
long start = now - now % 600 - flushes * 10L;

// ---- 1. append ----
var opts = new StorageOptions { DataDir = Path.Combine(root, "append"), CompactionIntervalSeconds = 0 };
long points = 0;
var appendWatch = new Stopwatch();
double compactSeconds = 0;
var rnd = new Random(42);
var state = new StatsdShape(names.Length, rnd);
var writeLatDuringCompaction = new List<double>();
// The store's clock follows the data (as if it arrived live), so Compact() seals exactly what the background compactor
// would: head rows older than the current 10-minute boundary, never a half-filled rollup slot.
var clock = new BenchClock(start);
using (var store = TimeSeriesStore.Open(opts, clock))
{
    var batchPoints = new MetricPoint[names.Length];
    Task? compaction = null;
    var compactWatch = new Stopwatch();
    for (int f = 0; f < flushes; f++)
    {
        long ts = start + f * 10L;
        int np = state.Next(names, batchPoints, ts);  // generating values is not timed
        var batch = new MetricBatch(ts, batchPoints.AsSpan(0, np).ToArray());
        bool compacting = compaction is { IsCompleted: false };
        clock.Set(ts + 10);
        var w0 = appendWatch.Elapsed;
        appendWatch.Start();
        await store.WriteAsync(batch, CancellationToken.None);
        appendWatch.Stop();
        if (compacting) writeLatDuringCompaction.Add((appendWatch.Elapsed - w0).TotalMilliseconds);
        points += np;
        if ((f + 1) % 60 == 0 && f + 1 < flushes)
        {
            // What the background compactor does every 10 minutes of data, concurrently with the next flushes.
            if (compaction != null) await compaction;
            compaction = Task.Run(() => { var cw0 = Stopwatch.StartNew(); store.Compact(); lock (compactWatch) compactSeconds += cw0.Elapsed.TotalSeconds; });
        }
    }
    if (compaction != null) await compaction;
    Console.WriteLine($"append: {points:N0} points in {appendWatch.Elapsed.TotalSeconds:F2} s = {points / appendWatch.Elapsed.TotalSeconds:N0} points/s (one SQLite transaction per 10 s flush, synchronous=FULL, compaction running concurrently)");
    if (writeLatDuringCompaction.Count > 0)
    {
        var l = writeLatDuringCompaction.Order().ToList();
        Console.WriteLine($"WriteAsync latency while a compaction ran ({l.Count} flushes): median {l[l.Count / 2]:F0} ms, max {l[^1]:F0} ms");
    }
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
var day = RenderData.Day(now);
var fetchNames = day.Names;
using (var store = TimeSeriesStore.Open(fopts))
{
    await RenderData.WriteAsync(store, day);
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
    long chunks = Scalar("SELECT COALESCE(SUM(length(data)),0) FROM chunk WHERE (id >> 24 & 15) = 0");
    long rollups = Scalar("SELECT COALESCE(SUM(length(data)),0) FROM chunk WHERE (id >> 24 & 15) > 0");
    long series = Scalar("SELECT COALESCE(SUM(length(name)),0) FROM series") + Scalar("SELECT COALESCE(SUM(length(data)),0) FROM series_block");
    // Every series' name by id: rows, and the blocks of names (format 4) that writes creating many series store.
    var nameOf = new Dictionary<long, string>();
    using (var q = c.CreateCommand())
    {
        q.CommandText = "SELECT id, name FROM series";
        using (var r = q.ExecuteReader()) while (r.Read()) nameOf[r.GetInt64(0)] = r.GetString(1);
        q.CommandText = "SELECT first_id, data FROM series_block";
        using (var r = q.ExecuteReader())
            while (r.Read())
            {
                long first = r.GetInt64(0);
                SeriesNameBlock.Decode((byte[])r.GetValue(1), (k, name) => nameOf[first + k] = name);
            }
    }
    // Level-0 bytes and points per kind of series (timer suffix, counter rate/count, gauge) and value encoding.
    var byKind = new SortedDictionary<string, (long Bytes, long Points)>(StringComparer.Ordinal);
    var byEnc = new long[7];
    using (var q = c.CreateCommand())
    {
        q.CommandText = "SELECT c.id >> 28, c.data FROM chunk c WHERE (c.id >> 24 & 15) = 0";
        using var r = q.ExecuteReader();
        while (r.Read())
        {
            if (!nameOf.TryGetValue(r.GetInt64(0), out var name)) continue;
            var blob = (byte[])r.GetValue(1);
            string kind = name.StartsWith("stats.timers.", StringComparison.Ordinal) ? "timer." + name[(name.LastIndexOf('.') + 1)..]
                : name.StartsWith("stats.gauges.", StringComparison.Ordinal) ? "gauge" : name.StartsWith("stats_counts.", StringComparison.Ordinal) ? "counter count" : "counter rate";
            var (b, p) = byKind.GetValueOrDefault(kind);
            byKind[kind] = (b + blob.Length, p + Gorilla.Decode(blob).Ts.Length);
            byEnc[Gorilla.EncodingOf(blob)]++;
        }
    }
    Console.WriteLine("  level-0 bytes/point by series kind (blob incl. 8-byte header): " + string.Join(", ", byKind.Select(k => $"{k.Key} {(double)k.Value.Bytes / Math.Max(1, k.Value.Points):F2}")));
    Console.WriteLine($"  level-0 chunks by value encoding: XOR {byEnc[0]:N0}, rational-delta {byEnc[1]:N0}, rational {byEnc[2]:N0}, square root {byEnc[3]:N0}, decimal {byEnc[4]:N0}, decimal-delta {byEnc[5]:N0}, decimal-zigzag {byEnc[6]:N0}");
    long rows = Scalar("SELECT COUNT(*) FROM chunk");
    Console.WriteLine($"  chunk rows {rows:N0}; pages: " + Scalar("PRAGMA page_count") + " x " + Scalar("PRAGMA page_size") + $" bytes; series index + chunk table/index overhead ≈ {(new FileInfo(path).Length - chunks - rollups) / (double)Math.Max(1, rows):F0} bytes per chunk row");
    c.Close();
    long db = new FileInfo(path).Length + (File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0);
    return (db, chunks, rollups, series);
}

/// <summary>The render/fetch data set: 24 h of <c>stats.timers.svc0.endpoint{0..99}.mean</c> at 10 s (Etsy timer output).</summary>
sealed record RenderData(string[] Names, long Start, long End, List<(long Ts, int Series, double Value)> Points)
{
    public const string Target = "stats.timers.svc0.*.mean";

    public static RenderData Day(long now)
    {
        var names = Enumerable.Range(0, 100).Select(k => $"stats.timers.svc0.endpoint{k}.mean").ToArray();
        long end = now - now % 10, start = end - 86400;
        var rnd = new Random(1);
        var v = new double[StatsdShape.TimerSuffixes.Length];
        var pts = new List<(long, int, double)>();
        for (long ts = start; ts <= end; ts += 10)
            for (int k = 0; k < names.Length; k++)
                if (StatsdShape.Timer(rnd, k * 50 % 3 == 0, v)) pts.Add((ts, k, v[12]));
        return new RenderData(names, start, end, pts);
    }

    /// <summary>Writes the day as flushes (one batch per 10 s) and compacts every 2 h of data, as the background compactor would.</summary>
    public static async Task WriteAsync(TimeSeriesStore store, RenderData d)
    {
        int i = 0;
        var batch = new List<MetricPoint>(100);
        for (long ts = d.Start; ts <= d.End; ts += 10)
        {
            batch.Clear();
            while (i < d.Points.Count && d.Points[i].Ts == ts) { batch.Add(new MetricPoint(d.Names[d.Points[i].Series], d.Points[i].Value, ts)); i++; }
            await store.WriteAsync(new MetricBatch(ts, batch.ToArray()), CancellationToken.None);
            if ((ts - d.Start) % 7200 == 0) store.Compact();
        }
        store.Compact();
    }
}

/// <summary>
/// What Etsy statsd (lib/process_metrics.js, graphite backend, percentThreshold [90], deleteIdleStats false) flushes
/// every 10 s. A timer with samples expands to 14 series (count_90, mean_90, upper_90, sum_90, sum_squares_90, std,
/// upper, lower, count, count_ps, sum, sum_squares, mean, median); a timer without samples in the interval emits only
/// count = count_ps = 0. Counters: rate (count/10) + count, idle ones send 0. Gauges resend their last value.
/// Values: integer-millisecond timings (exponential, 5 + 40·Exp(1)), busy timers get 1–39 samples per flush,
/// a third are low-traffic (active in 20 % of flushes, 1–3 samples); 60 % of counters are idle.
/// </summary>
sealed class StatsdShape(int n, Random rnd, int timers = StatsdShape.Timers, int counters = StatsdShape.Counters, int gauges = StatsdShape.Gauges)
{
    public const int Timers = 5000, Counters = 12500, Gauges = 5000;
    public static readonly string[] TimerSuffixes = ["count", "count_ps", "count_90", "mean_90", "upper_90", "sum_90", "sum_squares_90",
        "std", "upper", "lower", "sum", "sum_squares", "mean", "median"];
    private readonly double[] _gauge = new double[n];

    public static string[] Names(int timers = Timers, int counters = Counters, int gauges = Gauges)
    {
        var list = new List<string>(100_000);
        for (int t = 0; t < timers; t++) foreach (var s in TimerSuffixes) list.Add($"stats.timers.svc{t % 50}.endpoint{t / 50}.{s}");
        for (int c = 0; c < counters; c++) { list.Add($"stats.svc{c % 50}.counter{c / 50}"); list.Add($"stats_counts.svc{c % 50}.counter{c / 50}"); }
        for (int g = 0; g < gauges; g++) list.Add($"stats.gauges.host{g % 100}.gauge{g / 100}");
        return [.. list];
    }

    /// <summary>One timer's flush (values in <see cref="TimerSuffixes"/> order); false when it had no samples (count = count_ps = 0).</summary>
    public static bool Timer(Random rnd, bool lowTraffic, double[] v)
    {
        int count = lowTraffic ? (rnd.Next(5) == 0 ? rnd.Next(1, 4) : 0) : rnd.Next(1, 40);
        if (count == 0) return false;
        var samples = new double[count];
        for (int k = 0; k < count; k++) samples[k] = 5 + (int)(-Math.Log(1 - rnd.NextDouble()) * 40);
        Array.Sort(samples);
        var cumul = new double[count]; var cumulSq = new double[count];
        cumul[0] = samples[0]; cumulSq[0] = samples[0] * samples[0];
        for (int k = 1; k < count; k++) { cumul[k] = samples[k] + cumul[k - 1]; cumulSq[k] = samples[k] * samples[k] + cumulSq[k - 1]; }
        double n90 = count, sum90 = samples[0], sq90 = samples[0] * samples[0], mean90 = samples[0], upper90 = samples[^1];
        if (count > 1)
        {
            n90 = Math.Floor(0.9 * count + 0.5); // JS Math.round
            upper90 = samples[(int)n90 - 1]; sum90 = cumul[(int)n90 - 1]; sq90 = cumulSq[(int)n90 - 1]; mean90 = sum90 / n90;
        }
        double sum = cumul[^1], mean = sum / count, diffs = 0;
        foreach (var x in samples) diffs += (x - mean) * (x - mean);
        int mid = count / 2;
        double median = count % 2 == 1 ? samples[mid] : (samples[mid - 1] + samples[mid]) / 2;
        v[0] = count; v[1] = count / 10.0; v[2] = n90; v[3] = mean90; v[4] = upper90; v[5] = sum90; v[6] = sq90;
        v[7] = Math.Sqrt(diffs / count); v[8] = samples[^1]; v[9] = samples[0]; v[10] = sum; v[11] = cumulSq[^1]; v[12] = mean; v[13] = median;
        return true;
    }

    /// <summary>Fills <paramref name="dst"/> with this flush's points; returns how many.</summary>
    public int Next(string[] names, MetricPoint[] dst, long ts)
    {
        int i = 0, w = 0;
        var v = new double[TimerSuffixes.Length];
        for (int t = 0; t < timers; t++)
        {
            if (!Timer(rnd, t % 3 == 0, v))
            {
                dst[w++] = new MetricPoint(names[i], 0, ts);
                dst[w++] = new MetricPoint(names[i + 1], 0, ts);
                i += TimerSuffixes.Length;
                continue;
            }
            foreach (var x in v) { dst[w++] = new MetricPoint(names[i], x, ts); i++; }
        }
        for (int c = 0; c < counters; c++)
        {
            int count = c % 5 < 3 ? 0 : rnd.Next(0, 50);
            dst[w++] = new MetricPoint(names[i], count / 10.0, ts); i++;
            dst[w++] = new MetricPoint(names[i], count, ts); i++;
        }
        for (int g = 0; g < gauges; g++)
        {
            if (rnd.Next(10) == 0) _gauge[i] += rnd.Next(-3, 4);
            dst[w++] = new MetricPoint(names[i], _gauge[i], ts); i++;
        }
        return w;
    }
}

/// <summary>A clock the bench sets to the time of the data being written.</summary>
sealed class BenchClock(long unixSeconds) : TimeProvider
{
    private long _now = unixSeconds;
    public void Set(long unixSeconds) => Interlocked.Exchange(ref _now, unixSeconds);
    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeSeconds(Interlocked.Read(ref _now));
}
