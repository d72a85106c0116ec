using FsCheck.Xunit;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>The decoded-chunk cache (<c>storage.chunkCacheBytes</c>) and the placement of decoded chunks into a window.</summary>
public class ChunkCacheTests
{
    private const long Now = 1_000_200;
    private const int Series = 30;

    private static TimeSeriesStore Fleet(ManualTimeProvider time, long cacheBytes)
    {
        var o = TestStore.Options();
        o.ChunkCacheBytes = cacheBytes;
        o.SynchronousFull = false;
        var s = TimeSeriesStore.Open(o, time);
        var rnd = new Random(21);
        for (long t = Now - 7200; t < Now; t += 10)
            TestStore.Write(s, t, [.. Enumerable.Range(0, Series).Select(i => ($"fleet.h{i:D2}.req", Math.Round(rnd.NextDouble() * 100, 1), t))]);
        s.Compact();
        return s;
    }

    /// <summary>Fetches every series of the fleet as a fold does; each window equals <see cref="TimeSeriesStore.Fetch"/>'s.</summary>
    private static void FetchAll(TimeSeriesStore s, SlotBuffer buf)
    {
        for (int i = 0; i < Series; i++)
        {
            string name = $"fleet.h{i:D2}.req";
            Assert.True(s.FetchInto(name, Now - 7000, Now, buf));
            var w = s.Fetch(name, Now - 7000, Now)!;
            Assert.Equal(w.Values.Length, buf.Length);
            for (int k = 0; k < buf.Length; k++) Assert.Equal(w.Values[k], buf.Has(k) ? buf.Values[k] : null);
        }
    }

    [Fact]
    public void A_repeated_fleet_fetch_decodes_no_chunk_again()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using var s = Fleet(time, 256 << 20);
        var buf = new SlotBuffer();
        FetchAll(s, buf);
        long decoded = s.ChunksDecoded;
        Assert.True(decoded >= Series, $"{decoded} chunks decoded");
        FetchAll(s, buf);
        Assert.Equal(decoded, s.ChunksDecoded);
        Assert.Equal(0, s.ChunkCacheStats.Refused);
    }

    /// <summary>Emptying when full (the cache before) served nothing of a fetch larger than it; now the part that fits stays.</summary>
    [Fact]
    public void A_fetch_larger_than_the_cache_keeps_hitting_the_part_that_fits_until_it_is_idle()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        var buf = new SlotBuffer();
        long all;
        using (var none = Fleet(time, 0))
        {
            FetchAll(none, buf);
            all = none.ChunksDecoded; // FetchInto and Fetch each decode every chunk
            Assert.Equal(0, none.ChunkCacheStats.Chunks);
        }

        using var part = Fleet(time, 8 * 720 * Series / 2);
        FetchAll(part, buf);
        var (cachedBytes, cached, refused) = part.ChunkCacheStats;
        Assert.True(cached > 0 && refused > 0, $"{cached} cached, {refused} refused");
        long before = part.ChunksDecoded;
        FetchAll(part, buf);
        // Fetch reads each chunk once more beside FetchInto: both are served for the cached ones.
        Assert.Equal(before + all - 2 * cached, part.ChunksDecoded);
        Assert.Equal(cachedBytes, part.ChunkCacheStats.Bytes);

        // Idle for longer than IdleAfter, the cached chunks make room for others.
        time.Advance(DecodedChunkCache.IdleAfter + TimeSpan.FromSeconds(1));
        part.FetchInto("fleet.h29.req", Now - 7000, Now, buf);
        Assert.Contains(part.ChunkCacheStats.Chunks, new[] { 1, 2 });
    }

    private sealed class Pressure : Observe.Collector.IMemoryPressure { public Observe.Collector.MemoryPressure Level { get; set; } }

    /// <summary>The cache is part of limits.memory: emptied at its first step (Relieve) and not filled while it lasts.</summary>
    [Fact]
    public void Under_the_memory_budget_the_cache_is_emptied_and_not_filled()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using var s = Fleet(time, 256 << 20);
        var pressure = new Pressure();
        s.Pressure = pressure;
        var buf = new SlotBuffer();
        FetchAll(s, buf);
        Assert.True(s.ChunkCacheStats.Chunks > 0);
        pressure.Level = Observe.Collector.MemoryPressure.Relieve;
        s.Relieve();
        Assert.Equal((0L, 0), (s.ChunkCacheStats.Bytes, s.ChunkCacheStats.Chunks));
        FetchAll(s, buf);
        Assert.Equal(0, s.ChunkCacheStats.Chunks);
        pressure.Level = Observe.Collector.MemoryPressure.None;
        FetchAll(s, buf);
        Assert.True(s.ChunkCacheStats.Chunks > 0);
    }

    /// <summary>Placing a chunk as one run (its step is the window's) writes the same slots as placing point by point.</summary>
    [Property(MaxTest = 300)]
    public bool Run_placement_equals_point_placement(short ts0Off, byte count, byte stepKind, short startOff, ushort len)
    {
        long step = 10, ts0 = 1_000_000 + ts0Off, start = 1_000_000 + startOff - startOff % 10, end = start + (len % 300) * step;
        long chunkStep = stepKind % 3 == 0 ? 20 : 10;
        var v = Enumerable.Range(0, count).Select(i => (double)i).ToArray();
        var ts = Enumerable.Range(0, count).Select(i => ts0 + i * chunkStep).ToArray();
        int n = (int)((end - start) / step);
        var run = new double?[n];
        var point = new double?[n];
        ChunkPlacement.Place(new WindowSink(run), start, end, step, count, ts0, chunkStep, [], v);
        ChunkPlacement.Place(new WindowSink(point), start, end, step, count, ts0, 0, ts, v);
        for (int i = 0; i < count; i++)
            if (ts[i] >= start && ts[i] < end && point[(ts[i] - start) / step] != v[i]) return false;
        return run.SequenceEqual(point);
    }
}
