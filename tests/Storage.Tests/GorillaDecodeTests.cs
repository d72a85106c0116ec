using FsCheck.Xunit;
using Observe.Storage.Tsdb;

namespace Observe.Storage.Tests;

/// <summary><see cref="Gorilla.DecodeInto"/> (the fetch path's decoder) against <see cref="Gorilla.Decode"/>, bit for bit.</summary>
public class GorillaDecodeTests
{
    // One scratch for every case, as a fetching thread reuses it: nothing of a longer previous chunk may leak into the next.
    private static readonly ChunkScratch Scratch = new();
    private static readonly object Gate = new();

    private static readonly double[] Specials = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, 0.0,
        double.Epsilon, double.MaxValue, double.MinValue, BitConverter.Int64BitsToDouble(unchecked((long)0xFFF8_0000_DEAD_BEEF))];

    private static bool SameAsDecode(long[] ts, double[] vs)
    {
        var blobs = new List<byte[]> { Gorilla.Encode(ts, vs) };
        foreach (var enc in new[] { Gorilla.EncXor, Gorilla.EncRationalDelta, Gorilla.EncRationalRaw, Gorilla.EncSqrt,
                     Gorilla.EncDecimalRaw, Gorilla.EncDecimalDelta, Gorilla.EncDecimalZigzag })
            try { blobs.Add(Gorilla.Encode(ts, vs, enc)); }
            catch (ArgumentException) { } // the forced encoding does not apply
        lock (Gate)
            foreach (var blob in blobs)
            {
                // Decode is DecodeInto into fresh arrays: both must give back exactly what was encoded (the codec is lossless).
                var (dt, dv) = Gorilla.Decode(blob);
                Gorilla.DecodeInto(blob, Scratch);
                if (Scratch.Count != ts.Length || dt.Length != ts.Length) return false;
                for (int i = 0; i < ts.Length; i++)
                    if (Scratch.TsAt(i) != ts[i] || dt[i] != ts[i] || Bits(Scratch.Values[i]) != Bits(vs[i]) || Bits(dv[i]) != Bits(vs[i])) return false;
            }
        return true;
    }

    private static long Bits(double v) => BitConverter.DoubleToInt64Bits(v);

    /// <summary>Values that every decimal mode encodes: counts, rates (e = −1), milliseconds, large round numbers (e &gt; 0).</summary>
    [Property(MaxTest = 300)]
    public bool Decimal_chunks_in_every_mode(int[] nums, byte scale, long start, bool irregular)
    {
        int n = nums.Length, e = scale % 5 - 2;
        var ts = new long[n]; var vs = new double[n];
        for (int i = 0; i < n; i++)
        {
            ts[i] = i == 0 ? start : unchecked(ts[i - 1] + (irregular ? 1 + (nums[i] & 0xFF) : 10));
            vs[i] = e < 0 ? nums[i] / Math.Pow(10, -e) : nums[i] * Math.Pow(10, e);
        }
        if (n > 0 && Gorilla.EncodingOf(Gorilla.Encode(ts, vs, Gorilla.EncDecimalRaw)) != Gorilla.EncDecimalRaw) return false;
        return SameAsDecode(ts, vs);
    }

    /// <summary>
    /// Issue 21: decimal chunks (counters, integer timer statistics: most chunks) decode on the fetch path without
    /// allocating, in all three mantissa modes, with regular timestamps on the constant-step path.
    /// </summary>
    [Fact]
    public void Decimal_chunk_decodes_into_reused_buffers_without_allocating()
    {
        var ts = Enumerable.Range(0, 720).Select(i => 1_700_000_000L + i * 10).ToArray();
        var counter = ts.Select((_, i) => (double)(i * 37 % 1000)).ToArray();
        var rate = ts.Select((_, i) => (i * 7 % 500) / 10.0).ToArray();
        var rising = ts.Select((_, i) => i * 1000.0 + i % 3 * 100).ToArray();
        var blobs = new[]
        {
            Gorilla.Encode(ts, counter, Gorilla.EncDecimalRaw), Gorilla.Encode(ts, rate, Gorilla.EncDecimalDelta),
            Gorilla.Encode(ts, rising, Gorilla.EncDecimalZigzag), Gorilla.Encode(ts, rate),
        };
        var expected = new[] { counter, rate, rising, rate };
        Assert.Equal(Gorilla.EncDecimalRaw, Gorilla.EncodingOf(blobs[0]));
        Assert.True(Gorilla.EncodingOf(blobs[3]) >= Gorilla.EncDecimalRaw, "the smallest encoding of a rate chunk is decimal");
        var c = new ChunkScratch();
        foreach (var b in blobs) Gorilla.DecodeInto(b, c); // grows the buffers, compiles
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int k = 0; k < 50; k++)
            foreach (var b in blobs) Gorilla.DecodeInto(b, c);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024, $"200 decodes of decimal chunks allocated {allocated:N0} bytes");
        for (int j = 0; j < blobs.Length; j++)
        {
            Gorilla.DecodeInto(blobs[j], c);
            Assert.Equal((720, 1_700_000_000L, 10L), (c.Count, c.Ts0, c.Step));
            Assert.Equal(expected[j].Select(Bits), c.Values.Take(720).Select(Bits));
        }
    }

    [Property(MaxTest = 500)]
    public bool Irregular_timestamps_and_any_double(long start, int[] deltas, double[] values, ulong[] raw)
    {
        var (ts, vs) = GorillaTests.IrregularChunk(start, deltas, values, raw);
        return SameAsDecode(ts, vs);
    }

    /// <summary>Regular timestamps (the constant-step path) with StatsD-like values: integers, rates, means, std, repeats.</summary>
    [Property(MaxTest = 500)]
    public bool Regular_timestamps_and_statsd_values(int[] nums, byte[] dens, long start, ushort step, double[] other)
    {
        int n = nums.Length;
        long st = step == 0 ? 10 : step;
        var ts = new long[n]; var vs = new double[n];
        for (int i = 0; i < n; i++)
        {
            ts[i] = unchecked(start + i * st);
            int d = dens.Length > 0 ? Math.Max(1, (int)dens[i % dens.Length]) : 1;
            vs[i] = (i % 6) switch
            {
                0 => nums[i],
                1 => nums[i] / 10.0,
                2 => (double)nums[i] / d,
                3 => Math.Sqrt(Math.Abs((double)nums[i]) / (d * d)),
                4 => i > 0 ? vs[i - 1] : 0,
                _ => other.Length > 0 ? other[i % other.Length] : Specials[i % Specials.Length],
            };
        }
        return SameAsDecode(ts, vs);
    }

    /// <summary>Longer chunks of one kind (the single-kind and 3-bucket packed paths), as compaction writes them.</summary>
    [Property(MaxTest = 200)]
    public bool Long_regular_chunks(int seed, bool sparse)
    {
        var rnd = new Random(seed);
        int n = rnd.Next(1, 2000);
        var ts = new long[n]; var vs = new double[n];
        long t = 1_700_000_000 + rnd.Next(0, 10) * 10;
        for (int i = 0; i < n; i++)
        {
            t += sparse && rnd.Next(10) == 0 ? 10 * rnd.Next(2, 1000) : 10;
            ts[i] = t;
            vs[i] = rnd.Next(4) == 0 ? rnd.Next(-1 << 30, 1 << 30) : Math.Round(rnd.NextDouble() * 100, 1);
        }
        return SameAsDecode(ts, vs);
    }

    [Fact]
    public void Regular_chunk_decodes_no_timestamp_per_point()
    {
        var ts = Enumerable.Range(0, 720).Select(i => 1_700_000_000L + i * 10).ToArray();
        var vs = ts.Select((_, i) => i / 10.0).ToArray();
        var c = new ChunkScratch();
        Gorilla.DecodeInto(Gorilla.Encode(ts, vs), c);
        Assert.Equal((720, 1_700_000_000L, 10L), (c.Count, c.Ts0, c.Step));
        Assert.Equal(vs, c.Values.Take(720));
    }

    [Fact]
    public void Corrupt_or_torn_blob_is_rejected()
    {
        var blob = Gorilla.Encode([1, 2, 3], [1.0, 2.0, 3.0]);
        var flipped = (byte[])blob.Clone();
        flipped[^1] ^= 0x10;
        Assert.Throws<InvalidDataException>(() => Gorilla.DecodeInto(flipped, new ChunkScratch()));
        Assert.Throws<InvalidDataException>(() => Gorilla.DecodeInto(blob.AsSpan(0, blob.Length - 1), new ChunkScratch()));
    }
}

/// <summary>The slicing-by-8 CRC-32 (chunks, head rows) against the byte-at-a-time definition.</summary>
public class Crc32Tests
{
    private static uint Bytewise(byte[] data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var x in data)
        {
            c ^= x;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    [Fact]
    public void Check_value() => Assert.Equal(0xCBF43926u, Observe.Common.Crc32.Compute("123456789"u8));

    [Property(MaxTest = 300)]
    public bool Equals_the_bytewise_definition(byte[] a, byte[] b) =>
        Observe.Common.Crc32.Compute(a, b) == Bytewise([.. a, .. b]) && Observe.Common.Crc32.Compute(a) == Bytewise(a);
}
