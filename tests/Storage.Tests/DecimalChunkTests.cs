using FsCheck.Xunit;
using Observe.Storage.Tsdb;

namespace Observe.Storage.Tests;

/// <summary>Issue 21: the decimal chunk encoding (m·10^e per value, one exponent per chunk) is exact, and chosen where it is smaller.</summary>
public class DecimalChunkTests
{
    private static readonly double[] Specials = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, 0.0,
        double.Epsilon, BitConverter.Int64BitsToDouble(0x000F_FFFF_FFFF_FFFF) /* largest subnormal */, double.MaxValue, double.MinValue,
        BitConverter.Int64BitsToDouble(unchecked((long)0xFFF8_0000_DEAD_BEEF)), BitConverter.Int64BitsToDouble(0x7FF0_0000_0000_0001) /* signalling NaN */,
        0.1 + 0.2, 1e22, 1e-22, 123456789012345.6];

    /// <summary>Decimal values m·10^e (any exponent the codec allows), optionally mixed with arbitrary doubles and specials.</summary>
    [Property(MaxTest = 500)]
    public bool Any_chunk_round_trips_bit_exactly(long[] mantissas, sbyte[] exps, double[] any, ulong[] raw, byte mix, long start)
    {
        int n = mantissas.Length;
        var ts = new long[n]; var vs = new double[n];
        int every = mix % 4 == 0 ? int.MaxValue : mix % 7 + 2; // every k-th value is not decimal (none for a quarter of the cases)
        for (int i = 0; i < n; i++)
        {
            ts[i] = unchecked(start + i * 10L);
            int e = exps.Length > 0 ? exps[i % exps.Length] % 23 : 0;
            long m = mantissas[i] % (1L << 53);
            vs[i] = (i + 1) % every != 0 ? (e < 0 ? m / Math.Pow(10, -e) : m * Math.Pow(10, e))
                : (i % 3) switch
                {
                    0 when any.Length > 0 => any[i % any.Length],
                    1 when raw.Length > 0 => BitConverter.Int64BitsToDouble((long)raw[i % raw.Length]),
                    _ => Specials[i % Specials.Length],
                };
        }
        var blobs = new List<byte[]> { Gorilla.Encode(ts, vs) };
        foreach (var enc in new[] { Gorilla.EncDecimalRaw, Gorilla.EncDecimalDelta, Gorilla.EncDecimalZigzag })
        {
            try { blobs.Add(Gorilla.Encode(ts, vs, enc)); }
            catch (ArgumentException) { if (every == int.MaxValue && n > 0 && AllShortDecimals(vs)) return false; } // must apply to pure decimal chunks
        }
        foreach (var blob in blobs)
        {
            var (dt, dv) = Gorilla.Decode(blob);
            if (!dt.SequenceEqual(ts) || !dv.Select(BitConverter.DoubleToInt64Bits).SequenceEqual(vs.Select(BitConverter.DoubleToInt64Bits)))
                return false;
        }
        return true;
    }

    /// <summary>Values k/100 with |k| &lt; 10^8 (not −0): every exponent is at least −2 and every mantissa small, so decimal must apply.</summary>
    private static bool AllShortDecimals(double[] vs) =>
        vs.All(v => BitConverter.DoubleToInt64Bits(v) != BitConverter.DoubleToInt64Bits(-0.0) && Math.Abs(v) < 1e6 && Math.Round(v * 100) / 100 == v);

    [Fact]
    public void Special_doubles_are_never_decimal_but_round_trip_in_a_mixed_chunk()
    {
        foreach (var special in Specials.Where(v => v is not (0.0 or 1e22 or 1e-22 or 123456789012345.6) || double.IsNegative(v)))
        {
            var vs = new[] { 1.5, special, 2.5, 3.0 };
            long[] ts = [10, 20, 30, 40];
            Assert.Throws<ArgumentException>(() => Gorilla.Encode(ts, vs, Gorilla.EncDecimalRaw));
            var (_, dv) = Gorilla.Decode(Gorilla.Encode(ts, vs));
            Assert.Equal(vs.Select(BitConverter.DoubleToInt64Bits), dv.Select(BitConverter.DoubleToInt64Bits));
        }
    }

    /// <summary>StatsD counters (rate count/10 and count) and integer timer statistics: decimal, smaller than rational (no per-point kind bit).</summary>
    [Fact]
    public void Counters_gauges_and_integer_timer_stats_choose_the_decimal_encoding_and_are_smaller()
    {
        var rnd = new Random(11);
        var ts = Enumerable.Range(0, 720).Select(i => 1_700_000_000L + i * 10).ToArray();
        var series = new[]
        {
            ts.Select(_ => rnd.Next(0, 50) / 10.0).ToArray(),        // counter rate
            ts.Select(_ => (double)rnd.Next(0, 50)).ToArray(),       // counter count
            ts.Select(_ => (double)rnd.Next(1, 40) * 45).ToArray(),  // timer sum
            ts.Select(_ => 5.0 + rnd.Next(0, 20)).ToArray(),         // timer lower
        };
        foreach (var vs in series)
        {
            var best = Gorilla.Encode(ts, vs);
            Assert.Contains(Gorilla.EncodingOf(best), new[] { Gorilla.EncDecimalRaw, Gorilla.EncDecimalDelta });
            int rational = Math.Min(Gorilla.Encode(ts, vs, Gorilla.EncRationalRaw).Length, Gorilla.Encode(ts, vs, Gorilla.EncRationalDelta).Length);
            Assert.True(best.Length < rational, $"decimal {best.Length} bytes, rational {rational}");
            Assert.Equal(vs.Select(BitConverter.DoubleToInt64Bits), Gorilla.Decode(best).Values.Select(BitConverter.DoubleToInt64Bits));
        }
    }

    [Fact]
    public void A_decimal_blob_with_an_impossible_flag_combination_is_rejected()
    {
        var blob = Gorilla.Encode([10, 20, 30], [0.5, 1.5, 2.5], Gorilla.EncDecimalRaw);
        Assert.True(Gorilla.TryValidate(blob, out _));
        var bad = (byte[])blob.Clone();
        bad[3] |= 3; // decimal has modes 0–2 only
        Assert.False(Gorilla.TryValidate(bad, out _));
    }
}
