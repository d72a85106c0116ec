using System.Buffers;
using System.Buffers.Binary;
using Observe.Collector;
using Observe.Storage.Sinks;
using Observe.TestSupport;

namespace Observe.Storage.Tests.Sinks;

/// <summary>The carbon sink's pickle frames, read back by python3's own pickle.loads (what carbon runs).</summary>
public class CarbonPickleEncoderTests
{
    private static List<byte[]> Frames(byte[] record)
    {
        var frames = new List<byte[]>();
        for (var pos = 0; pos < record.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(record.AsSpan(pos));
            frames.Add(record.AsSpan(pos + 4, length).ToArray());
            pos += 4 + length;
        }
        return frames;
    }

    private static async Task<List<string>> PythonRepr(IEnumerable<byte[]> frames) =>
        (await PythonPickles.EvalAsync("[repr(pickle.loads(base64.b64decode(b))).encode() for b in [" +
                                       string.Join(",", frames.Select(f => $"'{Convert.ToBase64String(f)}'")) + "]]"))
        .Select(b => System.Text.Encoding.UTF8.GetString(b)).ToList();

    [Fact]
    public async Task Python_reads_the_points_back_with_the_clients_tag_order()
    {
        var writer = new ArrayBufferWriter<byte>();
        var encoder = new CarbonPickleEncoder();
        Assert.True(encoder.KeepsClientTagOrder);
        encoder.Encode(new MetricBatch(1700000000, [
            new("stats.gauges.q", 12.5, 1700000000),
            new("foobar.count;tag1=val1;tag3=val3;tag2=val2", -0.1, 1700000010),
            new("ünï.x", 1e300, 4_000_000_000), // past 2038: LONG1
        ]), writer);
        var frames = Frames(writer.WrittenSpan.ToArray());
        Assert.Single(frames);
        Assert.Equal(["[('stats.gauges.q', (1700000000, 12.5)), ('foobar.count;tag1=val1;tag3=val3;tag2=val2', (1700000010, -0.1)), ('ünï.x', (4000000000, 1e+300))]"],
            await PythonRepr(frames));
    }

    [Fact]
    public async Task A_big_flush_is_split_into_frames_of_at_most_500_points()
    {
        var writer = new ArrayBufferWriter<byte>();
        new CarbonPickleEncoder().Encode(new MetricBatch(1, Enumerable.Range(0, 1201).Select(i => new MetricPoint($"m.{i}", i, 1)).ToList()), writer);
        var frames = Frames(writer.WrittenSpan.ToArray());
        Assert.Equal(3, frames.Count);
        var lengths = (await PythonPickles.EvalAsync("[str(len(pickle.loads(base64.b64decode(b)))).encode() for b in [" +
                                                     string.Join(",", frames.Select(f => $"'{Convert.ToBase64String(f)}'")) + "]]"))
            .Select(b => int.Parse(System.Text.Encoding.ASCII.GetString(b))).ToList();
        Assert.Equal([500, 500, 201], lengths);
    }
}
