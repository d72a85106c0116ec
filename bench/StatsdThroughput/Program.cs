using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Observe.Bench.StatsdThroughput;
using Observe.TestSupport;

// StatsD ingest benchmark: the same mixed UDP load into Observe, Etsy statsd 0.9.0 and collectd's
// statsd plugin, one at a time; for each, the highest line rate with < 0.1 % counter loss.
// Run through bench/statsd-throughput.sh (it builds, installs peers and passes the paths).

var opts = Options.Parse(args);
var inv = CultureInfo.InvariantCulture;
var load = new Load();
Console.WriteLine($"load: {load.Datagrams.Length} pre-built datagrams, {load.AvgLines:0.0} lines and {load.AvgBytes:0} bytes each on average");

var targets = new List<Target>();
foreach (var t in opts.Targets)
{
    targets.Add(t switch
    {
        "observe" => new ObserveTarget(opts.ObserveDll ?? throw new ArgumentException("--observe-dll is required for the observe target")) { MemoryLimit = opts.ObserveMemory },
        "etsy" => new EtsyTarget(opts.NodeModules),
        "collectd" => new CollectdTarget(),
        _ => throw new ArgumentException("unknown target " + t),
    });
}

if (opts.Names.Count > 0)
{
    var nr = await NamesBench.RunAsync(targets, opts.Names, opts);
    var nmd = NamesBench.Markdown(nr, targets);
    Console.WriteLine();
    Console.WriteLine(nmd);
    if (opts.Docs != null) { Report.WriteSection(opts.Docs, "## StatsD distinct names\n\n" + nmd, "## StatsD distinct names"); Console.WriteLine($"wrote the names section of {opts.Docs}"); }
    return nr.Any(r => r.Error != null) ? 2 : 0;
}

var summaries = new List<Summary>();
var deadline = Stopwatch.StartNew();
foreach (var target in targets)
{
    Console.WriteLine($"== {target.Name} ({target.Version})");
    var trials = new List<Trial>();
    async Task<Trial> Run(double rate)
    {
        var tr = await Bench.TrialAsync(target, load, rate, opts);
        trials.Add(tr);
        Console.WriteLine(tr.Describe());
        // The machine is shared: a failed trial is repeated (--retries) and the rate passes if any try passes.
        for (var r = 0; r < opts.Retries && !tr.Pass && tr.Error == null; r++)
        {
            tr = await Bench.TrialAsync(target, load, rate, opts) with { Retry = true };
            trials.Add(tr);
            Console.WriteLine(tr.Describe());
        }
        return tr;
    }
    Trial? pass = null, fail = null;
    var rate = opts.StartRate;
    string? limit = null;
    while (true)
    {
        var tr = await Run(rate);
        if (tr.Error != null) { fail = tr; break; }
        if (tr.SenderLimited) { limit = "sender-limited"; if (tr.Pass) pass = tr; break; }
        if (tr.Pass) { pass = tr; if (rate * 2 > opts.MaxRate) { limit = "reached --max"; break; } rate *= 2; }
        else { fail = tr; break; }
    }
    if (pass == null && fail != null && fail.Error == null)
    {
        // Even the starting rate lost lines: halve until one passes.
        for (rate = opts.StartRate / 2; rate >= opts.StartRate / 64; rate /= 2)
        {
            var tr = await Run(rate);
            if (tr.Pass) { pass = tr; break; }
            fail = tr;
        }
    }
    if (pass != null && fail != null && fail.Error == null)
    {
        for (var i = 0; i < opts.BisectSteps; i++)
        {
            var mid = Math.Round((pass.TargetRate + fail.TargetRate) / 2 / 1000) * 1000;
            if (mid <= pass.TargetRate || mid >= fail.TargetRate) break;
            var tr = await Run(mid);
            if (tr.Pass && !tr.SenderLimited) pass = tr;
            else if (!tr.Pass) fail = tr;
            else break;
        }
    }
    summaries.Add(new Summary(target, pass, fail, limit, trials));
}

var md = Report.Markdown(summaries, load, opts, deadline.Elapsed);
Console.WriteLine();
Console.WriteLine(md);
if (opts.Docs != null) { Report.WriteSection(opts.Docs, md, opts.Heading); Console.WriteLine($"wrote the StatsD section of {opts.Docs}"); }
return summaries.Any(s => s.Pass == null) ? 2 : 0;

public sealed record Trial(double TargetRate, Load.SendResult Sent, double Received, double CpuSend, double CpuTotal,
    long KernelDrops, double DrainSeconds, string? Error)
{
    public bool Retry { get; init; }
    public string LoadAvg { get; init; } = "";
    public double Loss => Sent.CounterIncrements == 0 ? 1 : 1 - Received / Sent.CounterIncrements;
    // Over-counting (negative loss) would mean broken accounting: never a pass.
    public bool Pass => Error == null && Loss < 0.001 && Loss > -0.001;
    public double LinesPerSecond => Sent.Lines / Sent.Seconds;
    public double DatagramsPerSecond => Sent.Datagrams / Sent.Seconds;
    public bool SenderLimited => Error == null && LinesPerSecond < 0.9 * TargetRate;
    public string Describe() => Error != null
        ? $"  {TargetRate,10:N0} lines/s  ERROR {Error}"
        : string.Create(CultureInfo.InvariantCulture,
            $"  {TargetRate,10:N0} lines/s{(Retry ? " (retry)" : "")}  load {LoadAvg}  sent {LinesPerSecond,10:N0} lines/s {DatagramsPerSecond,8:N0} dgram/s  counters {Sent.CounterIncrements,9:N0} got {Received,11:N0}  loss {Loss * 100,7:0.000}%  kernel drops {KernelDrops,7:N0}  cpu {CpuSend / Sent.Seconds * 100,4:0}% of a core while sending ({CpuTotal:0.0} s incl. drain {DrainSeconds:0.0} s){(Pass ? "  PASS" : "  FAIL")}{(SenderLimited ? " (sender-limited)" : "")}");
}

public sealed record Summary(Target Target, Trial? Pass, Trial? Fail, string? Limit, List<Trial> Trials);

public static class Bench
{
    public static async Task<Trial> TrialAsync(Target target, Load load, double rate, Options opts)
    {
        var dir = Path.Combine(Path.GetTempPath(), "observe-bench", $"{target.GetType().Name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        var udpPort = FreePort.Get();
        var ep = new IPEndPoint(IPAddress.Loopback, udpPort);
        await using var rec = new CounterRecorder(target.IsBenchCounter, target.Semantics, "benchready");
        PeerProcess? proc = null;
        try
        {
            proc = target.Start(udpPort, rec.Port, dir);
            // Ready = a probe counter made it through UDP ingest, a flush and the Graphite output.
            using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                var sw = Stopwatch.StartNew();
                var bytes = Encoding.ASCII.GetBytes("benchready:1|c");
                while (!rec.ReadySeen)
                {
                    if (proc.HasExited) return Failed(rate, $"exited during start-up; log: {Tail(proc.Log())}");
                    if (sw.Elapsed > TimeSpan.FromSeconds(30)) return Failed(rate, $"not ready after 30 s; log: {Tail(proc.Log())}");
                    probe.SendTo(bytes, ep);
                    await Task.Delay(200);
                }
            }
            var loadAvg = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            var before = rec.Total;
            var cpu0 = ProcStat.CpuSeconds(proc.Pid);
            var drops0 = ProcStat.UdpDrops(udpPort);
            var sent = await Task.Run(() => load.Send(ep, rate, opts.Seconds, opts.Senders));
            var cpu1 = ProcStat.CpuSeconds(proc.Pid);
            // Drain: wait for the final flush. Done when every increment has arrived, or when the total
            // has not moved for 2.5 flush intervals (at least 3 s after sending stopped).
            var drain = Stopwatch.StartNew();
            while (drain.Elapsed < TimeSpan.FromSeconds(opts.DrainTimeout))
            {
                if (rec.Total - before >= sent.CounterIncrements) break;
                if (drain.Elapsed > TimeSpan.FromSeconds(3) && rec.SinceLastChange > TimeSpan.FromSeconds(2.5)) break;
                if (proc.HasExited) return Failed(rate, $"exited under load; log: {Tail(proc.Log())}");
                await Task.Delay(100);
            }
            var cpu2 = ProcStat.CpuSeconds(proc.Pid);
            var drops = ProcStat.UdpDrops(udpPort) - drops0;
            var received = rec.Total - before;
            if (opts.Verbose) foreach (var l in rec.Sample.Take(15)) Console.WriteLine("    | " + l);
            return new Trial(rate, sent, received, cpu1 - cpu0, cpu2 - cpu0, drops, drain.Elapsed.TotalSeconds, null) { LoadAvg = loadAvg };
        }
        finally
        {
            if (proc != null) await proc.DisposeAsync();
            if (!opts.KeepTemp) try { Directory.Delete(dir, true); } catch (Exception) { }
        }
    }

    private static Trial Failed(double rate, string error) => new(rate, new Load.SendResult(0, 0, 0, 1, 0), 0, 0, 0, 0, 0, error);
    private static string Tail(string log) => log.Length > 600 ? log[^600..] : log;
}

public sealed class Options
{
    public List<string> Targets { get; set; } = ["observe", "etsy", "collectd"];
    public string? ObserveDll { get; set; }
    public string NodeModules { get; set; } = Repo.NodeModules;
    public double Seconds { get; set; } = 4;
    public double StartRate { get; set; } = 25_000;
    public double MaxRate { get; set; } = 8_000_000;
    public int BisectSteps { get; set; } = 3;
    public int Senders { get; set; } = 1;
    public int Retries { get; set; } = 1;
    public double DrainTimeout { get; set; } = 30;
    public string? Docs { get; set; }
    public string Heading { get; set; } = Report.Heading;
    public List<string> Notes { get; } = [];
    public bool KeepTemp { get; set; }
    public bool Verbose { get; set; }
    /// <summary>--names 10000,100000: the distinct-names benchmark (NamesBench) instead of the rate search.</summary>
    public List<int> Names { get; set; } = [];
    public string? ObserveMemory { get; set; }
    /// <summary>--gcdump DIR: a heap census of Observe (dotnet-gcdump, on PATH) after its last flush of each run.</summary>
    public string? GcDump { get; set; }

    public static Options Parse(string[] args)
    {
        var o = new Options();
        var inv = CultureInfo.InvariantCulture;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--targets": o.Targets = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList(); break;
                case "--observe-dll": o.ObserveDll = Path.GetFullPath(Next()); break;
                case "--node-modules": o.NodeModules = Path.GetFullPath(Next()); break;
                case "--seconds": o.Seconds = double.Parse(Next(), inv); break;
                case "--start": o.StartRate = double.Parse(Next(), inv); break;
                case "--max": o.MaxRate = double.Parse(Next(), inv); break;
                case "--bisect": o.BisectSteps = int.Parse(Next(), inv); break;
                case "--senders": o.Senders = int.Parse(Next(), inv); break;
                case "--retries": o.Retries = int.Parse(Next(), inv); break;
                case "--drain-timeout": o.DrainTimeout = double.Parse(Next(), inv); break;
                case "--docs": o.Docs = Path.GetFullPath(Next()); break;
                case "--heading": o.Heading = Next(); break;
                case "--note": o.Notes.Add(Next()); break;
                case "--keep-temp": o.KeepTemp = true; break;
                case "--verbose": o.Verbose = true; break;
                case "--observe-memory": o.ObserveMemory = Next(); break;
                case "--gcdump": o.GcDump = Path.GetFullPath(Next()); break;
                case "--names": o.Names = Next().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => int.Parse(x.Trim(), inv)).ToList(); break;
                default: throw new ArgumentException("unknown option " + args[i]);
            }
        }
        return o;
    }
}
