using System.Diagnostics;
using System.Text;
using Observe.Collector;
using Observe.Collector.Statsd;

namespace Observe.Bench;

/// <summary>
/// The StatsD aggregator alone, on one thread: the UDP bench's mixed load (bench/StatsdThroughput's Load: 400 counter,
/// 300 timer, 200 gauge and 100 set keys; 40/30/20/10 % of lines, 1432-byte datagrams) fed through HandlePacket, with a
/// flush after each simulated second at <c>--rate</c> lines/s. CPU time per line without sockets, scheduling or the
/// sender, so two builds can be compared on a busy machine (take the minimum of the rounds).
/// </summary>
internal static class StatsdAggregateBench
{
    public static int Run(string[] args)
    {
        int rounds = HeadBench.Arg(args, "--rounds", 9), rate = HeadBench.Arg(args, "--rate", 2_000_000), seconds = HeadBench.Arg(args, "--seconds", 3);
        var (datagrams, linesPer) = Datagrams(4096, 20261123);
        var perFlush = Math.Max(1, (int)(rate / linesPer.Average()));
        var agg = new StatsdAggregator(new StatsdOptions());
        var ingest = new List<double>(); var flush = new List<double>(); var alloc = new List<double>();
        long ts = 1_700_000_000_000;
        for (var r = 0; r < rounds; r++)
        {
            long lines = 0; double ingestSeconds = 0, flushSeconds = 0; var i = 0;
            var allocBefore = GC.GetAllocatedBytesForCurrentThread();
            for (var s = 0; s < seconds; s++)
            {
                var t = Stopwatch.GetTimestamp();
                for (var d = 0; d < perFlush; d++, i++) { agg.HandlePacket(datagrams[i % datagrams.Length]); lines += linesPer[i % datagrams.Length]; }
                ingestSeconds += Stopwatch.GetElapsedTime(t).TotalSeconds;
                t = Stopwatch.GetTimestamp();
                agg.Flush(ts += 1000);
                flushSeconds += Stopwatch.GetElapsedTime(t).TotalSeconds;
            }
            ingest.Add(ingestSeconds * 1e9 / lines); flush.Add(flushSeconds * 1e3 / seconds);
            alloc.Add((GC.GetAllocatedBytesForCurrentThread() - allocBefore) / (double)lines);
        }
        static string MinMed(List<double> v, string f) { var s = v.Order().ToList(); return $"min {s[0].ToString(f)} median {s[s.Count / 2].ToString(f)}"; }
        Console.WriteLine($"statsd aggregator, {rate:N0} lines per flush, {rounds} rounds of {seconds} flushes, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        Console.WriteLine($"  ingest ns/line: {MinMed(ingest, "F1")}");
        Console.WriteLine($"  flush ms:       {MinMed(flush, "F2")}");
        Console.WriteLine($"  allocated bytes/line (ingest + flush): {MinMed(alloc, "F2")}");
        return 0;
    }

    // The same generator as bench/StatsdThroughput's Load (same seed, same datagrams).
    private static (byte[][] Datagrams, int[] Lines) Datagrams(int count, int seed)
    {
        var rnd = new Random(seed);
        var result = new byte[count][]; var lines = new int[count];
        var sb = new StringBuilder(1432);
        string? pending = null;
        for (var d = 0; d < count; d++)
        {
            sb.Clear();
            while (true)
            {
                var line = pending ?? NextLine(rnd);
                pending = null;
                if (sb.Length + (sb.Length == 0 ? 0 : 1) + line.Length > 1432) { pending = line; break; }
                if (sb.Length > 0) sb.Append('\n');
                sb.Append(line);
                lines[d]++;
            }
            result[d] = Encoding.ASCII.GetBytes(sb.ToString());
        }
        return (result, lines);
    }

    private static string NextLine(Random rnd)
    {
        var p = rnd.Next(100);
        if (p < 40) return $"bench.counter.{rnd.Next(400)}:1|c";
        if (p < 70) return $"bench.timer.{rnd.Next(300)}:{rnd.Next(1, 1000)}|ms";
        if (p < 90) return $"bench.gauge.{rnd.Next(200)}:{rnd.Next(0, 10000)}|g";
        return $"bench.set.{rnd.Next(100)}:user{rnd.Next(100000)}|s";
    }
}
