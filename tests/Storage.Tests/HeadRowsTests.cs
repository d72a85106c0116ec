using System.Runtime.CompilerServices;
using FsCheck.Xunit;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>
/// Issue 21: a head point is 16 bytes (its head row as a 24-bit slot packed with the timestamp, instead of a 64-bit
/// sequence number beside it), the slots come from <see cref="HeadRows"/>, and compaction's last step takes the store lock
/// in groups so a flush is not held up behind it.
/// </summary>
public class HeadRowsTests
{
    private const long Start = 1_000_200; // a multiple of 600

    [Fact]
    public void A_head_point_is_16_bytes_and_an_archive_state_32()
    {
        Assert.Equal(16, Unsafe.SizeOf<HeadPoint>()); // was 24
        Assert.Equal(32, Unsafe.SizeOf<ArchiveState>()); // was 48, then 40 with the tail's row id (three inline per series)
        var a = ArchiveState.Empty;
        a.NextChunk = 1 << 24; // the last number taken: 2^24 − 1
        a.Tail = new TailChunk((1 << 24) - 1, long.MinValue, long.MaxValue, ArchiveState.MaxCount, true);
        Assert.Equal(new TailChunk((1 << 24) - 1, long.MinValue, long.MaxValue, ArchiveState.MaxCount, true), a.Tail);
        a.Tail = new TailChunk(7, 1, 2, 0, false);
        Assert.Equal(new TailChunk(7, 1, 2, 0, false), a.Tail);
        Assert.Equal(1 << 24, a.NextChunk);
        a.Tail = new TailChunk(0, 1, 2, 1 << 30, false); // more than a chunk holds reads as a full chunk
        Assert.Equal(new TailChunk(0, 1, 2, ArchiveState.MaxCount, false), a.Tail);
        a.Tail = null;
        Assert.Null(a.Tail);
        Assert.Equal(1 << 24, a.NextChunk);
        Assert.Throws<ArgumentOutOfRangeException>(() => { var b = ArchiveState.Empty; b.Tail = new TailChunk(1 << 24, 1, 1, 1, false); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { var b = ArchiveState.Empty; b.NextChunk = (1 << 24) + 1; });
        Assert.Throws<ArgumentOutOfRangeException>(() => { var b = ArchiveState.Empty; b.Tail = new TailChunk(1, 1, 1, -1, false); });
    }

    [Property(MaxTest = 200)]
    public void A_head_point_keeps_its_timestamp_value_and_row(long ts, double v, int row)
    {
        ts %= HeadPoint.MaxTs; // within ±2^39
        row &= HeadRows.MaxRows - 1;
        var p = new HeadPoint(ts, v, row);
        Assert.Equal(ts, p.Ts);
        Assert.Equal(row, p.Row);
        Assert.Equal(BitConverter.DoubleToInt64Bits(v), BitConverter.DoubleToInt64Bits(p.Value));
        foreach (long edge in new[] { HeadPoint.MinTs, HeadPoint.MaxTs })
        {
            var e = new HeadPoint(edge, v, HeadRows.MaxRows - 1);
            Assert.Equal((edge, HeadRows.MaxRows - 1), (e.Ts, e.Row));
        }
        Assert.False(HeadPoint.Fits(HeadPoint.MaxTs + 1));
        Assert.False(HeadPoint.Fits(HeadPoint.MinTs - 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HeadPoint(HeadPoint.MaxTs + 1, v, 0));
    }

    /// <summary>Against a model: live rows keep distinct slots, a slot is taken again only once freed, selection and counts agree.</summary>
    [Property(MaxTest = 150)]
    public void Slots_are_unique_while_taken_and_reused_once_freed(int seed)
    {
        var rnd = new Random(seed);
        var rows = new HeadRows();
        var live = new Dictionary<int, (long Seq, long MaxTs)>();
        var releasing = new HashSet<int>();
        SealedRows? pending = null;
        long seq = 0;
        int maxSlot = -1, maxTaken = 0;
        for (int op = 0; op < 300; op++)
        {
            switch (rnd.Next(4))
            {
                case 0 or 1:
                    long maxTs = rnd.Next(0, 1000);
                    int slot = rows.Add(++seq, maxTs);
                    Assert.False(live.ContainsKey(slot) || releasing.Contains(slot), $"slot {slot} handed out twice");
                    live[slot] = (seq, maxTs);
                    Assert.Equal(seq, rows.SeqOf(slot));
                    maxSlot = Math.Max(maxSlot, slot);
                    break;
                case 2 when pending == null:
                    long cutoff = rnd.Next(0, 1100);
                    Assert.Equal(live.Values.Any(r => r.MaxTs < cutoff), rows.AnyBefore(cutoff));
                    pending = rows.Select(cutoff);
                    var expected = live.Where(r => r.Value.MaxTs < cutoff).Select(r => r.Key).Order().ToArray();
                    Assert.Equal(expected, pending.Slots.Order().ToArray());
                    for (int s = -1; s <= maxSlot + 2; s++) Assert.Equal(expected.Contains(s), pending.Contains(s));
                    rows.Deleted(pending);
                    foreach (int s in pending.Slots) { live.Remove(s); releasing.Add(s); }
                    break;
                case 3 when pending != null:
                    rows.Free(pending);
                    releasing.Clear();
                    pending = null;
                    break;
            }
            Assert.Equal(live.Count, rows.Count);
            maxTaken = Math.Max(maxTaken, live.Count + releasing.Count);
            // Slots stay dense: never more than the most rows taken at once.
            Assert.Equal(maxSlot + 1, rows.Capacity);
            Assert.True(rows.Capacity <= maxTaken);
        }
    }

    /// <summary>
    /// Issue 21: after the first compaction of 1.6 M new series a flush waited 44–59 s: compaction's last step (deleting the
    /// head rows, retention, releasing each series' sealed points) held the store lock in one piece. Now it takes the lock
    /// per group: with compaction paused between two release groups (the seam), a flush and reads complete.
    /// Failed before the fix (the release in one hold: the flush did not complete within the bound).
    /// </summary>
    [Fact]
    public async Task A_flush_during_the_release_of_the_heads_completes()
    {
        const int keys = 200;
        var time = ManualTimeProvider.AtUnixSeconds(Start);
        using var s = TimeSeriesStore.Open(TestStore.Options(), time);
        for (int f = 0; f < 6; f++)
        {
            long t = Start + f * 10;
            time.UnixSeconds = t + 10;
            TestStore.Write(s, t, [.. Enumerable.Range(0, keys).Select(i => ($"k{i}.count", (double)(f + i), t))]);
        }
        time.UnixSeconds = Start + 70;
        s.ReleaseGroup = 50;
        using var inRelease = new ManualResetEventSlim();
        using var resume = new ManualResetEventSlim();
        s.ReleaseGroupDone = g => { if (g == 0) { inRelease.Set(); resume.Wait(TimeSpan.FromSeconds(60)); } };
        var compaction = Task.Run(() => s.Compact());
        Assert.True(inRelease.Wait(TimeSpan.FromSeconds(30)), "compaction reached the release of the heads");

        const long T = Start + 60;
        var flush = Task.Run(() => TestStore.Write(s, T, [.. Enumerable.Range(0, keys).Select(i => ($"k{i}.count", 100.0 + i, T))]));
        // A released series (group 0) and one not yet released (group 3) read the same, sealed points from chunks or the head.
        bool flushed = await Completes(flush);
        var reads = Task.Run(() => new[] { s.Fetch("k1.count", Start - 10, T)!, s.Fetch("k170.count", Start - 10, T)! });
        bool read = await Completes(reads);
        resume.Set();
        await compaction;
        Assert.True(flushed, "a flush issued during compaction's last step waited for the whole step");
        Assert.True(read, "reads during compaction's last step waited for the whole step");
        var windows = await reads;
        Assert.Equal(new double?[] { 1, 2, 3, 4, 5, 6, 101 }, windows[0].Values);
        Assert.Equal(new double?[] { 170, 171, 172, 173, 174, 175, 270 }, windows[1].Values);
        Assert.Equal(keys, s.HeadPointCount); // only the flush written during the release is left in the head
        Assert.Equal(new double?[] { 170, 171, 172, 173, 174, 175, 270 }, s.Fetch("k170.count", Start - 10, T)!.Values);
    }

    /// <summary>True when <paramref name="t"/> completes within 10 s (a bound, not a pause: it returns as soon as the task ends).</summary>
    private static async Task<bool> Completes(Task t) => await Task.WhenAny(t, Task.Delay(TimeSpan.FromSeconds(10))) == t;
}
