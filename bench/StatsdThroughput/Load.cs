using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Observe.Bench.StatsdThroughput;

/// <summary>
/// The mixed StatsD load: realistic lines over a fixed key space, packed into datagrams of at most
/// <see cref="MaxDatagram"/> bytes (Etsy's Fast-Ethernet MTU advice). Counters are unsampled
/// <c>:1|c</c>, so each datagram carries an exact, known number of counter increments and loss is
/// 1 − (flushed counter totals ÷ increments sent).
/// </summary>
public sealed class Load
{
    public const int MaxDatagram = 1432;
    public const int CounterKeys = 400, TimerKeys = 300, GaugeKeys = 200, SetKeys = 100;
    // Share of lines per type, in percent: counters 40, timers 30, gauges 20, sets 10.
    public const int CounterPct = 40, TimerPct = 30, GaugePct = 20, SetPct = 10;

    public byte[][] Datagrams { get; }
    public int[] LinesIn { get; }
    public int[] CountersIn { get; }
    public double AvgLines { get; }
    public double AvgBytes { get; }
    public string SampleDatagram { get; }

    public Load(int datagramCount = 4096, int seed = 20261123)
    {
        var rnd = new Random(seed);
        Datagrams = new byte[datagramCount][];
        LinesIn = new int[datagramCount];
        CountersIn = new int[datagramCount];
        var sb = new StringBuilder(MaxDatagram);
        string? pending = null;
        for (var d = 0; d < datagramCount; d++)
        {
            sb.Clear();
            int lines = 0, counters = 0;
            while (true)
            {
                var line = pending ?? NextLine(rnd);
                pending = null;
                var add = (sb.Length == 0 ? 0 : 1) + line.Length;
                if (sb.Length + add > MaxDatagram) { pending = line; break; }
                if (sb.Length > 0) sb.Append('\n');
                sb.Append(line);
                lines++;
                if (line.EndsWith("|c", StringComparison.Ordinal)) counters++;
            }
            Datagrams[d] = Encoding.ASCII.GetBytes(sb.ToString());
            LinesIn[d] = lines;
            CountersIn[d] = counters;
        }
        AvgLines = LinesIn.Average();
        AvgBytes = Datagrams.Average(b => b.Length);
        SampleDatagram = Encoding.ASCII.GetString(Datagrams[0]);
    }

    private static string NextLine(Random rnd)
    {
        var p = rnd.Next(100);
        if (p < CounterPct) return $"bench.counter.{rnd.Next(CounterKeys)}:1|c";
        if (p < CounterPct + TimerPct) return $"bench.timer.{rnd.Next(TimerKeys)}:{rnd.Next(1, 1000)}|ms";
        if (p < CounterPct + TimerPct + GaugePct) return $"bench.gauge.{rnd.Next(GaugeKeys)}:{rnd.Next(0, 10000)}|g";
        return $"bench.set.{rnd.Next(SetKeys)}:user{rnd.Next(100000)}|s";
    }

    public sealed record SendResult(long Datagrams, long Lines, long CounterIncrements, double Seconds, long SendErrors);

    /// <summary>
    /// Sends for <paramref name="seconds"/> at <paramref name="linesPerSecond"/> from
    /// <paramref name="threads"/> threads, each paced against the clock in ~1 ms bursts.
    /// </summary>
    public SendResult Send(IPEndPoint target, double linesPerSecond, double seconds, int threads)
    {
        var perThreadDatagramRate = linesPerSecond / AvgLines / threads;
        var results = new (long dg, long lines, long ctr, long err)[threads];
        var start = new Barrier(threads + 1);
        var workers = new Thread[threads];
        for (var t = 0; t < threads; t++)
        {
            var ti = t;
            workers[t] = new Thread(() =>
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                s.SendBufferSize = 4 << 20;
                s.Connect(target);
                long sent = 0, lines = 0, ctr = 0, err = 0;
                var idx = ti * (Datagrams.Length / threads);
                start.SignalAndWait();
                var sw = Stopwatch.StartNew();
                while (true)
                {
                    var elapsed = sw.Elapsed.TotalSeconds;
                    if (elapsed >= seconds) break;
                    var due = (long)(elapsed * perThreadDatagramRate);
                    if (sent >= due) { Thread.Sleep(1); continue; }
                    // Catch up, but never more than ~2 ms worth in one go.
                    var burst = Math.Min(due - sent, Math.Max(1, (long)(perThreadDatagramRate / 500)));
                    for (var i = 0; i < burst; i++)
                    {
                        var d = idx;
                        idx = idx + 1 == Datagrams.Length ? 0 : idx + 1;
                        try { s.Send(Datagrams[d]); }
                        catch (SocketException) { err++; continue; }
                        sent++; lines += LinesIn[d]; ctr += CountersIn[d];
                    }
                }
                results[ti] = (sent, lines, ctr, err);
            }) { IsBackground = true, Name = $"sender-{t}" };
            workers[t].Start();
        }
        start.SignalAndWait();
        var total = Stopwatch.StartNew();
        foreach (var w in workers) w.Join();
        var secs = total.Elapsed.TotalSeconds;
        return new SendResult(results.Sum(r => r.dg), results.Sum(r => r.lines), results.Sum(r => r.ctr), secs, results.Sum(r => r.err));
    }
}
