using Observe.Collector;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>
/// What a store holds in managed heap per series (issue 21: RSS 12.1 GB at a million StatsD names, ≈ 500 bytes of heap per
/// series of which the head array was 152). Alone (not in parallel with other tests), as it reads the whole process's heap.
/// </summary>
[Collection(nameof(HeadMemoryTests))]
public class HeadMemoryTests
{
    private const long Start = 1_000_200;

    [Fact]
    public async Task A_store_of_100_000_series_with_six_head_points_each_holds_little_heap_per_series()
    {
        const int N = 100_000, Flushes = 6;
        var time = ManualTimeProvider.AtUnixSeconds(Start + 100);
        // The names and batches are the collector's (the store keeps the same strings): made before the heap is measured.
        var names = Enumerable.Range(0, N).Select(i => $"stats.timers.bench.timer.{i}.mean").ToArray();
        var batches = Enumerable.Range(0, Flushes).Select(f => new MetricBatch(Start + 10 * f,
            [.. Enumerable.Range(0, N).Select(i => new MetricPoint(names[i], (f * 7 + i) % 1000 / 10.0, Start + 10 * f))])).ToArray();
        long before = GC.GetTotalMemory(forceFullCollection: true);
        using var store = TimeSeriesStore.Open(TestStore.Options(), time);
        foreach (var b in batches) await store.WriteAsync(b, default);
        long perSeries = (GC.GetTotalMemory(forceFullCollection: true) - before) / N;
        Assert.Equal(N * Flushes, store.HeadPointCount);
        Assert.Equal(0.5, store.Fetch(names[5], Start - 10, Start + 10)!.Values[0]);
        GC.KeepAlive(batches);
        Assert.True(perSeries <= HeapBound, $"{perSeries} bytes of heap per series with {Flushes} head points each (bound {HeapBound})");
    }

    /// <summary>
    /// One series' state: 192 bytes allocated on main (d1e8b87; docs/storage.md said 184) with its head array's reference, a bool padded to 8 bytes and each
    /// archive's tail chunk row id kept (it follows from the series, the archive and the chunk number).
    /// </summary>
    [Fact]
    public void A_series_state_is_152_bytes()
    {
        var kind = new RuleSet(TestStore.Options()).KindFor("a.b");
        var states = new TimeSeriesStore.SeriesState[1000];
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < states.Length; i++) states[i] = new TimeSeriesStore.SeriesState(i, "a.b", kind);
        long each = (GC.GetAllocatedBytesForCurrentThread() - before) / states.Length;
        Assert.True(each <= 152, $"{each} bytes per series state");
    }

    /// <summary>main (d1e8b87): 517 bytes per series (SeriesState 184, its head array 152, index, lists, trie: a node per timer here); head points in row columns: 404; SeriesState 152 bytes: 376.</summary>
    private const long HeapBound = 420;
}

[CollectionDefinition(nameof(HeadMemoryTests), DisableParallelization = true)]
public class HeadMemoryCollection;
