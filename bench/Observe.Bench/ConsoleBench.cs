using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;

namespace Observe.Bench;

/// <summary>
/// The console's Problems page in Debian's chromium against the real binary with <c>--hosts × --per-host</c> passive
/// checks, <c>--failing</c> of them CRITICAL: time to the first full render, each refresh (request start → DOM updated),
/// requests per refresh per source, and bytes per refresh. Needs src/Observe built in Release.
/// </summary>
internal static class ConsoleBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        int Arg(string name, int d) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() is { } v ? int.Parse(v) : d;
        int hosts = Arg("--hosts", 100), perHost = Arg("--per-host", 100), failing = Arg("--failing", 500), seconds = Arg("--seconds", 20);
        var root = Path.Combine(Path.GetTempPath(), "observe-console-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var port = FreePort();
        var yaml = new StringBuilder($"http: {{port: {port}}}\ncollector:\n  statsd: {{enabled: false}}\n  graphite: {{enabled: false}}\n" +
            $"storage: {{dataDir: {root}/data}}\nlogging: {{level: warning}}\nchecks:\n  defaults: {{maxCheckAttempts: 1, checkInterval: 1h}}\n  hosts:\n");
        for (var h = 0; h < hosts; h++)
        {
            yaml.Append($"    - name: web{h:000}\n      checks:\n");
            for (var c = 0; c < perHost; c++) yaml.Append($"        - {{name: svc{c:000}, kind: passive}}\n");
        }
        await File.WriteAllTextAsync(Path.Combine(root, "observe.yaml"), yaml.ToString());
        var dll = Path.Combine(FindRoot(), "src", "Observe", "bin", "Release", "net10.0", "observe.dll");
        var psi = new ProcessStartInfo("dotnet", [dll, "run", "--config", Path.Combine(root, "observe.yaml")]) { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["OBSERVE__Logs__Udp__Port"] = "0";
        psi.Environment["OBSERVE__Logs__Gelf__Port"] = "0";
        using var observe = Process.Start(psi)!;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var up = Stopwatch.StartNew();
            while (true)
            {
                try { if ((await http.GetAsync("/health")).IsSuccessStatusCode) break; } catch (HttpRequestException) { }
                if (up.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("observe did not start");
                await Task.Delay(100);
            }
            for (var i = 0; i < failing; i++)
            {
                var r = await http.PostAsJsonAsync($"/api/checks/web{i % hosts:000}/svc{i / hosts:000}/result", new { status = 2, output = $"CRITICAL - connection refused ({i})" });
                r.EnsureSuccessStatusCode();
            }
            Console.WriteLine($"checks: {hosts * perHost}, failing: {failing}");

            using var pw = await Playwright.CreateAsync();
            await using var browser = await pw.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox"] });
            var page = await browser.NewPageAsync(new() { BaseURL = http.BaseAddress!.ToString() });
            var bytes = new Dictionary<string, long>();
            var counts = new Dictionary<string, int>();
            var decoded = new Dictionary<string, long>();
            page.Response += async (_, r) =>
            {
                var path = new Uri(r.Url).AbsolutePath;
                // On the wire (compressed when the server compresses) and decoded.
                try
                {
                    var wire = (await r.Request.SizesAsync()).ResponseBodySize;
                    var len = (await r.BodyAsync()).Length;
                    lock (bytes) { bytes[path] = bytes.GetValueOrDefault(path) + wire; decoded[path] = decoded.GetValueOrDefault(path) + len; counts[path] = counts.GetValueOrDefault(path) + 1; }
                }
                catch (PlaywrightException) { }
            };
            var sw = Stopwatch.StartNew();
            await page.GotoAsync("/");
            await page.WaitForFunctionAsync($"() => document.querySelectorAll('table[data-group=unhandled] tbody tr').length === {failing}", null, new() { Timeout = 60_000 });
            Console.WriteLine($"first render of {failing} problems: {sw.ElapsedMilliseconds} ms from navigation");
            lock (bytes) { bytes.Clear(); counts.Clear(); decoded.Clear(); }
            await page.EvaluateAsync("""
                () => { window.__updates = []; performance.clearResourceTimings(); performance.setResourceTimingBufferSize(100000);
                  new MutationObserver(() => window.__updates.push(performance.now()))
                    .observe(document.querySelector('main > p.hint'), { childList: true, characterData: true, subtree: true }); }
                """);
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            var timings = await page.EvaluateAsync<JsonElement>("""
                () => ({ updates: window.__updates,
                  starts: performance.getEntriesByType('resource').filter(r => r.name.includes('/api/checks')).map(r => r.startTime) })
                """);
            var updates = timings.GetProperty("updates").EnumerateArray().Select(x => x.GetDouble()).ToList();
            var starts = timings.GetProperty("starts").EnumerateArray().Select(x => x.GetDouble()).ToList();
            var refresh = updates.Select(u => starts.Where(s => s < u).DefaultIfEmpty(double.NaN).Max() is var s && !double.IsNaN(s) ? u - s : double.NaN)
                .Where(d => !double.IsNaN(d)).OrderBy(d => d).ToList();
            var refreshes = Math.Max(1, starts.Count);
            Console.WriteLine($"refreshes in {seconds} s: {starts.Count}; refresh (request start → DOM updated) median {Pct(refresh, 0.5):0} ms, p95 {Pct(refresh, 0.95):0} ms, max {refresh.LastOrDefault():0} ms");
            lock (bytes)
                foreach (var (path, b) in bytes.OrderBy(k => k.Key))
                    Console.WriteLine($"  {path}: {counts[path] / (double)refreshes:0.##} requests per refresh, {b / counts[path] / 1024.0:0.0} KiB per response on the wire ({decoded[path] / counts[path] / 1024.0:0.0} KiB decoded)");
            Console.WriteLine($"bytes per refresh on the wire: {bytes.Values.Sum() / (double)refreshes / 1024:0.0} KiB ({decoded.Values.Sum() / (double)refreshes / 1024:0.0} KiB decoded)");
            return 0;
        }
        finally
        {
            observe.Kill(entireProcessTree: true);
            await observe.WaitForExitAsync();
            Directory.Delete(root, recursive: true);
        }
    }

    private static double Pct(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

    private static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var p = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return p;
    }

    private static string FindRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "Observe.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
