using System.Diagnostics;
using System.Globalization;
using Observe.TestSupport;

namespace Observe.Bench.StatsdThroughput;

/// <summary>One StatsD server under test: how to start it and how it names the benchmark's counters.</summary>
public abstract class Target
{
    public abstract string Name { get; }
    public abstract string Version { get; }
    public abstract CounterSemantics Semantics { get; }
    public abstract bool IsBenchCounter(string graphiteName);
    /// <param name="flushMs">the flush interval.</param>
    /// <param name="names">the distinct-names mode (NamesBench): Observe stores into its embedded TSDB instead of
    /// forwarding to carbon, with key and series limits raised above the load.</param>
    public abstract PeerProcess Start(int udpPort, int graphitePort, string dir, int flushMs = 1000, bool names = false);
    /// <summary>What a reader should know about this target's receive buffer etc.</summary>
    public abstract string Notes { get; }

    protected static string Run(string file, params string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var o = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit(10_000);
            return o.Trim();
        }
        catch (Exception e) { return "unknown (" + e.Message + ")"; }
    }
}

public sealed class ObserveTarget(string observeDll) : Target
{
    public override string Name => "Observe";
    public override string Version => "this repo, " + Run("git", "-C", Repo.Root, "rev-parse", "--short", "HEAD") + " (Release, .NET " + Run("dotnet", "--version") + ")";
    public override CounterSemantics Semantics => CounterSemantics.PerFlushSum;
    public override bool IsBenchCounter(string n) => n.StartsWith("stats_counts.bench.counter.", StringComparison.Ordinal);
    /// <summary>limits.memory for the names mode (--observe-memory), so a run on a shared machine stays in a budget.</summary>
    public string? MemoryLimit { get; init; }
    /// <summary>The HTTP port of the last started process (/stats).</summary>
    public int HttpPort { get; private set; }
    public override string Notes => "sets its own SO_RCVBUF (statsd.receiveBufferBytes, default 16 MiB, capped by rmem_max); SO_REUSEPORT sockets, one per core by default";

    public override PeerProcess Start(int udpPort, int graphitePort, string dir, int flushMs = 1000, bool names = false)
    {
        var http = FreePort.Get();
        HttpPort = http;
        var cfg = Path.Combine(dir, "observe.yaml");
        // Free ports or none: another Observe on the machine (default log ports 5140/12201) must not stop a trial.
        File.WriteAllText(cfg, names ? $"""
            http: {"{"}port: {http}{"}"}
            collector:
              statsd: {"{"}address: 127.0.0.1, port: {udpPort}, flushInterval: {flushMs}, maxActiveKeys: 5000000{"}"}
              graphite: {"{"}enabled: false{"}"}
            storage: {"{"}dataDir: {Path.Combine(dir, "data")}, maxSeries: 40000000{"}"}
            sinks:
              carbon: {"{"}enabled: false{"}"}
              embedded: {"{"}enabled: true{"}"}
            logging: {"{"}level: information{"}"}
            logs: {"{"}udp: {"{"}enabled: false{"}"}, gelf: {"{"}enabled: false{"}"}{"}"}
            {(MemoryLimit != null ? "limits: {memory: " + MemoryLimit + "}" : "")}

            """ : $"""
            http: {"{"}port: {http}{"}"}
            collector:
              statsd: {"{"}address: 127.0.0.1, port: {udpPort}, flushInterval: {flushMs}{"}"}
              graphite: {"{"}enabled: false{"}"}
            sinks:
              carbon: {"{"}enabled: true, host: 127.0.0.1, port: {graphitePort}{"}"}
              embedded: {"{"}enabled: false{"}"}
            logging: {"{"}level: warning{"}"}
            logs: {"{"}udp: {"{"}enabled: false{"}"}, gelf: {"{"}enabled: false{"}"}{"}"}

            """);
        return PeerProcess.Start("dotnet", [observeDll, "run", "--config", cfg], dir, Path.Combine(dir, "observe.log"));
    }
}

public sealed class EtsyTarget(string nodeModules) : Target
{
    private string StatsJs => Path.Combine(nodeModules, "statsd", "stats.js");
    public override string Name => "Etsy statsd";
    public override string Version => "0.9.0 on Node " + Run("node", "--version");
    public override CounterSemantics Semantics => CounterSemantics.PerFlushSum;
    public override bool IsBenchCounter(string n) => n.StartsWith("stats_counts.bench.counter.", StringComparison.Ordinal);
    public override string Notes => "Node dgram socket, no SO_RCVBUF option: gets net.core.rmem_default; single-threaded";

    public override PeerProcess Start(int udpPort, int graphitePort, string dir, int flushMs = 1000, bool names = false)
    {
        var mgmt = FreePort.Get();
        var cfg = Path.Combine(dir, "config.js");
        File.WriteAllText(cfg, $$"""
            { port: {{udpPort}}, address: "127.0.0.1", mgmt_address: "127.0.0.1", mgmt_port: {{mgmt}},
              flushInterval: {{flushMs}}, graphiteHost: "127.0.0.1", graphitePort: {{graphitePort}},
              backends: ["./backends/graphite"] }
            """);
        return PeerProcess.Start("node", [StatsJs, cfg], Path.Combine(nodeModules, "statsd"), Path.Combine(dir, "statsd.log"));
    }
}

public sealed class CollectdTarget : Target
{
    public override string Name => "collectd statsd plugin";
    public override string Version => (Run("/usr/sbin/collectd", "-h").Split('\n').FirstOrDefault(l => l.StartsWith("collectd ", StringComparison.Ordinal))?.Split(',')[0]["collectd ".Length..].Trim() ?? "unknown") + " (Debian collectd-core)";
    public override CounterSemantics Semantics => CounterSemantics.CumulativeLast;
    // write_graphite (StoreRates false) escapes the dots: "bench.statsd.derive-bench_counter_N <cumulative total> <ts>".
    public override bool IsBenchCounter(string n) => n.Contains(".derive-bench_counter_", StringComparison.Ordinal) || n.Contains(".derive-bench.counter.", StringComparison.Ordinal);
    public override string Notes => "counters are cumulative `derive` values (write_graphite StoreRates false), total = last value per key; plugin sets no SO_RCVBUF: gets net.core.rmem_default; one network thread";

    public override PeerProcess Start(int udpPort, int graphitePort, string dir, int flushMs = 1000, bool names = false)
    {
        var conf = Path.Combine(dir, "collectd.conf");
        File.WriteAllText(conf, $"""
            Hostname "bench"
            FQDNLookup false
            Interval {flushMs / 1000}
            BaseDir "{dir}"
            PIDFile "{dir}/collectd.pid"
            PluginDir "/usr/lib/collectd"
            TypesDB "/usr/share/collectd/types.db"
            LoadPlugin statsd
            <LoadPlugin write_graphite>
              FlushInterval {flushMs / 1000}
            </LoadPlugin>
            <Plugin statsd>
              Host "127.0.0.1"
              Port "{udpPort}"
              DeleteCounters false
              TimerPercentile 90
              TimerLower true
              TimerUpper true
              TimerSum true
              TimerCount true
            </Plugin>
            <Plugin write_graphite>
              <Node "bench">
                Host "127.0.0.1"
                Port "{graphitePort}"
                Protocol "tcp"
                StoreRates false
                LogSendErrors true
              </Node>
            </Plugin>

            """);
        return PeerProcess.Start("/usr/sbin/collectd", ["-f", "-C", conf], dir, Path.Combine(dir, "collectd.log"));
    }
}

public static class ProcStat
{
    /// <summary>utime+stime of a process in seconds, or NaN.</summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            var s = File.ReadAllText($"/proc/{pid}/stat");
            var f = s[(s.LastIndexOf(')') + 2)..].Split(' ');
            // After "pid (comm) ": field 3 is f[0]; utime is field 14, stime field 15.
            return (long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (Exception) { return double.NaN; }
    }

    /// <summary>Sum of the drops column of /proc/net/udp over sockets bound to 127.0.0.1:port.</summary>
    public static long UdpDrops(int port)
    {
        long drops = 0;
        try
        {
            var hexPort = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
            foreach (var line in File.ReadLines("/proc/net/udp").Skip(1))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length > 12 && f[1].EndsWith(hexPort, StringComparison.Ordinal))
                    drops += long.Parse(f[^1], CultureInfo.InvariantCulture);
            }
        }
        catch (Exception) { }
        return drops;
    }
}
