using FsCheck.Xunit;
using Observe.Collector;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>
/// Issue 21 (memory at 100 000 StatsD names = 1.6 M series): what a store costs per series it creates, in bytes allocated
/// on the write that creates them. Arrays that double while millions of series are created leave their old copies as
/// large-object-heap garbage that RSS holds long after the flush.
/// </summary>
public class SeriesMemoryTests
{
    private const long Start = 1_000_200; // a multiple of 600

    [Fact]
    public async Task A_write_that_creates_100_000_series_allocates_little_beyond_the_series_themselves()
    {
        const int N = 100_000;
        var time = ManualTimeProvider.AtUnixSeconds(Start + 100);
        using var store = TimeSeriesStore.Open(TestStore.Options(), time);
        // The StatsD names bench's shape: many timers under one branch, a shared leaf name each.
        var batch = new MetricBatch(Start, [.. Enumerable.Range(0, N).Select(i => new MetricPoint($"stats.timers.bench.timer.{i}.mean", i, Start))]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var write = store.WriteAsync(batch, default); // completes synchronously, on this thread
        long perSeries = (GC.GetAllocatedBytesForCurrentThread() - before) / N;
        Assert.True(write.IsCompletedSuccessfully);
        await write;
        Assert.Equal(N, store.SeriesCount);
        Assert.True(perSeries <= Bound, $"{perSeries} bytes allocated per created series (bound {Bound})");
    }

    /// <summary>main (4df1d74): 969 bytes; with the index sized once per write and open addressing: 840.</summary>
    private const long Bound = 900;

    /// <summary>The store's name index (open addressing, backward-shift deletion) against a dictionary: adds, re-adds, removes and lookups agree.</summary>
    [Property(MaxTest = 200)]
    public void The_series_index_agrees_with_a_dictionary(int seed)
    {
        var rnd = new Random(seed);
        var kind = new RuleSet(TestStore.Options()).KindFor("a.b");
        var index = new SeriesIndex();
        var model = new Dictionary<string, TimeSeriesStore.SeriesState>(StringComparer.Ordinal);
        int names = rnd.Next(1, 300);
        for (int op = 0; op < 1000; op++)
        {
            var name = $"a.s{rnd.Next(names)}";
            switch (rnd.Next(3))
            {
                case 0:
                    var s = new TimeSeriesStore.SeriesState(op, name, kind);
                    Assert.Equal(model.TryAdd(name, s), index.TryAdd(s));
                    break;
                case 1:
                    Assert.Equal(model.Remove(name), index.Remove(name));
                    break;
                default:
                    if (rnd.Next(50) == 0) index.EnsureCapacity(rnd.Next(0, 2 * names));
                    else if (rnd.Next(50) == 0) index.Reserve(rnd.Next(0, names));
                    break;
            }
            Assert.Equal(model.Count, index.Count);
            Assert.True(index.Count <= index.Capacity * 3 / 4 || index.Count == 0);
        }
        for (int i = 0; i < names; i++)
        {
            var name = $"a.s{i}";
            Assert.Equal(model.TryGetValue(name, out var m), index.TryGetValue(name, out var x));
            Assert.Same(m, m == null ? null : x);
            Assert.Equal(model.ContainsKey(name), index.ContainsKey(name));
        }
    }
}
