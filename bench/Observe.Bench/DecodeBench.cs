// Chunk decode ns/point on a decimal-heavy StatsD-like chunk set (issue 21): ... -- --decode [--chunks 3000] [--runs 7]
// Single-threaded, in process: Gorilla.DecodeInto (the fetch path's reused buffers) and Gorilla.Decode (fresh arrays).
using System.Diagnostics;
using Observe.Storage.Tsdb;

namespace Observe.Bench;

static class DecodeBench
{
    public static int Run(string[] args)
    {
        int chunks = Arg(args, "--chunks", 3000), runs = Arg(args, "--runs", 7);
        var rnd = new Random(21);
        var blobs = new List<byte[]>();
        var byEnc = new int[8];
        long points = 0;
        for (int k = 0; k < chunks; k++)
        {
            var ts = new long[720]; var vs = new double[720];
            for (int i = 0; i < ts.Length; i++)
            {
                ts[i] = 1_700_000_000 + i * 10L;
                int count = rnd.Next(0, 200);
                vs[i] = (k % 6) switch
                {
                    0 => count,                              // counter: count per flush
                    1 => count / 10.0,                       // counter rate (count_ps)
                    2 => rnd.Next(1, 900),                   // timer upper / lower / median (integer ms)
                    3 => (long)count * rnd.Next(1, 900),     // timer sum
                    4 => 1000 + i * 3 + rnd.Next(0, 3),      // rising gauge
                    _ => Math.Round(rnd.NextDouble() * 100, 2), // gauge with two decimals
                };
            }
            var blob = Gorilla.Encode(ts, vs);
            byEnc[Gorilla.EncodingOf(blob)]++;
            blobs.Add(blob);
            points += ts.Length;
        }
        Console.WriteLine($"{chunks} chunks x 720 points, {blobs.Sum(b => (long)b.Length) / (double)points:F2} bytes/point stored, encodings (0 xor, 1/2 rational, 3 sqrt, 4/5/6 decimal): {string.Join(" ", byEnc.Select((n, e) => $"{e}:{n}"))}");
        var scratch = new ChunkScratch();
        Measure("Gorilla.DecodeInto", runs, points, () => { long n = 0; foreach (var b in blobs) { Gorilla.DecodeInto(b, scratch); n += scratch.Count; } return n; });
        Measure("Gorilla.Decode", runs, points, () => { long n = 0; foreach (var b in blobs) n += Gorilla.Decode(b).Ts.Length; return n; });
        return 0;
    }

    private static void Measure(string name, int runs, long points, Func<long> body)
    {
        body(); // warm-up: JIT tiers, buffers grown
        double best = double.MaxValue;
        long bytes = 0;
        for (int r = 0; r < runs; r++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            if (body() != points) throw new InvalidOperationException("points lost");
            best = Math.Min(best, sw.Elapsed.TotalNanoseconds / points);
            bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Console.WriteLine($"{name,-20} best of {runs}: {best:F2} ns/point, {bytes / (double)points:F2} bytes allocated/point");
    }

    private static int Arg(string[] args, string name, int dflt)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) : dflt;
    }
}
