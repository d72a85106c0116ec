// Crash-test child: writes deterministic batches to a TimeSeriesStore and prints "ACK <i>" after each WriteAsync completes.
// The test SIGKILLs it and checks every acknowledged batch after reopening.
// Usage: StorageCrashHarness <dataDir> <baseTimestamp> [seriesCount] [seal]
// Default: writes forever, compacting every 7 batches. "seal": writes 30 batches, prints SEALING, seals the head as a clean
// stop does (TimeSeriesStore.SealForShutdown), prints SEALED and exits (the test kills it while it seals).
using System.Globalization;
using Observe.Collector;
using Observe.Storage;
using Observe.Storage.Tsdb;

var dir = args[0];
long baseTs = long.Parse(args[1], CultureInfo.InvariantCulture);
int seriesCount = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 50;
bool seal = args.Length > 3 && args[3] == "seal";
using var store = TimeSeriesStore.Open(new StorageOptions { DataDir = dir, CompactionIntervalSeconds = seal ? 0 : 1 });
long last = store.LastPersistedBatchTimestamp;
long i = last == long.MinValue ? 0 : (last - baseTs) / 10 + 1;
long end = seal ? i + 30 : long.MaxValue;
var stdout = Console.Out;
for (; i < end; i++)
{
    long ts = baseTs + i * 10;
    var points = new MetricPoint[seriesCount];
    for (int j = 0; j < seriesCount; j++) points[j] = new MetricPoint(CrashData.Name(j), CrashData.Value(i, j), ts);
    await store.WriteAsync(new MetricBatch(ts, points), CancellationToken.None);
    stdout.WriteLine($"ACK {i}");
    stdout.Flush();
    if (!seal && i % 7 == 0) store.Compact(force: i % 14 == 0);
}
stdout.WriteLine("SEALING");
stdout.Flush();
stdout.WriteLine(store.SealForShutdown(TimeSpan.FromMinutes(2)) ? "SEALED" : "NOT SEALED");
stdout.Flush();

internal static class CrashData
{
    public static string Name(int j) => j % 5 == 4 ? $"crash.tagged;host=h{j}" : $"crash.s{j}.count";
    public static double Value(long i, int j) => i * 1000 + j + 0.25;
}
