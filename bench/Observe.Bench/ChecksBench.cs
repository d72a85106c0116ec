using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Checks;
using Observe.Checks.Scheduling;
using Observe.Collector;

namespace Observe.Bench;

/// <summary>
/// Checks scheduling benchmark: N HTTP checks (interval I) against a local nginx, stepping the rate up; per step one
/// warm-up interval (first runs spread across it), then <c>--measure</c> intervals in which every run's schedule
/// jitter (start − scheduled fire time, the engine's check_latency) is recorded. Reports the highest checks/minute
/// whose p99 and max jitter stay below 1 s with every scheduled run done.
/// dotnet run -c Release --project bench/Observe.Bench -- --checks [--rates 30000,60000] [--interval 10] [--measure 2] [--url http://…/]
/// </summary>
internal static class ChecksBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rates = (Opt(args, "--rates") ?? "30000,60000,90000,120000,180000,240000").Split(',').Select(int.Parse).ToArray();
        var interval = TimeSpan.FromSeconds(double.Parse(Opt(args, "--interval") ?? "10", CultureInfo.InvariantCulture));
        var measure = int.Parse(Opt(args, "--measure") ?? "2");
        var concurrency = int.Parse(Opt(args, "--concurrency") ?? "32");
        await using var nginx = Opt(args, "--url") == null ? await Nginx.StartAsync() : null;
        var url = Opt(args, "--url") ?? $"http://127.0.0.1:{nginx!.Port}/";
        Console.WriteLine($"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, target {url}, interval {interval.TotalSeconds} s, maxConcurrency {concurrency}");
        Console.WriteLine("checks/min | checks | runs done/expected | jitter p50 / p99 / max (ms) | CPU of this process | load avg");
        var best = 0;
        // --persist off,on: each rate with check state persistence off and on (SQLite state.db in a temp dir, as checks.state does).
        var modes = (Opt(args, "--persist") ?? "off").Split(',');
        foreach (var rate in rates)
            foreach (var mode in modes)
            {
                var n = (int)(rate * interval.TotalSeconds / 60);
                var r = await StepAsync(n, interval, measure, concurrency, url, mode == "on");
                var ok = r.Done >= r.Expected * 0.95 && r.P99 < 1000 && r.Max < 1000 && r.Failed == 0;
                if (ok) best = Math.Max(best, rate);
                Console.WriteLine($"{rate,10:N0} | {n,6:N0} | {r.Done:N0}/{r.Expected:N0} | {r.P50:F1} / {r.P99:F1} / {r.Max:F1} | {r.Cpu:P0} of one core | {r.Load} {(ok ? "" : "← jitter ≥ 1 s, runs missing or failed")}{(r.Failed > 0 ? $" ({r.Failed} non-OK)" : "")}{(modes.Length > 1 || mode == "on" ? $" | persist {mode}{r.Persist}" : "")}");
            }
        Console.WriteLine($"highest rate with jitter < 1 s: {best:N0} checks/min");
        if (Opt(args, "--nagios") is { } nagiosRates)
        {
            Console.WriteLine("Nagios 4 (check_http against the same endpoint; interval_length=1; runs and latency from status.dat):");
            Console.WriteLine("checks/min | services | runs in 60 s done/expected | latency p50 / p99 / max (ms) | load avg");
            foreach (var rate in nagiosRates.Split(',').Select(int.Parse))
                await NagiosStepAsync((int)(rate * interval.TotalSeconds / 60), rate, interval, url);
        }
        return 0;
    }

    /// <summary>Nagios 4 running the same HTTP checks with check_http: one throwaway config dir, interval_length=1 (seconds).</summary>
    /// <remarks>Runs counted from status.dat's active_scheduled_service_check_stats (15-minute total, the run is shorter); jitter = each service's check_latency.</remarks>
    private static async Task NagiosStepAsync(int n, int rate, TimeSpan interval, string url)
    {
        var dir = Path.Combine(Path.GetTempPath(), "observe-bench-nagios-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(dir, "checkresults"));
        var uri = new Uri(url);
        var cfg = Path.Combine(dir, "nagios.cfg");
        await File.WriteAllTextAsync(cfg, $"""
            log_file={dir}/nagios.log
            cfg_file={dir}/objects.cfg
            object_cache_file={dir}/objects.cache
            precached_object_file={dir}/objects.precache
            resource_file={dir}/resource.cfg
            status_file={dir}/status.dat
            status_update_interval=1
            nagios_user=root
            nagios_group=root
            check_external_commands=0
            command_file={dir}/nagios.cmd
            lock_file={dir}/nagios.lock
            temp_file={dir}/nagios.tmp
            temp_path={dir}
            check_result_path={dir}/checkresults
            query_socket={dir}/nagios.qh
            check_result_reaper_frequency=1
            interval_length=1
            max_concurrent_checks=0
            service_inter_check_delay_method=s
            max_service_check_spread=1
            retain_state_information=0
            use_syslog=0
            log_initial_states=0
            log_current_states=0
            enable_notifications=0
            enable_flap_detection=0
            execute_host_checks=0
            process_performance_data=0
            check_for_updates=0
            use_large_installation_tweaks=1
            enable_environment_macros=0
            illegal_macro_output_chars=`~$&|'"<>
            """);
        await File.WriteAllTextAsync(Path.Combine(dir, "resource.cfg"), "$USER1$=/usr/lib/nagios/plugins\n");
        // Nagios wants each closing brace on its own line.
        var objects = new System.Text.StringBuilder();
        void Define(string type, params string[] lines) => objects.Append($"define {type} {{\n  {string.Join("\n  ", lines)}\n}}\n");
        Define("command", "command_name check_http_bench", $"command_line $USER1$/check_http -H {uri.Host} -p {uri.Port} -u {uri.AbsolutePath}$ARG1$");
        Define("command", "command_name ok", "command_line $USER1$/check_dummy 0");
        Define("timeperiod", ["timeperiod_name always", "alias always", .. new[] { "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday" }.Select(d => d + " 00:00-24:00")]);
        Define("contact", "contact_name nobody", "host_notifications_enabled 0", "service_notifications_enabled 0", "host_notification_period always",
            "service_notification_period always", "host_notification_options n", "service_notification_options n", "host_notification_commands ok", "service_notification_commands ok");
        Define("host", "host_name bench", "address 127.0.0.1", "check_command ok", "max_check_attempts 1", "check_period always", "notification_period always", "contacts nobody");
        for (var i = 0; i < n; i++)
            Define("service", "host_name bench", $"service_description c{i}", $"check_command check_http_bench!c{i}", $"check_interval {interval.TotalSeconds}",
                $"retry_interval {interval.TotalSeconds}", "max_check_attempts 1", "check_period always", "notification_period always", "contacts nobody");
        await File.WriteAllTextAsync(Path.Combine(dir, "objects.cfg"), objects.ToString());
        var psi = new ProcessStartInfo("/usr/sbin/nagios4") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(cfg);
        using var nagios = Process.Start(psi)!;
        (long Checks, List<double> LatencyMs) Status()
        {
            long checks = 0;
            var lat = new List<double>();
            foreach (var line in File.ReadLines(Path.Combine(dir, "status.dat")))
            {
                var t = line.Trim();
                if (t.StartsWith("active_scheduled_service_check_stats=")) checks = long.Parse(t.Split('=')[1].Split(',')[2], CultureInfo.InvariantCulture);
                else if (t.StartsWith("check_latency=")) lat.Add(double.Parse(t.Split('=')[1], CultureInfo.InvariantCulture) * 1000);
            }
            return (checks, lat);
        }
        _ = nagios.StandardOutput.ReadToEndAsync();
        _ = nagios.StandardError.ReadToEndAsync();
        try
        {
            // Warm-up: the first (spread) runs; then a minute between two reads of status.dat (written every second).
            await Task.Delay(interval + TimeSpan.FromSeconds(2));
            var (c0, _) = Status();
            var sw = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(60));
            var (c1, latencies) = Status();
            if (nagios.HasExited) { Console.WriteLine($"{rate,10:N0} | nagios4 exited with {nagios.ExitCode}; see {dir}/nagios.log"); return; }
            var l = latencies.Order().ToArray();
            double P(double q) => l.Length == 0 ? double.NaN : l[Math.Min(l.Length - 1, (int)(q * l.Length))];
            var expected = n * sw.Elapsed.TotalSeconds / interval.TotalSeconds;
            var ok = c1 - c0 >= expected * 0.99 && P(0.99) < 1000 && l[^1] < 1000;
            Console.WriteLine($"{rate,10:N0} | {n,8:N0} | {c1 - c0:N0}/{expected:N0} | {P(0.5):F0} / {P(0.99):F0} / {l[^1]:F0} | {File.ReadAllText("/proc/loadavg").Split(' ')[0]} {(ok ? "" : "← behind or jitter ≥ 1 s")}");
        }
        finally
        {
            if (!nagios.HasExited) nagios.Kill(entireProcessTree: true); // the daemon and its check workers
            await nagios.WaitForExitAsync();
        }
    }

    private sealed record Step(long Done, long Expected, long Failed, double P50, double P99, double Max, double Cpu, string Load, string Persist = "");

    private static async Task<Step> StepAsync(int n, TimeSpan interval, int measure, int concurrency, string url, bool persist = false)
    {
        var options = new ChecksOptions
        {
            MaxConcurrency = concurrency,
            Defaults = new CheckDefaults { CheckInterval = $"{interval.TotalSeconds}s", RetryInterval = $"{interval.TotalSeconds}s", Timeout = "5s" },
            Hosts = [new HostOptions { Name = "bench", Checks = [.. Enumerable.Range(0, n).Select(i => new CheckOptions { Name = $"c{i}", Kind = "http", Url = $"{url}c{i}" })] }],
        };
        var sink = new LatencySink();
        var dir = Path.Combine(Path.GetTempPath(), "observe-bench-state-" + Guid.NewGuid().ToString("N"));
        var store = persist ? new Observe.Checks.State.Persistence.SqliteCheckStateStore(Path.Combine(dir, "state.db"), DateTimeOffset.UtcNow, NullLogger.Instance) : null;
        var engine = new CheckEngine(options, null, [sink], TimeProvider.System, NullLoggerFactory.Instance, stateStore: store);
        await engine.StartAsync(CancellationToken.None);
        try
        {
            await Task.Delay(interval + TimeSpan.FromSeconds(1)); // warm-up: every check's first (spread) run
            sink.Recording = true;
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            await Task.Delay(interval * measure);
            sink.Recording = false;
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0) / wall.Elapsed;
            await Task.Delay(500); // the engine's metric queue drains into the sink
            var l = sink.Latencies.Select(x => x * 1000).Order().ToArray();
            double P(double q) => l.Length == 0 ? double.NaN : l[Math.Min(l.Length - 1, (int)(q * l.Length))];
            var persisted = engine.Persistence is { } ps
                ? $" ({ps.Batches:N0} batches in {(interval * measure + interval).TotalSeconds:0} s, {ps.Failures} failed, state.db {Directory.GetFiles(dir).Sum(f => new FileInfo(f).Length) / 1e6:0.0} MB with WAL)"
                : "";
            return new Step(l.Length, (long)n * measure, sink.NonOk, P(0.5), P(0.99), l.Length == 0 ? double.NaN : l[^1], cpu,
                File.ReadAllText("/proc/loadavg").Split(' ')[0], persisted);
        }
        finally
        {
            await engine.StopAsync(CancellationToken.None);
            await engine.DisposeAsync();
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    /// <summary>Keeps check_latency (seconds) of every run while recording, and counts non-OK results.</summary>
    private sealed class LatencySink : IMetricSink
    {
        public volatile bool Recording;
        public readonly ConcurrentBag<double> Latencies = [];
        private long _nonOk;
        public long NonOk => Interlocked.Read(ref _nonOk);
        public string Name => "bench";

        public ValueTask WriteAsync(MetricBatch batch, CancellationToken cancellationToken)
        {
            if (!Recording) return ValueTask.CompletedTask;
            foreach (var p in batch.Points)
            {
                if (p.Path.EndsWith(".check_latency", StringComparison.Ordinal)) Latencies.Add(p.Value);
                else if (p.Path.EndsWith(".state", StringComparison.Ordinal) && p.Value != 0) Interlocked.Increment(ref _nonOk);
            }
            return ValueTask.CompletedTask;
        }
    }

    internal static string? Opt(string[] args, string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
}

/// <summary>A throwaway nginx (one worker, access log off) answering 200 "ok" on every path of a free loopback port.</summary>
internal sealed class Nginx : IAsyncDisposable
{
    private readonly Process _process;
    public int Port { get; }
    public string Dir { get; }

    private Nginx(Process process, int port, string dir) { _process = process; Port = port; Dir = dir; }

    public static async Task<Nginx> StartAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "observe-bench-nginx-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        await File.WriteAllTextAsync(Path.Combine(dir, "nginx.conf"), $$"""
            daemon off;
            worker_processes 1;
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/error.log warn;
            events { worker_connections 4096; }
            http {
              access_log off;
              client_body_temp_path {{dir}}/body; proxy_temp_path {{dir}}/proxy; fastcgi_temp_path {{dir}}/fcgi; uwsgi_temp_path {{dir}}/uwsgi; scgi_temp_path {{dir}}/scgi;
              keepalive_requests 1000000;
              server { listen 127.0.0.1:{{port}}; location / { default_type text/plain; return 200 "ok\n"; } }
            }
            """);
        var psi = new ProcessStartInfo("/usr/sbin/nginx") { UseShellExecute = false };
        foreach (var a in new[] { "-c", Path.Combine(dir, "nginx.conf"), "-p", dir }) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        using var http = new HttpClient();
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try { if ((await http.GetAsync($"http://127.0.0.1:{port}/")).IsSuccessStatusCode) break; }
            catch (HttpRequestException) when (sw.Elapsed < TimeSpan.FromSeconds(10)) { await Task.Delay(50); }
        }
        return new Nginx(p, port, dir);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true); // master and worker
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
