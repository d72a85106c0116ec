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
        var (ts, vs) = IrregularChunk(start, deltas, values, raw);
        return RoundTrips(ts, vs);
    }

    /// <summary>A chunk from FsCheck's inputs: irregular timestamps, and values mixing any double, raw bit patterns, specials and repeats.</summary>
    internal static (long[] Ts, double[] Vs) IrregularChunk(long start, int[] deltas, double[] values, ulong[] raw)
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
        return (ts, vs);
    }

    private static bool RoundTrips(long[] ts, double[] vs)
    {
        foreach (var blob in new[] { Gorilla.Encode(ts, vs), Gorilla.Encode(ts, vs, Gorilla.EncXor),
                     Gorilla.Encode(ts, vs, Gorilla.EncRationalDelta), Gorilla.Encode(ts, vs, Gorilla.EncRationalRaw),
                     Gorilla.Encode(ts, vs, Gorilla.EncSqrt) })
        {
            var (dt, dv) = Gorilla.Decode(blob);
            if (!dt.SequenceEqual(ts) || !dv.Select(BitConverter.DoubleToInt64Bits).SequenceEqual(vs.Select(BitConverter.DoubleToInt64Bits)))
                return false;
        }
        return true;
    }

    /// <summary>StatsD-like values: integers, count/10 rates, sum/count means, decimals, mixed with arbitrary doubles.</summary>
    [Property(MaxTest = 500)]
    public bool RoundTripsRationalLikeValues(int[] nums, byte[] dens, double[] other, long start)
    {
        int n = nums.Length;
        var ts = new long[n]; var vs = new double[n];
        for (int i = 0; i < n; i++)
        {
            ts[i] = unchecked(start + i * 10L + (i % 7 == 0 ? 3 : 0));
            int d = dens.Length > 0 ? dens[i % dens.Length] : 1;
            vs[i] = (i % 5) switch
            {
                0 => nums[i],
                1 => nums[i] / 10.0,
                2 => d == 0 ? -0.0 : (double)nums[i] / d,
                3 => nums[i] / 1000.0 * (i % 2 == 0 ? 1 : 1e12),
                _ => other.Length > 0 ? other[i % other.Length] : Specials[i % Specials.Length],
            };
        }
        return RoundTrips(ts, vs);
    }

    [Fact]
    public void Statsd_rates_and_means_are_smaller_than_xor()
    {
        var rnd = new Random(3);
        var ts = Enumerable.Range(0, 720).Select(i => 1_700_000_000L + i * 10).ToArray();
        var rates = ts.Select(_ => rnd.Next(0, 50) / 10.0).ToArray();
        var means = ts.Select(_ => { int c = rnd.Next(1, 40); return rnd.Next(c * 5, c * 200) / (double)c; }).ToArray();
        foreach (var vs in new[] { rates, means })
        {
            var best = Gorilla.Encode(ts, vs);
            Assert.NotEqual(Gorilla.EncXor, Gorilla.EncodingOf(best));
            var xor = Gorilla.Encode(ts, vs, Gorilla.EncXor).Length;
            Assert.True(best.Length * 3 < xor * 2, $"{best.Length} vs XOR {xor}");
            Assert.Equal(vs, Gorilla.Decode(best).Values);
        }
    }

    /// <summary>Etsy's timer std (sqrt of the mean squared deviation, in floating point) is stored as sqrt(N/c²) ± ulps.</summary>
    [Fact]
    public void Statsd_std_is_smaller_than_xor_and_exact()
    {
        var rnd = new Random(5);
        var ts = Enumerable.Range(0, 720).Select(i => 1_700_000_000L + i * 10).ToArray();
        var std = ts.Select(_ =>
        {
            var xs = Enumerable.Range(0, rnd.Next(1, 40)).Select(_ => 5.0 + (int)(-Math.Log(1 - rnd.NextDouble()) * 40)).ToArray();
            double mean = xs.Sum() / xs.Length, diffs = 0;
            foreach (var x in xs) diffs += (x - mean) * (x - mean);
            return Math.Sqrt(diffs / xs.Length);
        }).ToArray();
        var best = Gorilla.Encode(ts, std);
        Assert.Equal(Gorilla.EncSqrt, Gorilla.EncodingOf(best));
        var xor = Gorilla.Encode(ts, std, Gorilla.EncXor).Length;
        Assert.True(best.Length * 3 < xor * 2, $"{best.Length} vs XOR {xor}");
        Assert.Equal(std.Select(BitConverter.DoubleToInt64Bits), Gorilla.Decode(best).Values.Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void Regular_series_compress_well()
    {
        var ts = Enumerable.Range(0, 720).Select(i => 1_700_000_000L + i * 10).ToArray();
        var vs = ts.Select((_, i) => (double)(i % 3 == 0 ? 5 : 7)).ToArray();
        var blob = Gorilla.Encode(ts, vs);
        Assert.True(blob.Length < 720 * 0.6, $"{blob.Length} bytes");
        Assert.Equal(vs, Gorilla.Decode(blob).Values);
    }

    [Fact]
    public void Corrupt_or_torn_blob_is_rejected()
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
