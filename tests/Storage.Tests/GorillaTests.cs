using FsCheck.Xunit;
using Observe.Storage.Tsdb;

namespace Observe.Storage.Tests;

public class GorillaTests
{
    private static readonly double[] Specials = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, 0.0,
        double.Epsilon, double.MaxValue, double.MinValue, BitConverter.Int64BitsToDouble(unchecked((long)0xFFF8_0000_DEAD_BEEF))];

    [Property(MaxTest = 500)]
    public bool RoundTripsIrregularTimestampsAndAnyDouble(long start, int[] deltas, double[] values, ulong[] raw)
    {
        int n = deltas.Length;
        var ts = new long[n]; var vs = new double[n];
        for (int i = 0; i < n; i++)
        {
            ts[i] = i == 0 ? start : unchecked(ts[i - 1] + deltas[i]);
            vs[i] = (i % 4) switch
            {
                0 when values.Length > 0 => values[i % values.Length],
                1 when raw.Length > 0 => BitConverter.Int64BitsToDouble((long)raw[i % raw.Length]),
                2 => Specials[i % Specials.Length],
                _ => i > 0 ? vs[i - 1] : 1.5,
            };
        }
        var (dt, dv) = Gorilla.Decode(Gorilla.Encode(ts, vs));
        return dt.SequenceEqual(ts) && dv.Select(BitConverter.DoubleToInt64Bits).SequenceEqual(vs.Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void RegularSeriesCompressWell()
    {
        var ts = Enumerable.Range(0, 720).Select(i => 1_700_000_000L + i * 10).ToArray();
        var vs = ts.Select((_, i) => (double)(i % 3 == 0 ? 5 : 7)).ToArray();
        var blob = Gorilla.Encode(ts, vs);
        Assert.True(blob.Length < 720 * 0.6, $"{blob.Length} bytes");
        Assert.Equal(vs, Gorilla.Decode(blob).Values);
    }

    [Fact]
    public void CorruptOrTornBlobIsRejected()
    {
        var blob = Gorilla.Encode([1, 2, 3], [1.0, 2.0, 3.0]);
        Assert.True(Gorilla.TryValidate(blob, out var count) && count == 3);
        Assert.False(Gorilla.TryValidate(blob.AsSpan(0, blob.Length - 1), out _));
        var flipped = (byte[])blob.Clone();
        flipped[^1] ^= 0x10;
        Assert.False(Gorilla.TryValidate(flipped, out _));
        Assert.Throws<InvalidDataException>(() => Gorilla.Decode(flipped));
    }
}
