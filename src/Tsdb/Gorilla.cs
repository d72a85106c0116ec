using System.Buffers.Binary;
using Observe.Common;
using static Observe.Common.BinaryCodec;

namespace Observe.Storage.Tsdb;

/// <summary>
/// Chunk codec (docs/storage.md). Blob: magic "OG" | version 2 | flags | crc32 u32 (over every other byte) | bit stream.
/// flags bits 0–1: value encoding, bit 2: timestamp mode, bit 3: decimal values (encodings 4–6, GorillaDecimal.cs). The bit stream holds count, then the
/// timestamps, then the values, each as separate streams so that every stream gets its own bit widths:
/// <list type="bullet">
/// <item>Timestamps: the first one, then either "stepped" (every delta is a positive multiple of their gcd g: g, then
/// delta/g − 1 as packed integers — 0 bits per point for a regular series) or Gorilla delta-of-delta buckets.</item>
/// <item>Values, encoding 0 — Gorilla XOR'd doubles (leading/meaningful-bits window).</item>
/// <item>Values, encoding 1 / 2 — "rational": every value that is bit-exactly <c>S / q</c> for an integer |S| &lt; 2^53
/// and q in {1, 10, …, 10^6, 2 … 64} (integer counts, statsd rates <c>count/10</c>, means <c>sum/count</c>, averages of
/// integers) is stored as S. Per point a kind: same bits as the previous value, S with the same q, S with a new q, or
/// XOR with the previous value (any other double). The kinds get a prefix code ranked by their frequency in the
/// chunk; then the new q indexes, the S values (1: S − previous S, 2: S) and the XOR stream follow.</item>
/// </list>
/// Integer streams are "packed": frame of reference (minimum) plus 1–3 bit-width buckets chosen per stream to
/// minimise its size. Every encoding is lossless (the encoder checks <c>(double)S / q</c> reproduces the value's bits).
/// A blob whose length, magic or checksum do not match is rejected (torn write / corruption).
/// </summary>
internal static partial class Gorilla
{
    public const int HeaderSize = 8;
    private const byte Version = 2;
    public const byte EncXor = 0, EncRationalDelta = 1, EncRationalRaw = 2, EncSqrt = 3;
    private const byte TsStepped = 4;
    private const int MaxCount = 1 << 24;

    /// <summary>Divisors tried, in order; the index is what the stream stores.</summary>
    private static readonly double[] Divisors = BuildDivisors();
    private static double[] BuildDivisors()
    {
        var l = new List<double> { 1, 10, 100, 1000, 10_000, 100_000, 1_000_000 };
        for (int q = 2; q <= 64; q++) if (q != 10) l.Add(q);
        return [.. l];
    }
    private const double MaxExact = 9007199254740992.0; // 2^53

    public static int MaxEncodedSize(int count) => HeaderSize + 256 + count * 48;

    /// <summary>Encodes with the smallest value encoding.</summary>
    public static byte[] Encode(ReadOnlySpan<long> ts, ReadOnlySpan<double> values) => EncodeCore(ts, values, -1);

    /// <summary>Encodes with one given value encoding (tests).</summary>
    public static byte[] Encode(ReadOnlySpan<long> ts, ReadOnlySpan<double> values, byte encoding) => EncodeCore(ts, values, encoding);

    /// <summary>The value encoding of a validated blob.</summary>
    public static byte EncodingOf(ReadOnlySpan<byte> blob) => (byte)((blob[3] & 3) | ((blob[3] & DecimalFlag) >> 1));

    private static byte[] EncodeCore(ReadOnlySpan<long> ts, ReadOnlySpan<double> values, int forced)
    {
        if (ts.Length != values.Length) throw new ArgumentException("length mismatch");
        int n = ts.Length, size = MaxEncodedSize(n);
        // Each trial encodes into a zeroed scratch buffer (the bit writer ORs bits in): compaction re-encodes every
        // active tail chunk each time, so the buffers are kept per thread and only their written bytes cleared.
        bool rent = size <= MaxScratch;
        var best = rent ? (t_best ??= new byte[MaxScratch]) : new byte[size];
        var trial = rent ? (t_trial ??= new byte[MaxScratch]) : new byte[size];
        if (rent) t_best = t_trial = null; // an exception below leaves them dirty: they are returned only when clean
        var steps = SteppedTimestamps(ts, out long g);
        int bestLen = int.MaxValue;
        byte bestFlags = 0;
        void Keep(ref BitWriter w, byte flags)
        {
            int len = w.ByteLength;
            if (len < bestLen)
            {
                if (bestLen != int.MaxValue) best.AsSpan(HeaderSize, bestLen).Clear();
                (best, trial) = (trial, best);
                bestLen = len; bestFlags = flags;
            }
            else trial.AsSpan(HeaderSize, len).Clear();
        }
        // Decimal first: it decodes fastest, so it wins ties (GorillaDecimal.cs).
        if ((forced is < 0 or EncDecimalRaw or EncDecimalDelta or EncDecimalZigzag) && DecimalAnalysis.Of(values) is { } dec)
        {
            int mode = forced < 0 ? dec.Smallest : forced - EncDecimalRaw;
            var w = new BitWriter(trial.AsSpan(HeaderSize, size - HeaderSize));
            WriteTimestamps(ref w, ts, steps, g);
            WriteDecimalValues(ref w, dec, mode);
            Keep(ref w, (byte)(DecimalFlag | mode));
        }
        if (forced is < 0 or EncXor)
        {
            var w = new BitWriter(trial.AsSpan(HeaderSize, size - HeaderSize));
            WriteTimestamps(ref w, ts, steps, g);
            WriteXorValues(ref w, values);
            Keep(ref w, EncXor);
        }
        int rationals = 0;
        if (forced is < 0 or EncRationalDelta or EncRationalRaw)
        {
            var a = RationalAnalysis.Of(values);
            rationals = a.Rational;
            if (a.Rational > 0 || forced >= 0)
            {
                bool delta = forced == EncRationalDelta || (forced < 0 && a.DeltaCost < a.RawCost);
                var w = new BitWriter(trial.AsSpan(HeaderSize, size - HeaderSize));
                WriteTimestamps(ref w, ts, steps, g);
                WriteRationalValues(ref w, values, a, delta);
                Keep(ref w, delta ? EncRationalDelta : EncRationalRaw);
            }
        }
        if (forced == EncSqrt || (forced < 0 && n > 0 && rationals < n / 2))
        {
            // Mostly full-entropy doubles: try the square-root form statsd's std has.
            var sq = SqrtAnalysis.Of(values, forced == EncSqrt);
            if (sq != null)
            {
                var w = new BitWriter(trial.AsSpan(HeaderSize, size - HeaderSize));
                WriteTimestamps(ref w, ts, steps, g);
                WriteSqrtValues(ref w, values, sq);
                Keep(ref w, EncSqrt);
            }
        }
        if (bestLen == int.MaxValue) throw new ArgumentException("the forced encoding does not apply to these values");
        if (steps != null) bestFlags |= TsStepped;
        var blob = best.AsSpan(0, HeaderSize + bestLen).ToArray();
        best.AsSpan(HeaderSize, bestLen).Clear();
        if (rent) { t_best = best; t_trial = trial; }
        blob[0] = (byte)'O'; blob[1] = (byte)'G'; blob[2] = Version; blob[3] = bestFlags;
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(4), Checksum(blob));
        return blob;
    }

    /// <summary>Scratch buffers of <see cref="EncodeCore"/>, per thread, for chunks up to 1 000 points (a tail holds 720).</summary>
    private static readonly int MaxScratch = MaxEncodedSize(1000);
    [ThreadStatic] private static byte[]? t_best, t_trial;

    private static uint Checksum(ReadOnlySpan<byte> blob) => Crc32.Compute(blob[..4], blob[HeaderSize..]);

    private static bool TryRational(double v, double q, out long s)
    {
        s = 0;
        double m = v * q;
        if (!(Math.Abs(m) < MaxExact)) return false; // also NaN/inf
        double r = Math.Round(m);
        // A value S/q times q lands within a few ulps of S: skip the division for everything else.
        if (Math.Abs(m - r) > Math.Abs(m) * 1e-12) return false;
        s = (long)r;
        return BitConverter.DoubleToInt64Bits(s / q) == BitConverter.DoubleToInt64Bits(v);
    }

    // ---- integer helpers ----

    private static int BitLen(ulong u) => 64 - System.Numerics.BitOperations.LeadingZeroCount(u);

    /// <summary>A signed integer as 7-bit length + zigzag bits.</summary>
    private static void WriteLong(ref BitWriter w, long v)
    {
        ulong z = ZigZag(v);
        int len = BitLen(z);
        w.Write((ulong)len, 7);
        w.Write(z, len);
    }

    private static long ReadLong(ref BitReader r)
    {
        int len = (int)r.Read(7);
        if (len > 64) throw new InvalidDataException("corrupt chunk");
        return UnZigZag(r.Read(len));
    }

    private static int LongBits(long v) => 7 + BitLen(ZigZag(v));

    /// <summary>Bucket plan of a packed stream: frame of reference + 1–3 widths (ascending; the last holds every value).</summary>
    private readonly record struct Plan(long Base, int Buckets, int W1, int W2, int W3, long CostBits);

    private static Plan PlanFor(ReadOnlySpan<long> v)
    {
        int n = v.Length;
        if (n == 0) return new Plan(0, 0, 0, 0, 0, 0);
        long min = v[0];
        foreach (var x in v) if (x < min) min = x;
        Span<int> cum = stackalloc int[65];
        cum.Clear();
        int wmax = 0;
        foreach (var x in v)
        {
            int b = BitLen(unchecked((ulong)(x - min)));
            cum[b]++;
            if (b > wmax) wmax = b;
        }
        for (int i = 1; i <= 64; i++) cum[i] += cum[i - 1];
        long head = LongBits(min) + 2;
        var best = new Plan(min, 1, wmax, 0, 0, head + 7 + (long)n * wmax);
        for (int w1 = 0; w1 < wmax; w1++)
        {
            long c2 = head + 14 + n + (long)cum[w1] * w1 + (long)(n - cum[w1]) * wmax;
            if (c2 < best.CostBits) best = new Plan(min, 2, w1, wmax, 0, c2);
            for (int w2 = w1 + 1; w2 < wmax; w2++)
            {
                long c3 = head + 21 + (long)cum[w1] * (1 + w1) + (long)(cum[w2] - cum[w1]) * (2 + w2) + (long)(n - cum[w2]) * (2 + wmax);
                if (c3 < best.CostBits) best = new Plan(min, 3, w1, w2, wmax, c3);
            }
        }
        return best;
    }

    /// <summary>Packed integers: base, bucket count (2 bits), widths (7 bits each), then per value a selector and its bits.</summary>
    private static void WritePacked(ref BitWriter w, ReadOnlySpan<long> v)
    {
        if (v.Length == 0) return;
        var p = PlanFor(v);
        WriteLong(ref w, p.Base);
        w.Write((ulong)p.Buckets, 2);
        w.Write((ulong)p.W1, 7);
        if (p.Buckets >= 2) w.Write((ulong)p.W2, 7);
        if (p.Buckets == 3) w.Write((ulong)p.W3, 7);
        foreach (var x in v)
        {
            ulong u = unchecked((ulong)(x - p.Base));
            int b = BitLen(u);
            if (p.Buckets == 1) w.Write(u, p.W1);
            else if (b <= p.W1) { w.WriteBit(false); w.Write(u, p.W1); }
            else if (p.Buckets == 2) { w.WriteBit(true); w.Write(u, p.W2); }
            else if (b <= p.W2) { w.Write(0b10, 2); w.Write(u, p.W2); }
            else { w.Write(0b11, 2); w.Write(u, p.W3); }
        }
    }

    private static void ReadPacked(ref BitReader r, Span<long> dst)
    {
        if (dst.Length == 0) return;
        long bas = ReadLong(ref r);
        int buckets = (int)r.Read(2);
        if (buckets == 0) throw new InvalidDataException("corrupt chunk");
        int w1 = (int)r.Read(7), w2 = buckets >= 2 ? (int)r.Read(7) : 0, w3 = buckets == 3 ? (int)r.Read(7) : 0;
        if (w1 > 64 || w2 > 64 || w3 > 64) throw new InvalidDataException("corrupt chunk");
        for (int i = 0; i < dst.Length; i++)
        {
            int width = buckets == 1 || !r.ReadBit() ? w1 : buckets == 2 || !r.ReadBit() ? w2 : w3;
            dst[i] = unchecked(bas + (long)r.Read(width));
        }
    }

    // ---- validate / decode ----

    /// <summary>Validates the header and checksum; false for torn or corrupt blobs. <paramref name="count"/> is read from the stream.</summary>
    public static bool TryValidate(ReadOnlySpan<byte> blob, out int count)
    {
        count = 0;
        if (blob.Length < HeaderSize + 1 || blob[0] != 'O' || blob[1] != 'G' || blob[2] != Version || (blob[3] & ~(7 | DecimalFlag)) != 0
            || (blob[3] & (DecimalFlag | 3)) == (DecimalFlag | 3)) return false;
        if (BinaryPrimitives.ReadUInt32LittleEndian(blob[4..]) != Checksum(blob)) return false;
        try
        {
            var r = new BitReader(blob[HeaderSize..]);
            long c = ReadLong(ref r);
            if (c < 0 || c > MaxCount) return false;
            count = (int)c;
            return true;
        }
        catch (InvalidDataException) { return false; }
    }

    /// <summary>Decodes a blob. Throws <see cref="InvalidDataException"/> when corrupt.</summary>
    public static (long[] Ts, double[] Values) Decode(ReadOnlySpan<byte> blob)
    {
        if (!TryValidate(blob, out int count)) throw new InvalidDataException("corrupt chunk");
        var ts = new long[count];
        var vals = new double[count];
        var r = new BitReader(blob[HeaderSize..]);
        ReadLong(ref r); // count
        if (count == 0) return (ts, vals);
        ts[0] = ReadLong(ref r);
        if ((blob[3] & TsStepped) != 0)
        {
            long g = ReadLong(ref r);
            ReadPacked(ref r, ts.AsSpan(1));
            for (int i = 1; i < count; i++) ts[i] = unchecked(ts[i - 1] + (ts[i] + 1) * g);
        }
        else
        {
            long prevDelta = 0;
            for (int i = 1; i < count; i++)
            {
                prevDelta = unchecked(prevDelta + ReadDod(ref r));
                ts[i] = unchecked(ts[i - 1] + prevDelta);
            }
        }
        if ((blob[3] & DecimalFlag) != 0) { DecodeDecimalValues(ref r, blob[3] & 3, vals); return (ts, vals); }
        int lead = -1, trail = 0;
        int enc = blob[3] & 3;
        if (enc == EncXor)
        {
            ulong prevBits = r.Read(64);
            vals[0] = BitConverter.Int64BitsToDouble((long)prevBits);
            for (int i = 1; i < count; i++)
            {
                if (r.ReadBit()) prevBits ^= ReadXor(ref r, ref lead, ref trail);
                vals[i] = BitConverter.Int64BitsToDouble((long)prevBits);
            }
            return (ts, vals);
        }
        var kinds = ReadKinds(ref r, count);
        if (enc == EncSqrt) { DecodeSqrt(ref r, kinds, vals); return (ts, vals); }
        int newQ = 0, rational = 0;
        foreach (var k in kinds)
        {
            if (k == KindNewQ) newQ++;
            if (k is KindSameQ or KindNewQ) rational++;
        }
        var qs = new long[newQ];
        var ss = new long[rational];
        ReadPacked(ref r, qs);
        ReadPacked(ref r, ss);
        bool delta = enc == EncRationalDelta;
        ulong bits = 0;
        long prevS = 0;
        int q = 0, qi = 0, si = 0;
        for (int i = 0; i < count; i++)
        {
            switch (kinds[i])
            {
                case KindXor:
                    bits ^= ReadXor(ref r, ref lead, ref trail);
                    break;
                case KindNewQ:
                case KindSameQ:
                    if (kinds[i] == KindNewQ)
                    {
                        long nq = qs[qi++];
                        if ((ulong)nq >= (ulong)Divisors.Length) throw new InvalidDataException("corrupt chunk");
                        q = (int)nq;
                    }
                    long s = delta ? unchecked(prevS + ss[si]) : ss[si];
                    si++;
                    prevS = s;
                    bits = (ulong)BitConverter.DoubleToInt64Bits(s / Divisors[q]);
                    break;
            }
            vals[i] = BitConverter.Int64BitsToDouble((long)bits);
        }
        return (ts, vals);
    }

    private static void DecodeSqrt(ref BitReader r, byte[] kinds, double[] vals)
    {
        int roots = 0;
        foreach (var k in kinds) if (k == SqKindRoot) roots++;
        var c = new long[roots]; var nn = new long[roots]; var ulps = new long[roots];
        ReadPacked(ref r, c); ReadPacked(ref r, nn); ReadPacked(ref r, ulps);
        ulong bits = 0;
        int lead = -1, trail = 0, ri = 0;
        for (int i = 0; i < kinds.Length; i++)
        {
            if (kinds[i] == SqKindXor) bits ^= ReadXor(ref r, ref lead, ref trail);
            else if (kinds[i] == SqKindRoot)
            {
                if ((ulong)(c[ri] - 1) >= 64 || (ulong)nn[ri] >= (ulong)MaxExact) throw new InvalidDataException("corrupt chunk");
                double q = (double)c[ri] * c[ri];
                bits = unchecked((ulong)(BitConverter.DoubleToInt64Bits(Math.Sqrt(nn[ri] / q)) + ulps[ri]));
                ri++;
            }
            else if (kinds[i] != SqKindSame) throw new InvalidDataException("corrupt chunk");
            vals[i] = BitConverter.Int64BitsToDouble((long)bits);
        }
    }

    private static long SignExtend(ulong v, int bits) => (long)(v << (64 - bits)) >> (64 - bits);
}
