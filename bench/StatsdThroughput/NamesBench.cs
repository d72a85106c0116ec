using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Observe.TestSupport;

namespace Observe.Bench.StatsdThroughput;

/// <summary>
/// The distinct-names benchmark (issue 21's first table): N StatsD names, each sent once per flush interval as a
/// counter (<c>bench.counter.i:1|c</c>) and a timer (<c>bench.timer.i:v|ms</c>), for three intervals; one target at a
/// time. Measured: peak and final RSS (/proc/pid/status, sampled every 250 ms), flush duration, series flushed and
/// datagrams the kernel dropped on the target's socket (/proc/net/udp).
/// Flush duration: Observe = from the flush's wall-clock boundary until its embedded sink ("tsdb") has written the batch
/// (/stats: flush.lastUnixMs, sinks[embedded].batchesWritten); Etsy and collectd = first to last Graphite line of one
/// flush at the receiver (their flush builds the output before sending, so Etsy's own graphiteStats.calculationtime is
/// added when it reports one).
/// </summary>
public static class NamesBench
{
    public sealed record Result(string Target, int Names, double PeakRssMb, double EndRssMb, double MaxFlushSeconds,
        double[] Flushes, long Drops, long DatagramsSent, long SeriesPerFlush, string LoadAvg, string? Error);

    public static async Task<List<Result>> RunAsync(IReadOnlyList<Target> targets, IReadOnlyList<int> sizes, Options opts)
    {
        var results = new List<Result>();
        foreach (var n in sizes)
        {
            var datagrams = Build(n);
            Console.WriteLine($"-- {n:N0} names: {datagrams.Count:N0} datagrams per interval");
            foreach (var t in targets)
            {
                var r = await RunOneAsync(t, n, datagrams, opts);
                Console.WriteLine(Describe(r));
                results.Add(r);
            }
        }
        return results;
    }

    public static string Describe(Result r) => r.Error != null ? $"  {r.Target,-24} {r.Names,9:N0} names  ERROR {r.Error}" :
        string.Create(CultureInfo.InvariantCulture,
            $"  {r.Target,-24} {r.Names,9:N0} names  RSS peak {r.PeakRssMb,8:N0} MB end {r.EndRssMb,8:N0} MB  flush max {Secs(r.Flushes)} ({string.Join(", ", r.Flushes.Select(f => Secs([f])))})  series/flush {r.SeriesPerFlush,10:N0}  kernel drops {r.Drops,8:N0} of {r.DatagramsSent:N0} datagrams  load {r.LoadAvg}");

    /// <summary>All names once: counter and timer lines packed into datagrams of at most <see cref="Load.MaxDatagram"/> bytes.</summary>
    private static List<byte[]> Build(int names)
    {
        var list = new List<byte[]>();
        var sb = new StringBuilder(Load.MaxDatagram);
        var rnd = new Random(21);
        void Add(string line)
        {
            if (sb.Length + 1 + line.Length > Load.MaxDatagram) { list.Add(Encoding.ASCII.GetBytes(sb.ToString())); sb.Clear(); }
            if (sb.Length > 0) sb.Append('\n');
            sb.Append(line);
        }
        for (var i = 0; i < names; i++)
        {
            Add(string.Create(CultureInfo.InvariantCulture, $"bench.counter.{i}:1|c"));
            Add(string.Create(CultureInfo.InvariantCulture, $"bench.timer.{i}:{rnd.Next(1, 1000)}|ms"));
        }
        if (sb.Length > 0) list.Add(Encoding.ASCII.GetBytes(sb.ToString()));
        return list;
    }

    private static async Task<Result> RunOneAsync(Target target, int names, List<byte[]> datagrams, Options opts)
    {
        const int FlushMs = 10_000, Rounds = 3;
        var dir = Path.Combine(Path.GetTempPath(), "observe-bench", $"names-{target.GetType().Name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        var udpPort = FreePort.Get();
        var ep = new IPEndPoint(IPAddress.Loopback, udpPort);
        await using var rec = new BurstRecorder();
        PeerProcess? proc = null;
        Result Fail(string e) => new(target.Name, names, 0, 0, 0, [], 0, 0, 0, "", e);
        try
        {
            proc = target.Start(udpPort, rec.Port, dir, FlushMs, names: true);
            var obs = target as ObserveTarget;
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                // Ready = Observe answers /stats; a peer has flushed the probe counter to the receiver.
                var sw = Stopwatch.StartNew();
                var bytes = Encoding.ASCII.GetBytes("benchready:1|c");
                while (true)
                {
                    if (proc.HasExited) return Fail("exited during start-up: " + Tail(proc.Log()));
                    if (sw.Elapsed > TimeSpan.FromSeconds(60)) return Fail("not ready after 60 s: " + Tail(proc.Log()));
                    if (obs != null) { if (await Stats(http, obs) != null) break; }
                    else { probe.SendTo(bytes, ep); if (rec.ReadySeen) break; }
                    await Task.Delay(200);
                }
            }
            var loadAvg = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            var rss = new RssSampler(proc.Pid);
            var drops0 = ProcStat.UdpDrops(udpPort);
            var flushTimes = new List<double>();
            var maxPoints = new StrongBox<long>(0);
            using var cts = new CancellationTokenSource();
            var watcher = obs != null ? WatchObserveFlushes(http, obs, flushTimes, maxPoints, cts.Token) : Task.CompletedTask;
            long sent = 0;
            var clock = Stopwatch.StartNew();
            using (var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                s.SendBufferSize = 4 << 20;
                s.Connect(ep);
                for (var r = 0; r < Rounds; r++)
                {
                    // Spread one pass over all names across 8 s of each 10 s interval.
                    var roundStart = r * FlushMs / 1000.0;
                    for (var i = 0; i < datagrams.Count; i++)
                    {
                        var due = roundStart + 8.0 * i / datagrams.Count;
                        while (clock.Elapsed.TotalSeconds < due) Thread.Sleep(1);
                        try { s.Send(datagrams[i]); sent++; } catch (SocketException) { }
                    }
                    while (clock.Elapsed.TotalSeconds < (r + 1) * FlushMs / 1000.0) await Task.Delay(50);
                }
            }
            // The last round is flushed within one interval; then wait for that flush to finish (at most --drain-timeout more).
            var end = Stopwatch.StartNew();
            while (end.Elapsed < TimeSpan.FromMilliseconds(FlushMs) + TimeSpan.FromSeconds(opts.DrainTimeout))
            {
                if (proc.HasExited) return Fail("exited under load: " + Tail(proc.Log()));
                if (end.Elapsed > TimeSpan.FromMilliseconds(FlushMs + 1000))
                {
                    if (obs != null) { lock (flushTimes) if (flushTimes.Count >= Rounds) break; }
                    else if (rec.SinceLast > TimeSpan.FromSeconds(3) && rec.Bursts.Count >= Rounds) break;
                }
                await Task.Delay(200);
            }
            cts.Cancel();
            try { await watcher; } catch (OperationCanceledException) { }
            var endRss = RssSampler.Read(proc.Pid);
            var peak = Math.Max(rss.Stop(), endRss); // before the census, which itself takes memory in the target
            if (obs != null)
            {
                // What held the store lock (the store logs a hold over 1 s, and a flush that waited that long), with its time, and
                // where each flush over 1 s went (its phases: the collector's, each sink's queue wait and write, the store's).
                foreach (var line in proc.Log().Split('\n').Where(l => l.Contains("tsdb:", StringComparison.Ordinal) || l.Contains(" delivered in ", StringComparison.Ordinal)))
                    Console.WriteLine("    observe log: " + line.TrimEnd());
                if (opts.GcDump != null) await GcDumpAsync(proc.Pid, Path.Combine(opts.GcDump, $"observe-{names}-{DateTime.UtcNow:HHmmss}.gcdump"));
            }
            var drops = ProcStat.UdpDrops(udpPort) - drops0;
            double[] flushes;
            long series;
            if (obs != null)
            {
                lock (flushTimes) flushes = [.. flushTimes];
                series = maxPoints.Value;
            }
            else
            {
                var bursts = rec.Bursts.Where(b => b.Lines > names).ToList();
                flushes = [.. bursts.Select(b => b.Seconds + b.OwnCalcSeconds)];
                series = bursts.Count > 0 ? bursts.Max(b => b.Lines) : 0;
            }
            return new Result(target.Name, names, peak / 1024.0, endRss / 1024.0, flushes.DefaultIfEmpty(double.NaN).Max(), flushes,
                drops, sent, series, loadAvg, null);
        }
        finally
        {
            if (proc != null) await proc.DisposeAsync();
            if (!opts.KeepTemp) try { Directory.Delete(dir, true); } catch (Exception) { }
        }
    }

    /// <summary>A heap census (dotnet-gcdump collect: a full GC, then the live objects by type) of the target; report it with `dotnet-gcdump report FILE`.</summary>
    private static async Task GcDumpAsync(int pid, string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var (exit, stdout, stderr) = await PeerProcess.RunToEndAsync("dotnet-gcdump", ["collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", file],
            timeout: TimeSpan.FromMinutes(3));
        Console.WriteLine(exit == 0 ? $"    heap census: {file}" : $"    dotnet-gcdump failed ({exit}): {stderr.Trim()} {stdout.Trim()}");
    }

    private static async Task<JsonDocument?> Stats(HttpClient http, ObserveTarget obs)
    {
        try { return JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{obs.HttpPort}/stats")); }
        catch (Exception) { return null; }
    }

    /// <summary>Each flush of Observe with data: boundary → its batch written by the embedded sink.</summary>
    private static async Task WatchObserveFlushes(HttpClient http, ObserveTarget obs, List<double> times, StrongBox<long> maxPoints, CancellationToken ct)
    {
        long seenFlush = -1, pendingMs = 0, pendingCount = 0;
        // A flush still unwritten when the run ends is recorded as minus the time it had taken so far ("> x s").
        using var _ = ct.Register(() => { if (pendingMs != 0) lock (times) times.Add(-(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - pendingMs) / 1000.0); });
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(100, ct);
            using var doc = await Stats(http, obs);
            if (doc == null) continue;
            var c = doc.RootElement.GetProperty("collector");
            var f = c.GetProperty("flush");
            var count = f.GetProperty("count").GetInt64();
            var points = f.GetProperty("lastPoints").GetInt64();
            long written = 0, queued = 0;
            foreach (var s in c.GetProperty("sinks").EnumerateArray())
                if (s.GetProperty("name").GetString() == "tsdb") { written = s.GetProperty("batchesWritten").GetInt64(); queued = s.GetProperty("batchesQueued").GetInt64(); }
            if (points > maxPoints.Value) maxPoints.Value = points;
            if (count != seenFlush && points > 100 && pendingMs == 0) { pendingMs = f.GetProperty("lastUnixMs").GetInt64(); pendingCount = count; seenFlush = count; }
            else if (count != seenFlush) seenFlush = count;
            if (pendingMs != 0 && queued == 0 && written >= pendingCount)
            {
                lock (times) times.Add((DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - pendingMs) / 1000.0);
                pendingMs = 0;
            }
        }
    }

    /// <summary>The longest flush; a negative entry is one that had not finished after that long.</summary>
    private static string Secs(double[] f) => f.Length == 0 ? "none seen" : f.Any(x => x < 0)
        ? string.Create(CultureInfo.InvariantCulture, $"> {-f.Where(x => x < 0).Min():0.0} s (unfinished)")
        : string.Create(CultureInfo.InvariantCulture, $"{f.Max():0.00} s");

    private static string Tail(string log) => log.Length > 600 ? log[^600..] : log;

    public static string Markdown(List<Result> results, IReadOnlyList<Target> targets)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        void L(string s = "") => sb.Append(s).Append('\n');
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim();
        L($"Machine: {Environment.ProcessorCount} cores ({cpu}), {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. " +
          "Each name sent once per 10 s flush as a counter and a timer, three flushes, one target at a time; load average at the start of each run in the last column.");
        L();
        L("| names | target | RSS peak / after 3 flushes | flush (max of the 3) | series per flush | datagrams dropped (kernel) | load |");
        L("|---:|---|---|---|---:|---|---:|");
        foreach (var r in results)
        {
            if (r.Error != null) { L($"| {r.Names:N0} | {r.Target} | error: {r.Error.Split('\n')[0]} | | | | |"); continue; }
            L(string.Create(inv, $"| {r.Names:N0} | {r.Target} | {r.PeakRssMb:N0} / {r.EndRssMb:N0} MB | {Secs(r.Flushes)} | {r.SeriesPerFlush:N0} | {r.Drops:N0} of {r.DatagramsSent:N0} | {r.LoadAvg} |"));
        }
        L();
        foreach (var t in targets) L($"- {t.Name}: {t.Version}");
        return sb.ToString();
    }
}

/// <summary>Peak VmRSS of a process, sampled every 250 ms on a background thread.</summary>
public sealed class RssSampler
{
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _peakKb;

    public RssSampler(int pid)
    {
        _thread = new Thread(() =>
        {
            while (!_stop)
            {
                var kb = Read(pid);
                if (kb > _peakKb) _peakKb = kb;
                Thread.Sleep(250);
            }
        })
        { IsBackground = true };
        _thread.Start();
    }

    /// <summary>Stops sampling; the peak in KiB.</summary>
    public long Stop() { _stop = true; _thread.Join(); return _peakKb; }

    /// <summary>VmRSS in KiB (counting the process's children is not needed: every target is one process).</summary>
    public static long Read(int pid)
    {
        try
        {
            foreach (var l in File.ReadLines($"/proc/{pid}/status"))
                // "VmRSS:\t  132392 kB", but "VmRSS:\t13913296 kB" from 10 GB on: the kernel's padding is gone, so split on tabs too
                // (splitting on spaces alone read every RSS ≥ 9.5 GiB as 0: the 1 M-name peaks were under-reported).
                if (l.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(l.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (Exception) { }
        return 0;
    }
}

/// <summary>
/// A Graphite plaintext receiver that only counts lines and their arrival times (no parsing, so it costs the shared
/// CPUs little); lines arriving with gaps under 2 s form one burst = one flush.
/// </summary>
public sealed class BurstRecorder : IAsyncDisposable
{
    public sealed record Burst(long Lines, double Seconds, double OwnCalcSeconds);
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _accept;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private readonly List<Burst> _bursts = [];
    private long _lines;
    private double _calcMs;
    private double _first = -1, _last;
    private static readonly byte[] Marker = "benchready"u8.ToArray();
    private static readonly byte[][] CalcMarkers = ["statsd.processing_time "u8.ToArray(), "graphiteStats.calculationtime "u8.ToArray()];

    public int Port { get; }
    public bool ReadySeen { get; private set; }

    public BurstRecorder()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = AcceptLoop();
    }

    public TimeSpan SinceLast { get { lock (_gate) return _clock.Elapsed - TimeSpan.FromSeconds(_last); } }

    public IReadOnlyList<Burst> Bursts
    {
        get
        {
            lock (_gate)
            {
                var all = new List<Burst>(_bursts);
                if (_first >= 0 && _clock.Elapsed.TotalSeconds - _last > 2) all.Add(new Burst(_lines, _last - _first, _calcMs / 1000.0));
                return all;
            }
        }
    }

    private Task AcceptLoop() => TcpAccept.EachAsync(_listener, async client =>
    {
        var stream = client.GetStream();
        var buf = new byte[1 << 16];
        int n;
        while ((n = await stream.ReadAsync(buf, _cts.Token)) > 0) OnChunk(buf.AsSpan(0, n));
    }, _cts.Token);

    private void OnChunk(ReadOnlySpan<byte> chunk)
    {
        var lines = chunk.Count((byte)'\n');
        var ready = !ReadySeen && chunk.IndexOf(Marker) >= 0;
        // Etsy reports the time it spent building the flush before sending it (statsd.processing_time and
        // graphiteStats.calculationtime, ms); the receiver sees only the sending.
        double calc = 0;
        foreach (var m in CalcMarkers)
        {
            var i = chunk.IndexOf(m);
            if (i < 0) continue;
            var rest = chunk[(i + m.Length)..];
            var sp = rest.IndexOf((byte)' ');
            if (sp > 0 && double.TryParse(Encoding.ASCII.GetString(rest[..sp]), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms)) calc += ms;
        }
        lock (_gate)
        {
            if (ready) ReadySeen = true;
            var now = _clock.Elapsed.TotalSeconds;
            if (_first >= 0 && now - _last > 2) { _bursts.Add(new Burst(_lines, _last - _first, _calcMs / 1000.0)); _first = -1; _lines = 0; _calcMs = 0; }
            if (_first < 0) _first = now;
            _last = now;
            _lines += lines;
            _calcMs += calc;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        _listener.Stop();
        try { await _accept; } catch { }
    }
}
