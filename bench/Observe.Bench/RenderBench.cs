// Render latency, Observe vs graphite-web, on the same data (docs/benchmarks.md "## Embedded TSDB").
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Observe.Storage;
using Observe.Storage.Graphite;
using Observe.Storage.Tsdb;

static class RenderBench
{
    /// <summary>
    /// 24 h of 100 statsd timer means (<see cref="RenderData"/>) go into whisper files (schema 10s:6h,1m:7d,10m:5y, average,
    /// xFilesFactor 0.3 — what Observe's statsd defaults pick for <c>.mean</c>) written with whisper.update_many in 10-minute
    /// batches under a fake clock, so every point is propagated into the 1m/10m archives as carbon would have done live;
    /// graphite-web 1.1 (Debian package, Django runserver, no carbon, no render cache) serves them. The same points go into
    /// a <see cref="TimeSeriesStore"/> served by <c>MapGraphiteApi</c> in a minimal Kestrel app. Both answer
    /// <c>/render?target=stats.timers.svc0.*.mean&amp;from=-24h&amp;format=json</c> over HTTP on 127.0.0.1.
    /// </summary>
    public static async Task<int> RunAsync(string[] args)
    {
        int runs = args.SkipWhile(a => a != "--runs").Skip(1).Select(int.Parse).FirstOrDefault(20);
        // --png: a typical dashboard graph instead of the JSON of all 100 series: 10 of them (endpoint0..9) over 24 h as an
        // 800x400 PNG, drawn by graphite-web's cairo (glyph.py) and by Observe's SkiaSharp renderer
        bool png = args.Contains("--png");
        // --slice N: bytes of /render JSON handed to Kestrel per flush (default 64 KiB; 0 = the whole answer, then one flush)
        if (args.SkipWhile(a => a != "--slice").Skip(1).Select(int.Parse).FirstOrDefault(-1) is >= 0 and var slice)
            GraphiteApi.WriteSlice = slice == 0 ? int.MaxValue : slice;
        string target = png ? "stats.timers.svc0.endpoint?.mean" : RenderData.Target;
        string what = png ? "PNG 800x400 of 10 series x 24 h" : "render 100 series x 24 h";
        string dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "observe-render-bench-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var day = RenderData.Day(now);
        Console.WriteLine($"data: {day.Names.Length} series, {day.Points.Count:N0} points over 24 h at 10 s ({RenderData.Target})");

        // ---- whisper files
        var sw = Stopwatch.StartNew();
        var wdir = Path.Combine(dir, "storage", "whisper");
        Directory.CreateDirectory(wdir);
        var csv = new StringBuilder();
        foreach (var (ts, k, v) in day.Points) csv.Append(k).Append(',').Append(ts).Append(',').Append(v.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        File.WriteAllText(Path.Combine(dir, "points.csv"), csv.ToString());
        File.WriteAllText(Path.Combine(dir, "write_whisper.py"), $$"""
            import os, sys, types, whisper
            clock = [0]
            whisper.time = types.SimpleNamespace(time=lambda: clock[0])
            names = {{JsonSerializer.Serialize(day.Names)}}
            by = {}
            for line in open(sys.argv[1]):
                k, ts, v = line.split(',')
                by.setdefault(int(k), []).append((int(ts), float(v)))
            for k, pts in by.items():
                path = os.path.join(sys.argv[2], *names[k].split('.')) + '.wsp'
                os.makedirs(os.path.dirname(path), exist_ok=True)
                whisper.create(path, [(10, 2160), (60, 10080), (600, 262800)], xFilesFactor=0.3, aggregationMethod='average')
                i = 0
                while i < len(pts):
                    end = pts[i][0] - pts[i][0] % 600 + 600
                    j = i
                    while j < len(pts) and pts[j][0] < end: j += 1
                    clock[0] = pts[j - 1][0] + 1
                    whisper.update_many(path, pts[i:j])
                    i = j
            """.Replace("\n            ", "\n"));
        await RunAsync("/usr/bin/python3", [Path.Combine(dir, "write_whisper.py"), Path.Combine(dir, "points.csv"), wdir], null);
        Console.WriteLine($"whisper files written in {sw.Elapsed.TotalSeconds:F1} s");

        // ---- graphite-web
        int web = FreePort();
        Directory.CreateDirectory(Path.Combine(dir, "web")); Directory.CreateDirectory(Path.Combine(dir, "log"));
        File.WriteAllText(Path.Combine(dir, "web/observe_graphite_settings.py"), $"""
            SECRET_KEY = 'observe-render-bench'
            ALLOWED_HOSTS = ['*']
            TIME_ZONE = 'UTC'
            GRAPHITE_ROOT = '/usr/share/graphite-web'
            STORAGE_DIR = '{dir}/storage'
            WHISPER_DIR = '{wdir}'
            LOG_DIR = '{dir}/log'
            INDEX_FILE = '{dir}/storage/index'
            CARBONLINK_HOSTS = []
            DEFAULT_CACHE_DURATION = 0
            DEBUG = False
            DATABASES = dict(default=dict(NAME='{dir}/graphite.db', ENGINE='django.db.backends.sqlite3', USER='', PASSWORD='', HOST='', PORT=''))

            """.Replace("\n            ", "\n"));
        var env = new Dictionary<string, string>
        {
            ["PYTHONPATH"] = Path.Combine(dir, "web"),
            ["DJANGO_SETTINGS_MODULE"] = "graphite.settings",
            ["GRAPHITE_SETTINGS_MODULE"] = "observe_graphite_settings",
        };
        await RunAsync("/usr/bin/python3", ["/usr/bin/graphite-manage", "migrate", "--run-syncdb", "--noinput"], env);
        // --gunicorn: graphite-web as production runs it (WSGI under gunicorn, sync workers); default: Django's runserver,
        // the way tests/Integration runs it.
        bool gunicorn = args.Contains("--gunicorn");
        var psi = new ProcessStartInfo(gunicorn ? "/usr/bin/gunicorn" : "/usr/bin/python3") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in gunicorn ? ["--workers", "2", "--bind", $"127.0.0.1:{web}", "graphite.wsgi:application"]
                 : new[] { "/usr/bin/graphite-manage", "runserver", $"127.0.0.1:{web}", "--noreload" }) psi.ArgumentList.Add(a);
        Console.WriteLine($"graphite-web served by {(gunicorn ? "gunicorn (2 sync workers)" : "Django runserver")}");
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var webProc = Process.Start(psi)!;
        _ = webProc.StandardOutput.ReadToEndAsync(); _ = webProc.StandardError.ReadToEndAsync();

        // ---- Observe
        var opts = new StorageOptions { DataDir = Path.Combine(dir, "observe"), CompactionIntervalSeconds = 0 };
        using var store = TimeSeriesStore.Open(opts);
        sw.Restart();
        await RenderData.WriteAsync(store, day);
        Console.WriteLine($"Observe store written in {sw.Elapsed.TotalSeconds:F1} s");
        using var events = GraphiteEventStore.Open(opts.DataDir);
        int port = FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        await using var app = builder.Build();
        // Server time per request (from routing to the last byte handed to Kestrel), to split server from transport.
        var serverMs = new List<double>();
        app.Use(async (ctx, next) => { var t = Stopwatch.StartNew(); await next(); lock (serverMs) serverMs.Add(t.Elapsed.TotalMilliseconds); });
        app.MapGraphiteApi(store, events);
        await app.StartAsync();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(120) };
        string q = png ? $"/render?target={Uri.EscapeDataString(target)}&from=-24h&format=png&width=800&height=400"
            : $"/render?target={Uri.EscapeDataString(target)}&from=-24h&format=json";
        string gUrl = $"http://127.0.0.1:{web}{q}", oUrl = $"http://127.0.0.1:{port}{q}";
        for (int i = 0; ; i++)
        {
            try { if ((await http.GetAsync($"http://127.0.0.1:{web}/metrics/find?query=*")).IsSuccessStatusCode) break; }
            catch (HttpRequestException) { }
            if (i > 120) throw new InvalidOperationException("graphite-web did not start");
            await Task.Delay(500);
        }

        if (png) await ComparePngs(http, gUrl, oUrl, dir);
        var (gBody, oBody) = png ? ("", "") : (await http.GetStringAsync(gUrl), await http.GetStringAsync(oUrl));
        if (!png) Console.WriteLine($"response: graphite-web {gBody.Length:N0} bytes, Observe {oBody.Length:N0} bytes; {Compare(gBody, oBody)}");
        int at = 0;
        while (at < Math.Min(gBody.Length, oBody.Length) && gBody[at] == oBody[at]) at++;
        if (!png && at < Math.Max(gBody.Length, oBody.Length))
            Console.WriteLine($"first byte difference at {at}: graphite-web …{gBody[Math.Max(0, at - 40)..Math.Min(gBody.Length, at + 40)]}… Observe …{oBody[Math.Max(0, at - 40)..Math.Min(oBody.Length, at + 40)]}…");
        // Timed: request until the whole body has arrived (bytes, not decoded: that is client cost).
        // The client reads each body into one reused buffer: the bench's client shares the process (and the GC) with the
        // Observe server, so a fresh 4 MB array per response (GetByteArrayAsync) made the client's garbage collections
        // pause Observe — a cost graphite-web, in its own process, never paid.
        var bodyBuffer = new byte[64 << 20];
        async Task<int> Fetch(string url)
        {
            using var resp = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
            resp.EnsureSuccessStatusCode();
            await using var stream = await resp.Content.ReadAsStreamAsync();
            int total = 0, n;
            while ((n = await stream.ReadAsync(bodyBuffer.AsMemory(total))) > 0) total += n;
            return total;
        }
        // Warm up: Observe's render path reaches Tier1 only after ~10 requests (runs 0–3 and 8 were the slowest five of 61
        // with 3 warm-ups; a dashboard server answers all day), graphite-web fills its caches.
        var cold = new List<double>();
        for (int i = 0; i < 20; i++) { await Fetch(gUrl); sw.Restart(); await Fetch(oUrl); cold.Add(sw.Elapsed.TotalMilliseconds); }
        Console.WriteLine($"warm-up, Observe's first 20 requests (ms): {string.Join(" ", cold.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)))}");
        // The store was written in this process just before (seconds of ingest garbage): collect it now, so that the timed
        // requests pay only for their own collections — graphite-web's process never held carbon's.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        var g = new List<double>(); var o = new List<double>();
        var gc0 = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var pause0 = GC.GetTotalPauseDuration();
        // Bytes allocated in this process while Observe answered (server and the bench's client): what the GC has to collect.
        long oAllocated = 0;
        for (int i = 0; i < runs; i++)
        {
            // alternate so that background load hits both sides alike
            sw.Restart(); await Fetch(gUrl); g.Add(sw.Elapsed.TotalMilliseconds);
            long a0 = GC.GetTotalAllocatedBytes(true);
            sw.Restart(); await Fetch(oUrl); o.Add(sw.Elapsed.TotalMilliseconds);
            oAllocated += GC.GetTotalAllocatedBytes(true) - a0;
        }
        double Med(List<double> l) => l.Order().ElementAt(l.Count / 2);
        double P95(List<double> l) => l.Order().ElementAt(Math.Min(l.Count - 1, (int)Math.Ceiling(l.Count * 0.95) - 1));
        Console.WriteLine($"{what}, {runs} runs each: graphite-web median {Med(g):F1} ms, p95 {P95(g):F1} ms; Observe median {Med(o):F1} ms, p95 {P95(o):F1} ms");
        Console.WriteLine($"GCs during the timed runs (gen0/gen1/gen2): {GC.CollectionCount(0) - gc0.Item1}/{GC.CollectionCount(1) - gc0.Item2}/{GC.CollectionCount(2) - gc0.Item3}, server GC {System.Runtime.GCSettings.IsServerGC}, paused {(GC.GetTotalPauseDuration() - pause0).TotalMilliseconds:F0} ms of them");
        var timedServer = serverMs.TakeLast(runs).ToList();
        Console.WriteLine($"Observe server time per timed request (routing to last byte written): median {Med(timedServer):F1} ms, p95 {P95(timedServer):F1} ms");
        Console.WriteLine($"slowest Observe requests (run: client / server ms): {string.Join(", ", o.Select((ms, i) => (ms, i)).OrderByDescending(x => x.ms).Take(5).Select(x => $"{x.i}: {x.ms:F1} / {timedServer[x.i]:F1}"))}");
        Console.WriteLine($"allocated per Observe request over HTTP (server and the bench's client, one process): {oAllocated / runs / 1024.0:N0} KB");
        Console.WriteLine($"ratio (graphite-web / Observe): median {Med(g) / Med(o):F1}x, p95 {P95(g) / P95(o):F1}x; load average {File.ReadAllText("/proc/loadavg").Trim()}");
        var fetch = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            sw.Restart();
            long t = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            foreach (var n in day.Names) store.Fetch(n, t - 86400, t);
            fetch.Add(sw.Elapsed.TotalMilliseconds);
        }
        var eval = new List<double>(); var json = new List<double>(); var evalBytes = new List<double>(); var jsonBytes = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            long t = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            long a0 = GC.GetTotalAllocatedBytes(true);
            sw.Restart();
            var req = new GraphiteApi.RenderRequest([target], t - 86400, t, t, png ? "png" : "json", null, false, 0, null);
            var data = GraphiteApi.Evaluate(req, store, events);
            eval.Add(sw.Elapsed.TotalMilliseconds);
            long a1 = GC.GetTotalAllocatedBytes(true);
            sw.Restart();
            if (png) Observe.Storage.Graphite.Images.GraphImages.Prepare("png", k => k == "width" ? "800" : k == "height" ? "400" : null, new RenderLimitOptions())!.Png(data, t - 86400, t);
            else
            {
                // As /render answers: formatted into pooled buffers and written (here to nowhere), the fetched windows released.
                var nowhere = new Microsoft.AspNetCore.Http.DefaultHttpContext();
                nowhere.Response.Body = Stream.Null;
                await new GraphiteApi.RenderedJson(data).ExecuteAsync(nowhere);
            }
            json.Add(sw.Elapsed.TotalMilliseconds);
            long a2 = GC.GetTotalAllocatedBytes(true);
            evalBytes.Add(a1 - a0); jsonBytes.Add(a2 - a1);
        }
        Console.WriteLine($"in process: Evaluate median {Med(eval):F1} ms, {(png ? "drawing the PNG" : "formatting and writing the JSON")} median {Med(json):F1} ms");
        Console.WriteLine($"in process, allocated: Evaluate median {Med(evalBytes) / 1024:N0} KB (store reads included), {(png ? "the PNG" : "the JSON")} median {Med(jsonBytes) / 1024:N0} KB");
        Console.WriteLine($"of which store.Fetch of the 100 series (in process, no HTTP/JSON): median {Med(fetch):F1} ms");
        await app.StopAsync();
        webProc.Kill(true);
        await webProc.WaitForExitAsync();
        if (!args.Contains("--keep")) Directory.Delete(dir, true); else Console.WriteLine($"kept {dir}");
        return 0;
    }

    /// <summary>Both PNGs decode at the asked size; kept in the bench directory (--keep) to look at side by side.</summary>
    private static async Task ComparePngs(HttpClient http, string gUrl, string oUrl, string dir)
    {
        foreach (var (name, url) in new[] { ("graphite-web", gUrl), ("observe", oUrl) })
        {
            var bytes = await http.GetByteArrayAsync(url);
            using var bmp = SkiaSharp.SKBitmap.Decode(bytes) ?? throw new InvalidOperationException($"{name}'s PNG does not decode");
            File.WriteAllBytes(Path.Combine(dir, name + ".png"), bytes);
            Console.WriteLine($"{name}: {bytes.Length:N0} bytes, {bmp.Width}x{bmp.Height}");
        }
    }

    private static string Compare(string gJson, string oJson)
    {
        using var gd = JsonDocument.Parse(gJson); using var od = JsonDocument.Parse(oJson);
        var gs = gd.RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("target").GetString()!, e => e.GetProperty("datapoints"));
        var os = od.RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("target").GetString()!, e => e.GetProperty("datapoints"));
        int same = 0, diff = 0, nonNull = 0;
        foreach (var (name, gp) in gs)
        {
            if (!os.TryGetValue(name, out var op)) { diff++; continue; }
            var a = gp.EnumerateArray().ToList(); var b = op.EnumerateArray().ToList();
            bool eq = a.Count == b.Count;
            for (int i = 0; eq && i < a.Count; i++)
            {
                if (a[i][1].GetInt64() != b[i][1].GetInt64()) eq = false;
                else if (a[i][0].ValueKind != b[i][0].ValueKind) eq = false;
                else if (a[i][0].ValueKind == JsonValueKind.Number)
                {
                    nonNull++;
                    if (Math.Abs(a[i][0].GetDouble() - b[i][0].GetDouble()) > 1e-9 * Math.Max(1, Math.Abs(a[i][0].GetDouble()))) eq = false;
                }
            }
            if (eq) same++; else diff++;
            if (!eq && diff <= 3)
            {
                int i = 0;
                while (i < Math.Min(a.Count, b.Count) && a[i].ToString() == b[i].ToString()) i++;
                Console.WriteLine($"  first difference in {name} at point {i} of {a.Count}/{b.Count}: graphite-web {(i < a.Count ? a[i].ToString() : "-")}, Observe {(i < b.Count ? b[i].ToString() : "-")}");
            }
        }
        return $"series: graphite-web {gs.Count}, Observe {os.Count}; identical (timestamps, nulls, values to 1e-9): {same}, different: {diff}; non-null values compared {nonNull:N0}";
    }

    internal static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int p = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return p;
    }

    private static async Task RunAsync(string exe, string[] args, Dictionary<string, string>? env)
    {
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', args)} failed: {await err}");
    }
}
