// Restart to first /render with a 100 000-series store (issue 21 "Restart"), Observe vs VictoriaMetrics in one run:
// dotnet run -c Release --project bench/Observe.Bench -- --open DATADIR [--checkpoint] [--seal] [--rules]: one open in process, on a copy (OpenOnly).
// dotnet run -c Release --project bench/Observe.Bench -- --restart [--series 100000] [--hours 2] [--step 60] [--head-flushes 12] [--runs 2]
//   [--observe LABEL=PATH]... [--keep] [--store DIR] [--fresh] [--no-vm]
// Needs src/Observe built in Release (dotnet build src/Observe -c Release) and victoria-metrics installed (tests/peers).
// --observe (repeatable) names the Observe binaries to restart on the same store, alternately in each run: a .dll is run as
// `dotnet X.dll run`, anything else as an executable (the ReadyToRun single file of deploy/publish.sh, which users run);
// default: this tree's observe.dll. --keep keeps the stores, --store DIR restarts on kept ones instead of building them.
// The real `observe` binary is fed Graphite plaintext (history: --hours at --step seconds, sealed into chunks by its own
// compactor; then --head-flushes points per series at 10 s, which stay in the head because that process compacts only
// hourly); VictoriaMetrics gets the same lines on its Graphite port. Each run stops each server by SIGTERM, times process
// start to the first successful query of one series (polled every 5 ms), then SIGKILLs it and times the same again.
// --fresh: each binary restarts from its own copy of the kept store, copied again before each stop (a SIGTERM that seals the
// head would otherwise leave the next binary, and the SIGKILL that follows, a store without a head); the time SIGTERM took
// to end the process is shown too. --no-vm leaves VictoriaMetrics out (its store is not built, it is not restarted).
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Observe.Bench;

internal static class RestartBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        int series = HeadBench.Arg(args, "--series", 100_000), hours = HeadBench.Arg(args, "--hours", 2), step = HeadBench.Arg(args, "--step", 60);
        int headFlushes = HeadBench.Arg(args, "--head-flushes", 12), runs = HeadBench.Arg(args, "--runs", 2);
        int storeArg = Array.IndexOf(args, "--store");
        bool reuse = storeArg >= 0;
        var dir = reuse ? Path.GetFullPath(args[storeArg + 1])
            : Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "observe-restart-bench-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        var variants = new List<(string Label, string Path)>();
        for (int i = 0; i < args.Length - 1; i++)
            if (args[i] == "--observe" && args[i + 1].Split('=', 2) is [var label, var path]) variants.Add((label, Path.GetFullPath(path)));
        if (variants.Count == 0) variants.Add(("dotnet observe.dll", Path.Combine(RepoRoot(), "src", "Observe", "bin", "Release", "net10.0", "observe.dll")));
        foreach (var (_, path) in variants)
            if (!File.Exists(path)) { Console.WriteLine($"{path} not built (dotnet build src/Observe -c Release, or deploy/publish.sh)"); return 2; }
        var names = Enumerable.Range(0, series).Select(i => $"stats.timers.app{i % 100}.k{i}.mean").ToArray();
        string probe = names[^1];
        // A kept store is queried at the time it was built for (its newest head flush), which it keeps for 6 h at 10 s.
        var nowFile = Path.Combine(dir, "now");
        long now = reuse ? long.Parse(File.ReadAllText(nowFile), CultureInfo.InvariantCulture) : DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 10 * 10;
        if (!reuse) File.WriteAllText(nowFile, now.ToString(CultureInfo.InvariantCulture));
        long headStart = now - headFlushes * 10L, histStart = headStart - hours * 3600L;
        Console.WriteLine($"{series:N0} series; history {hours} h at {step} s ({series * (long)(hours * 3600 / step):N0} points), head {headFlushes} x 10 s ({series * (long)headFlushes:N0} points); " +
            $"{Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        bool fresh = args.Contains("--fresh");
        var observes = variants.Select(v => new Server(dir, v.Path, http, v.Label)).ToList();
        var vm = new Server(dir, null, http, "VictoriaMetrics");
        bool noVm = args.Contains("--no-vm");
        if (!reuse) await BuildStoresAsync(observes[0], noVm ? null : vm, http, names, histStart, headStart, now, step, series, headFlushes, probe);
        var pristine = Path.Combine(observes[0].Dir, "data");
        if (fresh) observes = [.. variants.Select(v => new Server(dir, v.Path, http, v.Label, "observe-" + string.Concat(v.Label.Where(char.IsLetterOrDigit))))];

        // ---- restarts: each binary on the same store, alternately in each run ----
        var results = new List<string>();
        for (int run = 1; run <= runs; run++)
            foreach (var s in noVm ? observes : observes.Append(vm))
            {
                foreach (var kill in new[] { false, true })
                {
                    if (fresh && s.Exe != null)
                    {
                        await s.StopAsync(kill: true);
                        CopyStore(pristine, Path.Combine(s.Dir, "data"));
                    }
                    if (!s.Running) { s.Start(); await Until(() => s.QueryOkAsync(probe, now - 5), TimeSpan.FromMinutes(2), $"{s.Label} up"); }
                    var stopping = Stopwatch.StartNew();
                    await s.StopAsync(kill);
                    var stopped = stopping.Elapsed;
                    var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
                    var t = Stopwatch.StartNew();
                    s.Start();
                    await Until(() => s.QueryOkAsync(probe, now - 5), TimeSpan.FromMinutes(2), $"{s.Label} answers");
                    var line = $"run {run}: {s.Label,-28} after {(kill ? "SIGKILL" : $"SIGTERM (stop {stopped.TotalSeconds:F2} s)")}: first query {t.Elapsed.TotalSeconds:F2} s (load {load})";
                    if (s.Exe != null) line += $" (head {await Stat(http, s, "headPoints"):N0} points)";
                    Console.WriteLine(line);
                    foreach (var said in s.StartLines()) Console.WriteLine("    " + said);
                    results.Add(line);
                }
                // Only one Observe on the store at a time.
                if (s.Exe != null) await s.StopAsync(kill: false);
            }
        await vm.StopAsync(kill: false);
        if (!args.Contains("--keep") && !reuse) Directory.Delete(dir, true);
        else Console.WriteLine($"kept {dir}");
        return 0;
    }

    private static async Task BuildStoresAsync(Server o, Server? vm, HttpClient http, string[] names, long histStart, long headStart, long now, int step,
        int series, int headFlushes, string probe)
    {
        var sw = Stopwatch.StartNew();
        o.Write(compactEvery: 30); o.Start(); vm?.Start();
        await Task.WhenAll(o.ReadyAsync(), vm?.ReadyAsync() ?? Task.CompletedTask);
        await Task.WhenAll(SendAsync(o.GraphitePort, names, histStart, headStart, step), vm == null ? Task.CompletedTask : SendAsync(vm.GraphitePort, names, histStart, headStart, step));
        Console.WriteLine($"history sent in {sw.Elapsed.TotalSeconds:F0} s");
        // Sealed: the history left Observe's head (its compactor runs every 30 s); what remains are its own self-metrics.
        await Until(async () => await Stat(http, o, "series") >= series && await Stat(http, o, "headPoints") < series / 10, TimeSpan.FromMinutes(20), "history sealed");
        Console.WriteLine($"history sealed after {sw.Elapsed.TotalSeconds:F0} s; db {DbBytes(o) / 1e6:F0} MB");
        await o.StopAsync(kill: false);
        o.Write(compactEvery: 3600); o.Start(); await o.ReadyAsync();
        await Task.WhenAll(SendAsync(o.GraphitePort, names, headStart, now, 10), vm == null ? Task.CompletedTask : SendAsync(vm.GraphitePort, names, headStart, now, 10));
        await Until(async () => await Stat(http, o, "headPoints") >= (long)series * headFlushes, TimeSpan.FromMinutes(10), "head written");
        if (vm != null)
        {
            await http.GetAsync($"{vm.Url}/internal/force_flush");
            await Until(() => vm.QueryOkAsync(probe, now - 5), TimeSpan.FromMinutes(5), "victoria-metrics has the head");
        }
        Console.WriteLine($"head written after {sw.Elapsed.TotalSeconds:F0} s: {await Stat(http, o, "headPoints"):N0} head points; db {DbBytes(o) / 1e6:F0} MB");
        // SIGKILL: every flush is committed; a clean stop would checkpoint (or, before 2026-12-07 evening, seal) the head, and
        // the kept store must hold the head rows alone, as any binary compared on it would find them after a crash.
        await o.StopAsync(kill: true);
    }

    /// <summary>
    /// Opens a copy of a kept store in process (no host around it) and says what the open cost, by phase. --checkpoint then
    /// writes the head checkpoint (as SIGTERM does) and opens again; --seal instead times a forced compaction of the head (what
    /// SIGTERM did before the checkpoint), each on its own copy.
    /// </summary>
    public static int OpenOnly(string[] args)
    {
        string dataDir = args[Array.IndexOf(args, "--open") + 1];
        var options = new Observe.Storage.StorageOptions { DataDir = CopyToTemp(dataDir), CompactionIntervalSeconds = 0 };
        Console.WriteLine($"{Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        var t = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var store = Observe.Storage.Tsdb.TimeSeriesStore.Open(options, null, new ConsoleLog());
        Console.WriteLine($"open {t.Elapsed.TotalMilliseconds:F0} ms (process CPU {(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds:F0} ms), {store.SeriesCount:N0} series, {store.HeadPointCount:N0} head points");
        if (args.Contains("--checkpoint"))
        {
            // As at a real SIGTERM, the background check of every chunk after open has finished (it would share the CPU).
            store.WaitUntilValidated(TimeSpan.FromMinutes(5));
            t.Restart();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var (rows, points, bytes) = store.WriteHeadCheckpoint();
            Console.WriteLine($"checkpoint written: {points:N0} points of {rows} head rows, {bytes:N0} bytes, in {t.Elapsed.TotalMilliseconds:F0} ms " +
                $"(process CPU {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds:F0} ms), load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            t.Restart(); store.Dispose(); Console.WriteLine($"closed in {t.Elapsed.TotalMilliseconds:F0} ms");
            t.Restart();
            cpu = Process.GetCurrentProcess().TotalProcessorTime;
            store = Observe.Storage.Tsdb.TimeSeriesStore.Open(options, null, new ConsoleLog());
            Console.WriteLine($"open with the checkpoint {t.Elapsed.TotalMilliseconds:F0} ms (process CPU {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds:F0} ms), {store.HeadPointCount:N0} head points");
        }
        store.Dispose();
        Directory.Delete(options.DataDir, true);
        if (args.Contains("--seal"))
        {
            options.DataDir = CopyToTemp(dataDir);
            using (var sealing = Observe.Storage.Tsdb.TimeSeriesStore.Open(options, null, new ConsoleLog()))
            {
                t.Restart();
                sealing.Compact(force: true);
                Console.WriteLine($"forced compaction (the former shutdown seal): {t.Elapsed.TotalMilliseconds:F0} ms, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            }
            Directory.Delete(options.DataDir, true);
        }
        if (!args.Contains("--rules")) return 0;
        var names = Enumerable.Range(0, 100_000).Select(i => $"stats.timers.app{i % 100}.k{i}.mean").ToArray();
        var rules = new Observe.Storage.Tsdb.RuleSet(new Observe.Storage.StorageOptions());
        t.Restart(); foreach (var n in names) rules.SchemaFor(n); Console.WriteLine($"SchemaFor x100k {t.Elapsed.TotalMilliseconds:F0} ms");
        t.Restart(); foreach (var n in names) rules.AggregationFor(n); Console.WriteLine($"AggregationFor x100k {t.Elapsed.TotalMilliseconds:F0} ms");
        var trie = new Observe.Storage.Tsdb.MetricTrie();
        t.Restart(); foreach (var n in names) trie.Add(n); Console.WriteLine($"trie x100k {t.Elapsed.TotalMilliseconds:F0} ms");
        var sc = rules.SchemaFor(names[0]); var ag = rules.AggregationFor(names[0]);
        t.Restart(); for (int i = 0; i < names.Length; i++) _ = new Observe.Storage.Tsdb.TimeSeriesStore.SeriesState(i, names[i], sc, ag); Console.WriteLine($"SeriesState x100k {t.Elapsed.TotalMilliseconds:F0} ms");
        return 0;
    }

    private static string CopyToTemp(string dataDir)
    {
        var to = Path.Combine(Path.GetTempPath(), "observe-open-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(dataDir, "tsdb.db*")) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        return to;
    }

    private sealed class ConsoleLog : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel level) => true;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel level, Microsoft.Extensions.Logging.EventId id, TState state, Exception? e, Func<TState, Exception?, string> f) =>
            Console.WriteLine(f(state, e));
    }

    private static void CopyStore(string from, string to)
    {
        if (Directory.Exists(to)) Directory.Delete(to, true);
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    private static long DbBytes(Server o) => new DirectoryInfo(Path.Combine(o.Dir, "data")).GetFiles("tsdb.db*").Sum(f => f.Length);

    private static async Task<long> Stat(HttpClient http, Server o, string key)
    {
        var stats = await http.GetFromJsonAsync<JsonElement>($"{o.Url}/stats");
        return stats.GetProperty("storage").GetProperty(key).GetInt64();
    }

    private static async Task Until(Func<Task<bool>> ok, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try { if (await ok()) return; }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (deadline.Elapsed > timeout) throw new TimeoutException(what);
            await Task.Delay(5);
        }
    }

    /// <summary>Graphite plaintext lines for every series from <paramref name="from"/> to <paramref name="until"/> (exclusive), time-major as live data arrives.</summary>
    private static async Task SendAsync(int port, string[] names, long from, long until, int step)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        await using var w = new StreamWriter(tcp.GetStream(), new UTF8Encoding(false), 1 << 20) { NewLine = "\n" };
        for (long ts = from; ts < until; ts += step)
            for (int i = 0; i < names.Length; i++)
            {
                await w.WriteAsync(names[i]);
                await w.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $" {(ts / step * 7 + i) % 1000} {ts}"));
            }
        await w.FlushAsync();
        tcp.Client.Shutdown(SocketShutdown.Send);
    }

    private static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "Observe.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    /// <summary>One server process (Observe when <see cref="Exe"/> is set, else VictoriaMetrics), restartable on the same data and ports.</summary>
    private sealed class Server(string root, string? exe, HttpClient http, string label, string? subdir = null)
    {
        /// <summary>The Observe binary (a .dll run by dotnet, or an executable); null: VictoriaMetrics.</summary>
        public readonly string? Exe = exe;
        public readonly string Label = label;
        public readonly string Dir = Directory.CreateDirectory(Path.Combine(root, subdir ?? (exe != null ? "observe" : "vm"))).FullName;
        public bool Running => _p != null;
        private string? _log;
        // Observe's take new ports at each start: a port picked minutes ago may since be the local end of one of the
        // sender's connections (in TIME_WAIT), which its listener (no SO_REUSEADDR) then cannot bind.
        public int Port = global::RenderBench.FreePort(), GraphitePort = global::RenderBench.FreePort();
        private int _compactEvery;
        public string Url => $"http://127.0.0.1:{Port}";
        private Process? _p;
        private int _starts;

        public void Write(int compactEvery)
        {
            _compactEvery = compactEvery;
            Port = global::RenderBench.FreePort();
            GraphitePort = global::RenderBench.FreePort();
            WriteConfig(compactEvery);
        }

        private void WriteConfig(int compactEvery) => File.WriteAllText(Path.Combine(Dir, "observe.yaml"), $"""
            http: {"{"}port: {Port}{"}"}
            collector:
              statsd: {"{"}port: {(global::RenderBench.FreePort())}{"}"}
              graphite: {"{"}port: {GraphitePort}, pickle: {"{"}port: {(global::RenderBench.FreePort())}{"}"}{"}"}
            storage:
              dataDir: {Dir}/data
              compactionIntervalSeconds: {compactEvery}
            logs: {"{"}udp: {"{"}port: 0{"}"}, gelf: {"{"}port: 0{"}"}{"}"}
            logging: {"{"}level: information{"}"}
            """);

        public void Start()
        {
            if (Exe != null) Write(_compactEvery == 0 ? 3600 : _compactEvery);
            var psi = Exe == null ? new ProcessStartInfo("victoria-metrics")
            {
                ArgumentList = { $"-storageDataPath={Dir}/data", $"-httpListenAddr=127.0.0.1:{Port}", $"-graphiteListenAddr=127.0.0.1:{GraphitePort}",
                        "-retentionPeriod=100y", "-search.latencyOffset=0s" },
            }
                : Exe.EndsWith(".dll", StringComparison.Ordinal) ? new ProcessStartInfo("dotnet") { ArgumentList = { Exe, "run", "--config", Path.Combine(Dir, "observe.yaml") } }
                : new ProcessStartInfo(Exe) { ArgumentList = { "run", "--config", Path.Combine(Dir, "observe.yaml") } };
            psi.UseShellExecute = false;
            psi.WorkingDirectory = Dir;
            psi.RedirectStandardOutput = psi.RedirectStandardError = true;
            _p = Process.Start(psi)!;
            _log = Path.Combine(Dir, $"run-{string.Concat(Label.Where(char.IsLetterOrDigit))}-{++_starts}.log");
            var log = new StreamWriter(_log) { AutoFlush = true };
            _p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (log) log.WriteLine(e.Data); };
            _p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (log) log.WriteLine(e.Data); };
            _p.BeginOutputReadLine(); _p.BeginErrorReadLine();
        }

        /// <summary>What the last start logged about its own cost (Observe: the store's open, the start-up timeline).</summary>
        public IEnumerable<string> StartLines()
        {
            if (Exe == null || _log == null) return [];
            using var f = new FileStream(_log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var text = new StreamReader(f).ReadToEnd();
            return text.Split('\n').Where(l => l.Contains("tsdb: opened", StringComparison.Ordinal) || l.Contains("start-up (ms", StringComparison.Ordinal)).ToList();
        }

        public Task ReadyAsync() => Until(async () => (await http.GetAsync($"{Url}/health")).IsSuccessStatusCode, TimeSpan.FromMinutes(2), $"{Dir} /health");

        public async Task StopAsync(bool kill)
        {
            if (_p == null) return;
            if (kill) _p.Kill();
            else Process.Start("kill", ["-TERM", _p.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
            await _p.WaitForExitAsync();
            _p.Dispose();
            _p = null;
        }

        /// <summary>True when a query of <paramref name="name"/> answers with a value at or after <paramref name="since"/>.</summary>
        public async Task<bool> QueryOkAsync(string name, long since)
        {
            if (Exe != null)
            {
                var r = await http.GetAsync($"{Url}/render?target={name}&from={since - 3600}&format=json");
                if (!r.IsSuccessStatusCode) return false;
                var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
                return doc.GetArrayLength() == 1 && doc[0].GetProperty("datapoints").EnumerateArray()
                    .Any(p => p[0].ValueKind == JsonValueKind.Number && p[1].GetInt64() >= since - 10);
            }
            var q = $"{Url}/api/v1/query_range?query={Uri.EscapeDataString($"{{__name__=\"{name}\"}}")}&start={since - 3600}&end={since + 10}&step=10";
            var vr = await http.GetAsync(q);
            if (!vr.IsSuccessStatusCode) return false;
            var res = JsonDocument.Parse(await vr.Content.ReadAsStringAsync()).RootElement.GetProperty("data").GetProperty("result");
            return res.GetArrayLength() == 1 && res[0].GetProperty("values").EnumerateArray().Any(p => p[0].GetDouble() >= since - 10);
        }
    }
}
