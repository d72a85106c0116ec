using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Observe.Collector.Statsd;

namespace Observe.Collector.Tests.Statsd;

public sealed class TimerSamplesTests
{
    /// <summary>Any sequence of samples, taken in any number of flushes, comes out as added (order and count), and the
    /// weighted count as summed; after Take the key is empty but keeps its names.</summary>
    [Property(MaxTest = 500)]
    public Property Samples_come_out_as_added_across_takes() =>
        Prop.ForAll(
            Gen.ArrayOf(Gen.ArrayOf(Gen.Choose(0, 100_000).Select(i => i / 7.0))).ToArbitrary(),
            rounds =>
            {
                var s = default(TimerSamples);
                s.Names = new string?[3];
                var names = s.Names;
                Span<double> scratch = stackalloc double[1];
                foreach (var round in rounds)
                {
                    foreach (var v in round) s.Add(v, 2);
                    if (s.Length != round.Length || s.Count != 2.0 * round.Length) return false;
                    var taken = s.Take();
                    var got = taken.Values(scratch).ToArray();
                    taken.Return();
                    if (!got.SequenceEqual(round) || taken.Count != 2.0 * round.Length) return false;
                    if (s.Length != 0 || s.Count != 0 || !ReferenceEquals(s.Names, names)) return false;
                }
                return true;
            });

    /// <summary>
    /// A key's output names are built at its first flush and the same string instances are handed out by every later
    /// flush (the embedded store keeps them as its series names): a flush of known keys builds no names.
    /// </summary>
    [Fact]
    public void Later_flushes_reuse_each_keys_output_names()
    {
        var a = StatsdTest.Aggregator();
        var packet = Encoding.UTF8.GetBytes("t.a:1|ms\nt.a:3|ms\nt.b:2|ms\nc.a:1|c\ng.a:1|g\ns.a:x|s");
        a.HandlePacket(packet);
        var first = a.Flush(10_000).Points.ToDictionary(p => p.Path, p => p.Path);
        a.HandlePacket(packet);
        var second = a.Flush(20_000).Points;
        var reused = second.Where(p => !p.Path.StartsWith("stats.statsd", StringComparison.Ordinal) && p.Path != "statsd.numStats"
            && !p.Path.Contains("graphiteStats", StringComparison.Ordinal) && !p.Path.Contains("processing_time", StringComparison.Ordinal)).ToList();
        Assert.Contains(reused, p => p.Path == "stats.timers.t.a.upper_90");
        Assert.Contains(reused, p => p.Path is "stats_counts.c.a" or "stats.counters.c.a.count");
        Assert.All(reused.Where(p => first.ContainsKey(p.Path)), p => Assert.Same(first[p.Path], p.Path));
        Assert.Equal(3, second.Single(p => p.Path == "stats.timers.t.a.upper").Value);
    }

    /// <summary>A flush of known keys allocates its batch, not a string or list per key: 2 000 timers, 2 000 counters.</summary>
    [Fact]
    public void A_flush_of_known_keys_allocates_little_per_key()
    {
        var a = StatsdTest.Aggregator();
        var sb = new StringBuilder();
        var packets = new List<byte[]>();
        for (var i = 0; i < 2000; i++)
        {
            sb.Clear().Append("t.").Append(i).Append(":5|ms\nc.").Append(i).Append(":1|c");
            packets.Add(Encoding.UTF8.GetBytes(sb.ToString()));
        }
        void Round() { foreach (var p in packets) a.HandlePacket(p); }
        Round(); a.Flush(10_000);
        Round(); a.Flush(20_000);
        Round();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var batch = a.Flush(30_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // The point list (24 B a point, 32 points a key pair) plus the few self-metric names; before, ~4 KB per timer.
        Assert.True(allocated < batch.Points.Count * 24 * 2 + 64_000, $"{allocated} bytes for {batch.Points.Count} points");
    }
}
