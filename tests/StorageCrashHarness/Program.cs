// Crash-test child: writes deterministic batches to a TimeSeriesStore and prints "ACK <i>" after each WriteAsync completes.
// The test SIGKILLs it and checks every acknowledged batch after reopening.
// Usage: StorageCrashHarness <dataDir> <baseTimestamp> [seriesCount] [checkpoint]
// Default: writes forever, compacting every 7 batches. "checkpoint": no background compaction; prints CHECKPOINTING and then
// writes forever, after each batch writing the head checkpoint as a clean stop does (TimeSeriesStore.WriteHeadCheckpoint)
// and every 5th batch compacting first (every 10th forced, which deletes every head row), so the checkpoint read at the next
// open is often older than the newest head rows or covers rows compacted since; the test kills it at random moments.
using System.Globalization;
using Observe.Collector;
using Observe.Storage;
using Observe.Storage.Tsdb;

var dir = args[0];
long baseTs = long.Parse(args[1], CultureInfo.InvariantCulture);
int seriesCount = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 50;
bool checkpoint = args.Length > 3 && args[3] == "checkpoint";
using var store = TimeSeriesStore.Open(new StorageOptions { DataDir = dir, CompactionIntervalSeconds = checkpoint ? 0 : 1 });
long last = store.LastPersistedBatchTimestamp;
long i = last == long.MinValue ? 0 : (last - baseTs) / 10 + 1;
var stdout = Console.Out;
if (checkpoint)
{
    stdout.WriteLine("CHECKPOINTING");
    stdout.Flush();
}
for (; ; i++)
{
    long ts = baseTs + i * 10;
    var points = new MetricPoint[seriesCount];
    for (int j = 0; j < seriesCount; j++) points[j] = new MetricPoint(CrashData.Name(j), CrashData.Value(i, j), ts);
    await store.WriteAsync(new MetricBatch(ts, points), CancellationToken.None);
    stdout.WriteLine($"ACK {i}");
    stdout.Flush();
    if (checkpoint)
    {
        if (i % 5 == 0) store.Compact(force: i % 10 == 0);
        store.WriteHeadCheckpoint();
    }
    else if (i % 7 == 0) store.Compact(force: i % 14 == 0);
}

internal static class CrashData
{
    public static string Name(int j) => j % 5 == 4 ? $"crash.tagged;host=h{j}" : $"crash.s{j}.count";
    public static double Value(long i, int j) => i * 1000 + j + 0.25;
}
