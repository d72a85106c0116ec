// Fleet-wide aggregation in process (issue 21): sumSeries over N series × 6 h at 10 s from the embedded store, streamed
// (sumSeries(fleet.*), the default path) against materialised (sumSeries(group(fleet.*)): group() makes the evaluator hold
// every input series, as every aggregate did before issue 21), with wall time, bytes allocated and peak managed heap.
using System.Diagnostics;
using Observe.Collector;
using Observe.Storage;
using Observe.Storage.Graphite;
using Observe.Storage.Tsdb;

namespace Observe.Bench;

static class AggregateBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        int runs = args.SkipWhile(a => a != "--runs").Skip(1).Select(int.Parse).FirstOrDefault(5);
        bool peers = args.Contains("--peers"), inProcess = !args.Contains("--http-only");
        int[] sizes = (args.SkipWhile(a => a != "--series").Skip(1).FirstOrDefault() ?? "1000,10000").Split(',').Select(int.Parse).ToArray();
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Trim()}");
        foreach (var n in sizes)
        {
            string dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "observe-agg-bench-" + Guid.NewGuid().ToString("N")[..8])).FullName;
            try
            {
                var opts = new StorageOptions { DataDir = dir, CompactionIntervalSeconds = 0 };
                long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                // The store's clock stands still at the end of the data: however long writing takes on a busy machine, the
                // window stays inside the 10 s archive (a moving clock once slid it into the 1 m archive half-way through a fold).
                using var store = TimeSeriesStore.Open(opts, new FrozenClock(DateTimeOffset.FromUnixTimeSeconds(now)));
                long start = now - now % 10 - 6 * 3600 + 10;
                var sw = Stopwatch.StartNew();
                var rnd = new Random(21);
                var names = Enumerable.Range(0, n).Select(i => $"fleet.host{i:D5}.requests").ToArray();
                var batch = new MetricPoint[n];
                int slots = (int)((now - start) / 10) + 1;
                var values = peers ? Enumerable.Range(0, n).Select(_ => new double[slots]).ToArray() : null;
                for (long ts = start; ts <= now; ts += 10)
                {
                    for (int i = 0; i < n; i++)
                    {
                        batch[i] = new MetricPoint(names[i], Math.Round(rnd.NextDouble() * 100, 1), ts);
                        if (values != null) values[i][(ts - start) / 10] = batch[i].Value;
                    }
                    await store.WriteAsync(new MetricBatch(ts, batch), CancellationToken.None);
                    if ((ts - start) % 3600 == 0) store.Compact();
                }
                store.Compact();
                Console.WriteLine($"{n} series x 6 h written in {sw.Elapsed.TotalSeconds:F1} s");
                var unbounded = new RenderLimitOptions { MaxPoints = long.MaxValue, MaxPointsRead = long.MaxValue, MaxPointsProduced = long.MaxValue, TimeoutSeconds = 3600 };
                if (args.Contains("--profile")) AggregateProfile.Run(store, names, now - 6 * 3600 + 120, now, runs);
                if (peers) await AggregatePeersBench.RunAsync(store, dir, names, values!, start, now, runs);
                if (!inProcess) continue;
                foreach (var (label, target, limits) in new[]
                         {
                             ("streamed    ", "sumSeries(fleet.*.requests)", new RenderLimitOptions()),
                             ("materialised", "sumSeries(group(fleet.*.requests))", unbounded),
                         })
                {
                    var req = new GraphiteApi.RenderRequest([target], now - 6 * 3600 + 120, now, now, // just inside the 10 s archive (10s:6h)
                         "json", null, false, 0, null);
                    var ms = new List<double>();
                    long allocated = 0, peak = 0;
                    for (int r = 0; r <= runs; r++)
                    {
                        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
                        long baseline = GC.GetTotalMemory(false), top = baseline;
                        using var done = new CancellationTokenSource();
                        var sampler = Task.Run(() => { while (!done.IsCancellationRequested) { top = Math.Max(top, GC.GetTotalMemory(false)); Thread.Sleep(1); } });
                        long a0 = GC.GetTotalAllocatedBytes(true);
                        var t = Stopwatch.StartNew();
                        List<TimeSeries> result;
                        try { result = GraphiteApi.Evaluate(req, store, null, limits); }
                        catch (GraphiteLimitException e) { Console.WriteLine($"  {label} {target}: 400 {e.Key}"); done.Cancel(); await sampler; goto next; }
                        t.Stop();
                        long a1 = GC.GetTotalAllocatedBytes(true);
                        done.Cancel(); await sampler;
                        top = Math.Max(top, GC.GetTotalMemory(false));
                        if (result.Count != 1 || result[0].Values.Count(v => v.HasValue) < 2000) throw new InvalidOperationException($"{target}: {result.Count} series, {result.Sum(s => s.Values.Count(v => v.HasValue))} non-null points, step {result.FirstOrDefault()?.Step}");
                        if (r == 0) continue; // warm-up
                        ms.Add(t.Elapsed.TotalMilliseconds);
                        allocated = Math.Max(allocated, a1 - a0);
                        peak = Math.Max(peak, top - baseline);
                    }
                    ms.Sort();
                    Console.WriteLine($"  {label} {n,6} series: median {ms[ms.Count / 2],8:F1} ms (min {ms[0]:F1}, max {ms[^1]:F1}), allocated {allocated / 1048576.0,7:F1} MB, peak managed heap above baseline {peak / 1048576.0,7:F1} MB");
                next:;
                }
            }
            finally { Directory.Delete(dir, true); }
        }
        Console.WriteLine($"load average after: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }
}

sealed class FrozenClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
