using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using FsCheck.Xunit;
using Observe.Storage.Sinks.Spool;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

public class SpoolTests
{
    private static byte[] Rec(int i) => Encoding.UTF8.GetBytes($"record-{i:D6}-" + new string('x', i % 37));

    private static List<string> Drain(DiskSpool spool)
    {
        var got = new List<string>();
        byte[]? buf = null;
        while (spool.TryReadHead(ref buf, out var pos, out var len))
        {
            got.Add(Encoding.UTF8.GetString(buf!, 0, len));
            spool.CommitHead(pos);
        }
        return got;
    }

    private static string[] Expected(IEnumerable<int> ids) => ids.Select(i => Encoding.UTF8.GetString(Rec(i))).ToArray();

    private static string[] Segments(string dir) => Directory.GetFiles(dir, "*.seg").Order().ToArray();

    [Fact]
    public void Delivers_in_append_order_across_segments()
    {
        var dir = Repo.TempDir("spool");
        using var spool = DiskSpool.Open(dir, new SpoolLimits(SegmentBytes: 200));
        for (var i = 0; i < 50; i++) spool.Append(Rec(i));
        Assert.True(Segments(dir).Length > 5);
        Assert.Equal(50, spool.Count);
        Assert.Equal(Expected(Enumerable.Range(0, 50)), Drain(spool));
        Assert.Equal(0, spool.Count);
        Assert.Equal(0, spool.PendingBytes);
        // Fully delivered segments are deleted; only the one being written remains.
        Assert.Single(Segments(dir));
    }

    [Fact]
    public void Restart_replays_only_what_was_not_delivered()
    {
        var dir = Repo.TempDir("spool");
        using (var spool = DiskSpool.Open(dir, new SpoolLimits(SegmentBytes: 300)))
        {
            for (var i = 0; i < 20; i++) spool.Append(Rec(i));
            byte[]? buf = null;
            for (var i = 0; i < 7; i++)
            {
                Assert.True(spool.TryReadHead(ref buf, out var pos, out _));
                spool.CommitHead(pos);
            }
        }
        using (var spool = DiskSpool.Open(dir, new SpoolLimits(SegmentBytes: 300)))
        {
            Assert.Equal(13, spool.Count);
            spool.Append(Rec(20));
            Assert.Equal(Expected(Enumerable.Range(7, 14)), Drain(spool));
        }
        using (var spool = DiskSpool.Open(dir))
        {
            Assert.Equal(0, spool.Count);
            Assert.Equal(0, spool.CorruptSkipped);
        }
    }

    [Fact]
    public void Torn_tail_is_skipped_and_counted_and_later_appends_survive()
    {
        var dir = Repo.TempDir("spool");
        using (var spool = DiskSpool.Open(dir))
            for (var i = 0; i < 3; i++) spool.Append(Rec(i));
        var seg = Segments(dir).Single();
        var len = new FileInfo(seg).Length;
        using (var f = new FileStream(seg, FileMode.Open)) f.SetLength(len - 5); // the last write was torn
        using (var spool = DiskSpool.Open(dir))
        {
            Assert.Equal(1, spool.CorruptSkipped);
            Assert.Equal(2, spool.Count);
            spool.Append(Rec(3));
        }
        using (var spool = DiskSpool.Open(dir))
        {
            Assert.Equal(1, spool.CorruptSkipped);
            Assert.Equal(Expected([0, 1, 3]), Drain(spool));
        }
    }

    [Fact]
    public void Corruption_in_the_middle_skips_only_the_damaged_record()
    {
        var dir = Repo.TempDir("spool");
        using (var spool = DiskSpool.Open(dir))
            for (var i = 0; i < 5; i++) spool.Append(Rec(i));
        var seg = Segments(dir).Single();
        var bytes = File.ReadAllBytes(seg);
        var offset = DiskSpool.HeaderSize * 2 + Rec(0).Length + Rec(1).Length; // record 2's header
        bytes[offset + DiskSpool.HeaderSize + 3] ^= 0x40;                        // one flipped bit in its payload
        File.WriteAllBytes(seg, bytes);
        using (var spool = DiskSpool.Open(dir))
        {
            Assert.Equal(1, spool.CorruptSkipped);
            Assert.Equal(Expected([0, 1, 3, 4]), Drain(spool));
        }

        // A garbage length field must not swallow the rest either.
        var dir2 = Repo.TempDir("spool");
        using (var spool = DiskSpool.Open(dir2))
            for (var i = 0; i < 5; i++) spool.Append(Rec(i));
        seg = Segments(dir2).Single();
        bytes = File.ReadAllBytes(seg);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(offset + 4), 3);
        File.WriteAllBytes(seg, bytes);
        using (var spool = DiskSpool.Open(dir2))
            Assert.Equal(Expected([0, 1, 3, 4]), Drain(spool));
    }

    [Fact]
    public void Size_bound_drops_oldest_first_and_counts_it()
    {
        var dir = Repo.TempDir("spool");
        var one = DiskSpool.HeaderSize + Rec(0).Length;
        using var spool = DiskSpool.Open(dir, new SpoolLimits(MaxBytes: one * 10 + 5, SegmentBytes: one * 3));
        for (var i = 0; i < 100; i++) spool.Append(Rec(i * 37)); // same length for every record
        Assert.Equal(10, spool.Count);
        Assert.Equal(90, spool.DroppedOldest);
        Assert.True(spool.PendingBytes <= one * 10 + 5);
        Assert.Equal(Expected(Enumerable.Range(90, 10).Select(i => i * 37)), Drain(spool));
        Assert.True(Segments(dir).Length <= 2, "dropped segments are deleted");
    }

    [Fact]
    public void Retry_remaining_replaces_the_head_durably()
    {
        var dir = Repo.TempDir("spool");
        using (var spool = DiskSpool.Open(dir))
        {
            spool.Append("a\nb\nc\n"u8);
            spool.Append("d\n"u8);
            byte[]? buf = null;
            Assert.True(spool.TryReadHead(ref buf, out var pos, out _));
            spool.ReplaceHead(pos, "c\n"u8);
            Assert.True(spool.TryReadHead(ref buf, out var pos2, out var len));
            Assert.Equal(pos, pos2);
            Assert.Equal("c\n", Encoding.UTF8.GetString(buf!, 0, len));
        }
        using (var spool = DiskSpool.Open(dir))
        {
            Assert.Equal(["c\n", "d\n"], Drain(spool));
            Assert.False(File.Exists(Path.Combine(dir, "head")));
        }
    }

    [Fact]
    public async Task Delivery_loop_retries_rejects_to_dead_letter_and_keeps_order()
    {
        var dir = Repo.TempDir("spool");
        var target = new ScriptedTarget(payload => payload switch
        {
            "bad" => DeliveryOutcome.Reject("400 bad line"),
            "a b c" => new DeliveryOutcome(DeliveryStatus.RetryRemaining, "c"u8.ToArray(), "429 for item c"),
            _ => default,
        }, failFirst: 3);
        await using var pipeline = new SpoolPipeline("t", dir, target, SpoolLimits.Default, TimeSpan.FromMilliseconds(200));
        foreach (var s in new[] { "one", "bad", "a b c", "two" })
            pipeline.Append(s, static (s, w) => w.Write(Encoding.UTF8.GetBytes(s)));
        await Poll.UntilAsync(() => pipeline.Stats.Records == 0, TimeSpan.FromSeconds(20), "spool drained");
        var stats = pipeline.Stats;
        Assert.Equal(["one", "c", "two"], target.Delivered);
        Assert.Equal(4, stats.Appended);
        Assert.Equal(3, stats.Delivered);
        Assert.Equal(1, stats.Rejected);
        Assert.Equal(4, stats.Retries); // three connection failures and one partial delivery
        Assert.Equal(["bad"], DiskSpool.ReadDeadLetters(dir).Select(b => Encoding.UTF8.GetString(b)));
    }

    /// <summary>
    /// Any interleaving of append, deliver, restart, and a crash (no clean close) between delivering and committing,
    /// delivers every appended record at least once, and first deliveries come in append order.
    /// </summary>
    [Trait("Category", "Slow")]
    [Property(MaxTest = 150)]
    public bool AnyInterleavingDeliversEverythingAtLeastOnceInOrder(byte[] ops)
    {
        var dir = Repo.TempDir("spool-prop");
        var limits = new SpoolLimits(SegmentBytes: 120);
        var spool = DiskSpool.Open(dir, limits);
        var appended = 0;
        var delivered = new List<int>();
        var abandoned = new List<DiskSpool>();
        byte[]? buf = null;
        try
        {
            foreach (var op in ops.Append((byte)255))
            {
                switch (op % 10)
                {
                    case < 5:
                        spool.Append(Rec(appended++));
                        break;
                    case < 8:
                        if (spool.TryReadHead(ref buf, out var pos, out var len))
                        {
                            delivered.Add(Id(buf!, len));
                            spool.CommitHead(pos);
                        }
                        break;
                    case 8:
                        spool.Dispose();
                        spool = DiskSpool.Open(dir, limits);
                        break;
                    default:
                        if (spool.TryReadHead(ref buf, out _, out var l2)) delivered.Add(Id(buf!, l2)); // sent, then crashed:
                        abandoned.Add(spool); // no Dispose, so no last cursor write
                        spool = DiskSpool.Open(dir, limits);
                        break;
                }
            }
            while (spool.TryReadHead(ref buf, out var pos, out var len))
            {
                delivered.Add(Id(buf!, len));
                spool.CommitHead(pos);
            }
            var firsts = delivered.Distinct().ToList();
            return firsts.SequenceEqual(Enumerable.Range(0, appended)) && spool.CorruptSkipped == 0 && Segments(dir).Length == 1;
        }
        finally
        {
            spool.Dispose();
            foreach (var a in abandoned) a.Dispose();
            Directory.Delete(dir, true);
        }

        static int Id(byte[] b, int len) => int.Parse(Encoding.UTF8.GetString(b, 7, 6));
    }

    private sealed class ScriptedTarget(Func<string, DeliveryOutcome> outcome, int failFirst = 0) : ISpoolTarget
    {
        private int _failures = failFirst;
        public ConcurrentQueue<string> DeliveredQueue { get; } = new();
        public string[] Delivered => DeliveredQueue.ToArray();
        public string Name => "scripted";

        public ValueTask<DeliveryOutcome> DeliverAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken)
        {
            if (_failures-- > 0) throw new IOException("connection refused");
            var s = Encoding.UTF8.GetString(record.Span);
            var o = outcome(s);
            if (o.Status == DeliveryStatus.Delivered) DeliveredQueue.Enqueue(s);
            return ValueTask.FromResult(o);
        }
    }
}
