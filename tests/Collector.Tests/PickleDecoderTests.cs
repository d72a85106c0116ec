using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Observe.Collector.Listeners;
using Observe.TestSupport;

namespace Observe.Collector.Tests;

/// <summary>The whitelist unpickler against pickles made by python3, hostile ones, its bounds, and random bytes.</summary>
public class PickleDecoderTests
{
    private static readonly PickleLimits Defaults = new(8, 250_000, 100_000);

    private static (PickleError Error, List<(string Path, double Ts, double Value)?> Points) Decode(byte[] pickle, PickleLimits? limits = null)
    {
        var d = new PickleDecoder(limits ?? Defaults);
        var error = d.Decode(pickle);
        var points = new List<(string, double, double)?>();
        for (var i = 0; i < d.Count; i++)
            points.Add(d.TryGetPoint(pickle, i, out var path, out var ts, out var v) ? (Encoding.UTF8.GetString(path), ts, v) : null);
        return (error, points);
    }

    private const string Points = "[('a.b', (1700000000, 1.5)), (u'c.d;k=v', (1700000010, -2)), ('e', (1700000020.0, '3.25')), " +
                                  "('big', (1700000030, 12345678901234567890)), ('uni.\\u00e9', (1700000040, 0.1))]";

    [Fact]
    public async Task Every_python_protocol_decodes_to_the_same_points()
    {
        var pickles = await PythonPickles.EvalAsync($"[pickle.dumps({Points}, protocol=p) for p in range(6)] + [pickle.dumps([(b'by.tes', (1, 2.0))], protocol=3)]");
        for (var protocol = 0; protocol < 6; protocol++)
        {
            var (error, points) = Decode(pickles[protocol]);
            Assert.True(error == PickleError.None, $"protocol {protocol}: {error}");
            Assert.Equal<(string, double, double)?>([("a.b", 1700000000, 1.5), ("c.d;k=v", 1700000010, -2), ("e", 1700000020, 3.25),
                ("big", 1700000030, 12345678901234567890.0), ("uni.é", 1700000040, 0.1)], points);
        }
        Assert.Equal<(string, double, double)?>([("by.tes", 1, 2)], Decode(pickles[6]).Points);
    }

    [Fact]
    public void Etsy_statsd_pickle_decodes()
    {
        // What Etsy statsd 0.9.0's graphite backend writes (protocol 0, the value as a string, the timestamp as a LONG).
        var pickle = "(l(S'stats.gauges.x'\n(L1700000000L\nS'12.5'\ntta(S'stats_counts.y;tag1=val1'\n(L1700000000L\nS'3'\ntta."u8.ToArray();
        var (error, points) = Decode(pickle);
        Assert.Equal(PickleError.None, error);
        Assert.Equal<(string, double, double)?>([("stats.gauges.x", 1700000000, 12.5), ("stats_counts.y;tag1=val1", 1700000000, 3)], points);
    }

    [Fact]
    public async Task Code_execution_pickles_are_refused_in_every_protocol()
    {
        var pickles = await PythonPickles.EvalAsync(
            "[pickle.dumps([Evil()], protocol=p) for p in range(6)] + [pickle.dumps([('a', (1, 2))], protocol=p)[:-1] + b'R.' for p in (0, 2)]" +
            " + [pickle.dumps({'a': 1}, protocol=2), pickle.dumps([{1, 2}], protocol=4), b'cos\\nsystem\\n(S\\'echo\\'\\ntR.']");
        foreach (var p in pickles) Assert.Equal(PickleError.Refused, Decode(p).Error);
    }

    [Fact]
    public void Shapes_carbon_skips_are_skipped_one_by_one()
    {
        // ('x', 1) is not (path, (ts, value)); ('y', (1, 'abc')) has no number; the last one is fine.
        var pickle = "(l(S'x'\nI1\nta(S'y'\n(I1\nS'abc'\ntta(S'z'\n(I5\nF2.5\ntta."u8.ToArray();
        var (error, points) = Decode(pickle);
        Assert.Equal(PickleError.None, error);
        Assert.Equal<(string, double, double)?>([null, null, ("z", 5, 2.5)], points);
    }

    [Theory]
    [InlineData("((l.")] // a mark left open
    [InlineData("(l")] // no STOP
    [InlineData("a.")] // APPEND on an empty stack
    [InlineData("N(a.")] // APPEND cannot reach below the mark
    [InlineData("S'abc\n.")] // unterminated quote
    [InlineData("g7\n.")] // memo key never put
    [InlineData("X\u00ff\u00ff\u00ff\u007f.")] // length beyond the frame
    [InlineData("I12x\n.")]
    public void Broken_pickles_are_malformed(string text)
    {
        var bytes = text.Select(c => (byte)c).ToArray();
        Assert.Equal(PickleError.Malformed, Decode(bytes).Error);
    }

    [Fact]
    public void Bounds_hold_and_are_named()
    {
        var small = new PickleLimits(4, 50, 10);
        Assert.Equal(PickleError.TooDeep, Decode("]((((((Ntttttt."u8.ToArray(), small).Error); // marks open at once
        Assert.Equal(PickleError.TooDeep, Decode(Encoding.ASCII.GetBytes("]]]]]" + "aaaa."), small).Error); // lists in lists
        // A list appended to itself (a cycle through the memo) grows deeper each time until the bound stops it.
        Assert.Equal(PickleError.TooDeep, Decode([(byte)']', (byte)'q', 0, .. Enumerable.Repeat(new byte[] { (byte)'h', 0, (byte)'a' }, 10).SelectMany(b => b), (byte)'.'], small).Error);
        Assert.Equal(PickleError.TooManyItems, Decode(Encoding.ASCII.GetBytes("(" + new string('N', 60) + "l."), small).Error);
        Assert.Equal(PickleError.TooManyItems, Decode(Encoding.ASCII.GetBytes("N" + new string('2', 60) + "."), small).Error); // DUP counts
        Assert.Equal(PickleError.MemoTooLarge, Decode([(byte)'N', (byte)'r', 0x40, 0x42, 0x0f, 0, (byte)'.'], small).Error);
        Assert.Equal(PickleError.MemoTooLarge, Decode("Np10\n."u8.ToArray(), small).Error);
        Assert.Equal(PickleError.None, Decode("]p9\n."u8.ToArray(), small).Error);
    }

    /// <summary>Random bytes, and real pickles with random bytes changed, never throw out of the decoder; a decoded frame stays within the bounds.</summary>
    [Property(MaxTest = 3000)]
    public Property Any_bytes_decode_or_fail_without_throwing() =>
        Prop.ForAll(
            (from seed in Gen.Elements(Seeds)
             from edits in Gen.ArrayOf(Gen.Zip(Gen.Choose(0, 4096), Gen.Choose(0, 255)))
             from random in Gen.ArrayOf(Gen.Choose(0, 255).Select(i => (byte)i))
             from useRandom in Gen.Elements(true, false)
             select (seed, edits, random, useRandom)).ToArbitrary(),
            c =>
            {
                var bytes = c.useRandom ? c.random : (byte[])c.seed.Clone();
                foreach (var (at, value) in c.edits) if (bytes.Length > 0) bytes[at % bytes.Length] = (byte)value;
                var limits = new PickleLimits(4, 64, 16);
                var d = new PickleDecoder(limits);
                var error = d.Decode(bytes);
                if (error == PickleError.None)
                {
                    if (d.Count > limits.MaxItems) return false;
                    for (var i = 0; i < d.Count; i++) d.TryGetPoint(bytes, i, out _, out _, out _);
                }
                // The same decoder is reused per connection: a frame after any other still decodes right.
                return d.Decode(Seeds[0]) == PickleError.None && d.Count == 2;
            });

    private static readonly byte[][] Seeds =
    [
        "(l(S'a.b'\n(L1700000000L\nS'1.5'\ntta(V\\u00e9\n(I1\nF2\ntta."u8.ToArray(),
        // protocol 2 as python3 writes [('a.b', (1700000000, 1.5)), ('c', (1, 2))]
        [0x80, 2, (byte)']', (byte)'q', 0, (byte)'(', (byte)'X', 3, 0, 0, 0, (byte)'a', (byte)'.', (byte)'b', (byte)'q', 1, (byte)'J', 0, 0xf1, 0x53, 0x65,
         (byte)'G', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x86, (byte)'q', 2, 0x86, (byte)'q', 3, (byte)'h', 1, (byte)'K', 1, (byte)'K', 2, 0x86, 0x86, (byte)'e', (byte)'.'],
    ];
}
