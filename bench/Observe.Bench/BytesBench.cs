// Bytes on disk per point (issue 21), Observe vs VictoriaMetrics 1.79 vs Prometheus 2.42 on one data set, in one run:
//   dotnet run -c Release --project bench/Observe.Bench -- --bytes [--series 10000] [--hours 24] [--compact-every 60]
//     [--retentions 10s:2d] [--decode-runs 5] [--no-peers] [--promtool PATH] [--keep] [--dir PATH]
//   ... -- --bytes --decode-only --dir PATH [--decode-runs 5]   (decode speed of a kept store only: alternate builds with it)
// Data: StatsdShape (Program.cs) scaled to --series in the storage bench's proportions (5 % timers x 14 series, of which a
// third low-traffic; 25 % counters x 2, rate and count, 60 % idle; 5 % gauges), one flush every 10 s for --hours, starting
// on a 2 h boundary (Prometheus' block boundaries). Every peer gets every point, exactly ("R" formatting).
// Observe: TimeSeriesStore written flush by flush, its clock following the data, compacted every --compact-every flushes
// (60 = 10 min of data, as the storage bench; the chunks' bytes do not depend on it, the page layout does), then once more;
// schema --retentions for every series (default 10s:2d: every point kept at 10 s, no rollups, as the peers keep them).
// Measured: tsdb.db after a WAL checkpoint as written, its free pages, and after VACUUM; level-0 blob bytes by encoding;
// decode ns/point of every level-0 chunk (best of --decode-runs, per encoding).
// VictoriaMetrics: /api/v1/import (JSON lines, one per series per 2 h), force_flush, force_merge, merges done, then the
// bytes of every file under its -storageDataPath (data + indexdb). It keeps about 12 significant digits of each value: the
// bench exports one timer mean series back and counts the values that are still bit-exact.
// Prometheus: promtool tsdb create-blocks-from openmetrics per 2 h window (one block each, as Prometheus cuts them before
// it compacts), the bytes of every file of the blocks.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Observe.Collector;
using Observe.Storage;
using Observe.Storage.Tsdb;

namespace Observe.Bench;

internal static class BytesBench
{
    private const int Window = 720; // flushes per 2 h window (one Prometheus block, one VictoriaMetrics import)
    private static readonly string[] EncodingNames = ["XOR", "rational-delta", "rational", "square root", "decimal", "decimal-delta", "decimal-zigzag"];

    public static async Task<int> RunAsync(string[] args)
    {
        int series = HeadBench.Arg(args, "--series", 10_000), hours = HeadBench.Arg(args, "--hours", 24);
        hours += hours % 2; // whole 2 h windows: every peer gets every point
        int compactEvery = HeadBench.Arg(args, "--compact-every", 60), decodeRuns = HeadBench.Arg(args, "--decode-runs", 5);
        string retentions = Str(args, "--retentions") ?? "10s:2d";
        bool peers = !args.Contains("--no-peers");
        s_promtool = Str(args, "--promtool");
        string dir = Str(args, "--dir") ?? Path.Combine(Path.GetTempPath(), "observe-bytes-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores ({Cpu()}), load {Load()}");
        if (args.Contains("--decode-only")) { DecodeSpeed(Path.Combine(dir, "observe", "tsdb.db"), decodeRuns); return 0; }

        int timers = series / 20, counters = series / 8, gauges = series - timers * 14 - counters * 2;
        var names = StatsdShape.Names(timers, counters, gauges);
        var promNames = names.Select(n => n.Replace('.', '_')).ToArray();
        int flushes = hours * 360;
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        long start = now - now % 7200 - flushes * 10L - 7200;
        Console.WriteLine($"{names.Length} series ({timers} timers x 14, {counters} counters x 2, {gauges} gauges), {hours} h at 10 s from {DateTimeOffset.FromUnixTimeSeconds(start):u}");

        // One pass over the data: Observe is written flush by flush; each 2 h window is handed to the peers from per-series buffers.
        var state = new StatsdShape(names.Length, new Random(42), timers, counters, gauges);
        var index = names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        var window = new double[names.Length][];
        for (int i = 0; i < window.Length; i++) { window[i] = new double[Window]; Array.Fill(window[i], double.NaN); }
        int probe = index[$"stats.timers.svc1.endpoint0.mean"];
        var probeValues = new List<(long Ts, double V)>();
        var vm = peers ? await Vm.StartAsync(Path.Combine(dir, "vm")) : null;
        var promDir = Directory.CreateDirectory(Path.Combine(dir, "prometheus")).FullName;
        Task promtool = Task.CompletedTask;
        var opts = new StorageOptions
        {
            DataDir = Path.Combine(dir, "observe"), CompactionIntervalSeconds = 0, SynchronousFull = false,
            Schemas = [new() { Name = "all", Pattern = ".*", Retentions = retentions }],
        };
        long points = 0;
        var batchPoints = new MetricPoint[names.Length];
        var clock = new BenchClock(start);
        var sw = Stopwatch.StartNew();
        double compactSeconds = 0;
        try
        {
            using (var store = TimeSeriesStore.Open(opts, clock))
            {
                for (int f = 0; f < flushes; f++)
                {
                    long ts = start + f * 10L;
                    int np = state.Next(names, batchPoints, ts);
                    points += np;
                    clock.Set(ts + 10);
                    await store.WriteAsync(new MetricBatch(ts, batchPoints.AsSpan(0, np).ToArray()), CancellationToken.None);
                    for (int i = 0; i < np; i++)
                    {
                        int s = index[batchPoints[i].Path];
                        window[s][f % Window] = batchPoints[i].Value;
                        if (s == probe) probeValues.Add((ts, batchPoints[i].Value));
                    }
                    if ((f + 1) % compactEvery == 0) { var c = Stopwatch.StartNew(); store.Compact(); compactSeconds += c.Elapsed.TotalSeconds; }
                    if ((f + 1) % Window == 0 && peers)
                    {
                        long wStart = ts - (Window - 1) * 10L;
                        await vm!.ImportAsync(promNames, window, wStart);
                        var file = Path.Combine(promDir, $"window-{f / Window}.om");
                        WriteOpenMetrics(file, promNames, window, wStart);
                        // promtool runs beside the next window's writes, one at a time.
                        promtool = promtool.ContinueWith(_ => Promtool(file, Path.Combine(promDir, "blocks"))).Unwrap();
                    }
                    if ((f + 1) % Window == 0)
                    {
                        foreach (var w in window) Array.Fill(w, double.NaN);
                        Console.WriteLine($"  {(f + 1) / 360} h written after {sw.Elapsed.TotalSeconds:F0} s (Observe compaction {compactSeconds:F0} s), load {Load()}");
                    }
                }
                var cf = Stopwatch.StartNew();
                store.Compact(force: true);
                compactSeconds += cf.Elapsed.TotalSeconds;
            }
            Console.WriteLine($"written {points:N0} points in {sw.Elapsed.TotalSeconds:F0} s (Observe compaction {compactSeconds:F0} s), load {Load()}");

            var o = ObserveSizes(Path.Combine(opts.DataDir, "tsdb.db"));
            var rows = new List<(string Who, long Bytes, string Note)>
            {
                ("Observe (as written)", o.Written, $"exact; {o.FreePages:N0} free pages of {o.Pages:N0} x {o.PageSize} B; {o.Rows:N0} chunk rows; schema {retentions}"),
                ("Observe (after VACUUM)", o.Vacuumed, $"level-0 blobs alone {(double)o.Blobs / points:F3} B/pt"),
            };
            if (peers)
            {
                await promtool;
                var (vmBytes, exact) = await vm!.FinishAsync(promNames[probe], probeValues, start);
                rows.Add(("VictoriaMetrics 1.79", vmBytes, $"after force_merge; {exact}"));
                rows.Add(("Prometheus 2.42 (promtool blocks)", DirBytes(Path.Combine(promDir, "blocks")), $"{Directory.GetDirectories(Path.Combine(promDir, "blocks")).Length} blocks of 2 h, exact"));
            }
            Console.WriteLine();
            Console.WriteLine($"| store | bytes | bytes/point | note |   ({points:N0} points, {names.Length} series, {hours} h)");
            Console.WriteLine("|---|---|---|---|");
            foreach (var (who, bytes, note) in rows) Console.WriteLine($"| {who} | {bytes:N0} | **{(double)bytes / points:F2}** | {note} |");
            Console.WriteLine();
            Console.WriteLine("Observe level-0 chunks by encoding: " + string.Join(", ", o.ByEncoding.Select(e =>
                $"{EncodingNames[e.Key]} {e.Value.Chunks:N0} chunks {(double)e.Value.Bytes / Math.Max(1, e.Value.Points):F2} B/pt")));
            DecodeSpeed(Path.Combine(opts.DataDir, "tsdb.db"), decodeRuns);
        }
        finally
        {
            if (vm != null) await vm.DisposeAsync();
            if (!args.Contains("--keep")) Directory.Delete(dir, true);
            else Console.WriteLine($"kept {dir}");
        }
        return 0;
    }

    private static string? Str(string[] args, string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
    private static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];
    private static string Cpu() => File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() ?? "?";
    private static long DirBytes(string dir) => Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) : 0;

    private sealed record Sizes(long Written, long Vacuumed, long Pages, long FreePages, long PageSize, long Rows, long Blobs,
        SortedDictionary<int, (long Chunks, long Bytes, long Points)> ByEncoding);

    private static Sizes ObserveSizes(string path)
    {
        using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        c.Open();
        long Scalar(string sql) { using var cmd = c.CreateCommand(); cmd.CommandText = sql; return Convert.ToInt64(cmd.ExecuteScalar() ?? 0L, CultureInfo.InvariantCulture); }
        Scalar("PRAGMA wal_checkpoint(TRUNCATE)");
        long written = new FileInfo(path).Length, pages = Scalar("PRAGMA page_count"), free = Scalar("PRAGMA freelist_count"), pageSize = Scalar("PRAGMA page_size");
        var byEnc = new SortedDictionary<int, (long, long, long)>();
        long blobs = 0, rows = 0;
        using (var q = c.CreateCommand())
        {
            q.CommandText = "SELECT data, id >> 24 & 15 FROM chunk";
            using var r = q.ExecuteReader();
            while (r.Read())
            {
                rows++;
                if (r.GetInt64(1) != 0) continue;
                var blob = (byte[])r.GetValue(0);
                Gorilla.TryValidate(blob, out int count);
                int e = Gorilla.EncodingOf(blob);
                var (n, b, p) = byEnc.GetValueOrDefault(e);
                byEnc[e] = (n + 1, b + blob.Length, p + count);
                blobs += blob.Length;
            }
        }
        using (var v = c.CreateCommand()) { v.CommandText = "VACUUM"; v.ExecuteNonQuery(); }
        Scalar("PRAGMA wal_checkpoint(TRUNCATE)");
        return new Sizes(written, new FileInfo(path).Length, pages, free, pageSize, rows, blobs, byEnc);
    }

    /// <summary>Decodes every level-0 chunk of a store, best of <paramref name="runs"/>, per encoding and in all.</summary>
    private static void DecodeSpeed(string path, int runs)
    {
        var byEnc = new SortedDictionary<int, List<byte[]>>();
        using (var c = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False"))
        {
            c.Open();
            using var q = c.CreateCommand();
            q.CommandText = "SELECT data FROM chunk WHERE (id >> 24 & 15) = 0";
            using var r = q.ExecuteReader();
            while (r.Read())
            {
                var blob = (byte[])r.GetValue(0);
                int e = Gorilla.EncodingOf(blob);
                if (!byEnc.TryGetValue(e, out var l)) byEnc[e] = l = [];
                l.Add(blob);
            }
        }
        var parts = new List<string>();
        double totalNs = 0;
        long totalPoints = 0;
        foreach (var (e, blobs) in byEnc)
        {
            double best = double.MaxValue;
            long pts = 0;
            for (int run = 0; run < runs; run++)
            {
                pts = 0;
                var t = Stopwatch.StartNew();
                foreach (var b in blobs) pts += Gorilla.Decode(b).Ts.Length;
                best = Math.Min(best, t.Elapsed.TotalNanoseconds);
            }
            totalNs += best; totalPoints += pts;
            parts.Add($"{EncodingNames[e]} {best / pts:F1} ({pts:N0} pts)");
        }
        Console.WriteLine($"decode, level-0 chunks, best of {runs}: {totalNs / Math.Max(1, totalPoints):F1} ns/point over {totalPoints:N0} points; by encoding: {string.Join(", ", parts)}; load {Load()}");
    }

    /// <summary>One 2 h window as OpenMetrics text, series by series (promtool wants each series in time order).</summary>
    private static void WriteOpenMetrics(string file, string[] names, double[][] window, long wStart)
    {
        using var w = new StreamWriter(file, false, new UTF8Encoding(false), 1 << 20);
        for (int s = 0; s < names.Length; s++)
            for (int j = 0; j < Window; j++)
                if (!double.IsNaN(window[s][j]))
                {
                    w.Write(names[s]); w.Write(' ');
                    w.Write(window[s][j].ToString("R", CultureInfo.InvariantCulture)); w.Write(' ');
                    w.Write((wStart + j * 10L).ToString(CultureInfo.InvariantCulture)); w.Write('\n');
                }
        w.Write("# EOF\n");
    }

    private static string? s_promtool;

    private static async Task Promtool(string file, string blocks)
    {
        // As the tests look for Prometheus: the Debian package's, else tests/peers/install.sh's copy above this build.
        string? exe = s_promtool ?? (File.Exists("/usr/bin/promtool") ? "/usr/bin/promtool" : null);
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); exe == null && d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "tests/peers/prometheus/usr/bin/promtool"))) exe = Path.Combine(d.FullName, "tests/peers/prometheus/usr/bin/promtool");
        if (exe == null) throw new FileNotFoundException("promtool (bash tests/peers/install.sh)");
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "tsdb", "create-blocks-from", "openmetrics", "-q", file, blocks }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"promtool {file}: exit {p.ExitCode}: {await err}");
        File.Delete(file);
    }

    /// <summary>VictoriaMetrics started as tests/Integration's VictoriaMetricsServer starts it, fed through /api/v1/import.</summary>
    private sealed class Vm : IAsyncDisposable
    {
        private readonly Process _p;
        private readonly HttpClient _http = new() { Timeout = TimeSpan.FromMinutes(10) };
        private readonly string _dataDir;
        private readonly string _url;

        private Vm(Process p, string dataDir, string url) { _p = p; _dataDir = dataDir; _url = url; }

        public static async Task<Vm> StartAsync(string dir)
        {
            int port = RenderBench.FreePort();
            var psi = new ProcessStartInfo("/usr/bin/victoria-metrics") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { $"-storageDataPath={dir}/data", $"-httpListenAddr=127.0.0.1:{port}", "-retentionPeriod=100y" }) psi.ArgumentList.Add(a);
            var vm = new Vm(Process.Start(psi)!, $"{dir}/data", $"http://127.0.0.1:{port}");
            _ = vm._p.StandardOutput.ReadToEndAsync(); _ = vm._p.StandardError.ReadToEndAsync();
            await vm.UntilAsync(async () => (await vm._http.GetAsync($"{vm._url}/health")).IsSuccessStatusCode, "victoria-metrics /health");
            return vm;
        }

        public async Task ImportAsync(string[] names, double[][] window, long wStart)
        {
            var sb = new StringBuilder(16 << 20);
            for (int s = 0; s < names.Length; s++)
            {
                sb.Append("{\"metric\":{\"__name__\":\"").Append(names[s]).Append("\"},\"values\":[");
                bool first = true;
                for (int j = 0; j < Window; j++)
                    if (!double.IsNaN(window[s][j])) { sb.Append(first ? "" : ",").Append(window[s][j].ToString("R", CultureInfo.InvariantCulture)); first = false; }
                sb.Append("],\"timestamps\":[");
                first = true;
                for (int j = 0; j < Window; j++)
                    if (!double.IsNaN(window[s][j])) { sb.Append(first ? "" : ",").Append((wStart + j * 10L) * 1000); first = false; }
                sb.Append("]}\n");
                if (sb.Length > 8 << 20 || s == names.Length - 1)
                {
                    (await _http.PostAsync($"{_url}/api/v1/import", new StringContent(sb.ToString()))).EnsureSuccessStatusCode();
                    sb.Clear();
                }
            }
        }

        /// <summary>Flushes and merges everything, then its bytes on disk and how many of the probe's values came back bit-exact.</summary>
        public async Task<(long Bytes, string Exact)> FinishAsync(string probe, List<(long Ts, double V)> original, long start)
        {
            await _http.GetAsync($"{_url}/internal/force_flush");
            foreach (var month in Enumerable.Range(0, 3).Select(d => DateTimeOffset.FromUnixTimeSeconds(start).AddMonths(d).ToString("yyyy_MM", CultureInfo.InvariantCulture)))
                await _http.GetAsync($"{_url}/internal/force_merge?partition_prefix={month}");
            await UntilAsync(async () => (await _http.GetStringAsync($"{_url}/metrics")).Split('\n')
                .Where(l => l.StartsWith("vm_active_merges", StringComparison.Ordinal)).All(l => l.EndsWith(" 0", StringComparison.Ordinal)), "victoria-metrics merges done");
            var export = await _http.GetStringAsync($"{_url}/api/v1/export?match[]={probe}&start={start}");
            var byTs = new Dictionary<long, double>();
            foreach (var line in export.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var root = JsonDocument.Parse(line).RootElement;
                var vs = root.GetProperty("values").EnumerateArray().ToList();
                var ts = root.GetProperty("timestamps").EnumerateArray().ToList();
                for (int i = 0; i < vs.Count; i++) byTs[ts[i].GetInt64() / 1000] = vs[i].GetDouble();
            }
            int exact = original.Count(p => byTs.TryGetValue(p.Ts, out var v) && BitConverter.DoubleToInt64Bits(v) == BitConverter.DoubleToInt64Bits(p.V));
            return (DirBytes(Path.Combine(_dataDir, "data")) + DirBytes(Path.Combine(_dataDir, "indexdb")), $"{probe}: {exact} of {original.Count} values read back bit-exact");
        }

        private async Task UntilAsync(Func<Task<bool>> ok, string what)
        {
            var deadline = DateTime.UtcNow.AddMinutes(10);
            while (true)
            {
                try { if (await ok()) return; }
                catch (HttpRequestException) { }
                if (DateTime.UtcNow > deadline) throw new TimeoutException(what);
                await Task.Delay(100);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_p.HasExited) { _p.Kill(true); await _p.WaitForExitAsync(); }
            _p.Dispose();
            _http.Dispose();
        }
    }
}
