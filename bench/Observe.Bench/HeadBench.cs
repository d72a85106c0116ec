// Head growth under steady StatsD-shaped load (issue 15 finding 6, issue 21 "the head stays bounded"):
// dotnet run -c Release --project bench/Observe.Bench -- --head [--series 50000] [--flushes 180] [--concurrent]
// N series written every 10 s flush on a fake clock, compacted every 6 flushes (the default compactionIntervalSeconds 60),
// default schema 10s:6h,1m:7d,10m:5y. Reports head points, managed heap and RSS after each compaction and the
// compaction time, so the same run before and after a compaction change compares side by side.
using System.Diagnostics;
using System.Globalization;
using Observe.Collector;
using Observe.Storage;
using Observe.Storage.Tsdb;

namespace Observe.Bench;

internal static class HeadBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        int series = Arg(args, "--series", 50_000), flushes = Arg(args, "--flushes", 180);
        var dir = Path.Combine(Path.GetTempPath(), "observe-headbench-" + Guid.NewGuid().ToString("N")[..8]);
        long start = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 600 * 600 - flushes * 10L;
        var clock = new BenchClock(start);
        // Every series stored (storage.maxSeries defaults to 500 000).
        var opts = new StorageOptions { DataDir = dir, CompactionIntervalSeconds = 0, SynchronousFull = false, MaxSeries = Math.Max(series, 500_000) };
        var names = Enumerable.Range(0, series).Select(i => $"stats.timers.app{i % 100}.k{i}.mean").ToArray();
        var batch = new MetricPoint[series];
        // The heap before the store: the names and the batch (the collector's) are not the store's.
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        long maxHeapWithHead = 0;
        // --concurrent: each compaction runs in the background while the next flushes are written (as the store's timer does),
        // and the slowest of those writes is reported: how long a flush waits behind compaction's holds of the store lock.
        bool concurrent = args.Contains("--concurrent");
        Task compacting = Task.CompletedTask;
        double maxWriteDuringCompaction = 0;
        int maxHead = 0;
        long maxRss = 0, maxHeap = 0;
        double compactSeconds = 0, firstWrite = 0, laterWrites = 0;
        var sw = Stopwatch.StartNew();
        using (var store = TimeSeriesStore.Open(opts, clock))
        {
            for (int f = 0; f < flushes; f++)
            {
                long ts = start + f * 10L;
                clock.Set(ts + 10);
                for (int i = 0; i < series; i++) batch[i] = new MetricPoint(names[i], (f * 7 + i) % 1000 / 10.0, ts);
                var w = Stopwatch.StartNew();
                bool during = !compacting.IsCompleted;
                await store.WriteAsync(new MetricBatch(ts, batch), CancellationToken.None);
                if (f == 0) firstWrite = w.Elapsed.TotalSeconds; else laterWrites += w.Elapsed.TotalSeconds;
                if (f <= 1 || f == flushes - 1) Console.WriteLine($"write {f + 1,4}: {store.LastWrite}");
                if (during) maxWriteDuringCompaction = Math.Max(maxWriteDuringCompaction, w.Elapsed.TotalSeconds);
                maxHead = Math.Max(maxHead, store.HeadPointCount);
                if (f % 6 == 5 && concurrent)
                {
                    await compacting;
                    var c = Stopwatch.StartNew();
                    compacting = Task.Run(() => { store.Compact(); lock (clock) compactSeconds += c.Elapsed.TotalSeconds; });
                    await Task.Delay(50); // it has taken the store lock once before the next write is timed
                }
                else if (f % 6 == 5)
                {
                    maxHeapWithHead = Math.Max(maxHeapWithHead, GC.GetTotalMemory(forceFullCollection: true));
                    var c = Stopwatch.StartNew();
                    store.Compact();
                    compactSeconds += c.Elapsed.TotalSeconds;
                    long heap = GC.GetTotalMemory(forceFullCollection: true), rss = Environment.WorkingSet;
                    maxHeap = Math.Max(maxHeap, heap); maxRss = Math.Max(maxRss, rss);
                    if (f % 60 == 59 || f == flushes - 1)
                        Console.WriteLine($"flush {f + 1,4}: head {store.HeadPointCount,10:N0} points, heap {heap / 1e6,7:F0} MB, RSS {rss / 1e6,7:F0} MB, compaction {c.Elapsed.TotalSeconds:F2} s");
                }
            }
            await compacting;
        }
        if (concurrent) Console.WriteLine($"slowest write while a compaction ran: {maxWriteDuringCompaction:F2} s");
        var gc = GC.GetGCMemoryInfo();
        Console.WriteLine($"GC at the end: heap {gc.HeapSizeBytes / 1e6:F0} MB, fragmented {gc.FragmentedBytes / 1e6:F0} MB, committed {gc.TotalCommittedBytes / 1e6:F0} MB");
        Console.WriteLine($"{series:N0} series x {flushes} flushes: max head {maxHead:N0} points ({(double)maxHead / series:F1} flushes per series), " +
            $"max heap {maxHeap / 1e6:F0} MB, max RSS {maxRss / 1e6:F0} MB, compaction {compactSeconds:F1} s in all, " +
            $"write {firstWrite:F2} s the first (creates the series), {laterWrites / Math.Max(1, flushes - 1):F2} s each later, wall {sw.Elapsed.TotalSeconds:F0} s");
        if (!concurrent)
            Console.WriteLine($"store heap per series (beyond the names and batch, {baseline / 1e6:F0} MB): {(maxHeapWithHead - baseline) / (double)series:F0} bytes with the head of 6 flushes, " +
                $"{(maxHeap - baseline) / (double)series:F0} bytes after its compaction; max RSS {maxRss / (double)series:F0} bytes per series");
        Directory.Delete(dir, true);
        return 0;
    }

    internal static int Arg(string[] args, string name, int dflt)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : dflt;
    }
}
