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

    // ---- validate (decoding: GorillaDecode.cs) ----

    /// <summary>Validates the header and checksum; false for torn or corrupt blobs. <paramref name="count"/> is read from the stream.</summary>
    public static bool TryValidate(ReadOnlySpan<byte> blob, out int count)
    {
        count = 0;
        if (blob.Length < HeaderSize + 1 || blob[0] != 'O' || blob[1] != 'G' || blob[2] != Version || (blob[3] & ~(7 | DecimalFlag)) != 0
            || (blob[3] & (DecimalFlag | 3)) == (DecimalFlag | 3)) return false;
        if (BinaryPrimitives.ReadUInt32LittleEndian(blob[4..]) != Checksum(blob)) return false;
        try
        {
            // The count is the stream's first field (at most 71 bits): read from a padded copy of its first bytes.
            Span<byte> head = stackalloc byte[24];
            int len = Math.Min(blob.Length - HeaderSize, 16);
            blob.Slice(HeaderSize, len).CopyTo(head);
            var r = new FastBitReader(head, len, 0);
            long c = ReadLong(ref r);
            if (c < 0 || c > MaxCount) return false;
            count = (int)c;
            return true;
        }
        catch (InvalidDataException) { return false; }
    }

    private static long SignExtend(ulong v, int bits) => (long)(v << (64 - bits)) >> (64 - bits);
}
