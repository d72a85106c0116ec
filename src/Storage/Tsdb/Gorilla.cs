using System.Buffers.Binary;
using Observe.Common;
using static Observe.Common.BinaryCodec;

namespace Observe.Storage.Tsdb;

/// <summary>MSB-first bit writer over a caller-provided, zeroed span. No allocation.</summary>
internal ref struct BitWriter
{
    private readonly Span<byte> _buf;
    private int _bit;
    public BitWriter(Span<byte> buffer) { _buf = buffer; _bit = 0; }
    public readonly int BitLength => _bit;
    public readonly int ByteLength => (_bit + 7) >> 3;

    public void Write(ulong value, int bits)
    {
        if (bits == 0) return;
        int pos = _bit >> 3, off = _bit & 7;
        if (bits <= 56 && pos + 8 <= _buf.Length)
        {
            // The span is zeroed past the write position: OR the bits into one big-endian word.
            ulong v = bits == 64 ? value : value & ((1UL << bits) - 1);
            ulong word = BinaryPrimitives.ReadUInt64BigEndian(_buf[pos..]) | (v << (64 - off - bits));
            BinaryPrimitives.WriteUInt64BigEndian(_buf[pos..], word);
            _bit += bits;
            return;
        }
        while (bits > 0)
        {
            off = _bit & 7;
            int free = 8 - off, take = Math.Min(free, bits);
            ulong chunk = (value >> (bits - take)) & ((1UL << take) - 1);
            _buf[_bit >> 3] |= (byte)(chunk << (free - take));
            _bit += take;
            bits -= take;
        }
    }

    public void WriteBit(bool b) { if (b) _buf[_bit >> 3] |= (byte)(0x80 >> (_bit & 7)); _bit++; }
}

/// <summary>MSB-first bit reader; throws <see cref="InvalidDataException"/> when reading past the end.</summary>
internal ref struct BitReader
{
    private readonly ReadOnlySpan<byte> _buf;
    private int _bit;
    public BitReader(ReadOnlySpan<byte> buffer) { _buf = buffer; _bit = 0; }

    public ulong Read(int bits)
    {
        if (_bit + bits > _buf.Length * 8) throw new InvalidDataException("bit stream truncated");
        if (bits == 0) return 0;
        int pos = _bit >> 3, off = _bit & 7;
        if (bits <= 56 && pos + 8 <= _buf.Length)
        {
            // One unaligned big-endian load covers off + bits <= 63 bits.
            ulong word = BinaryPrimitives.ReadUInt64BigEndian(_buf[pos..]);
            _bit += bits;
            return (word << off) >> (64 - bits);
        }
        ulong v = 0;
        while (bits > 0)
        {
            off = _bit & 7;
            int avail = 8 - off, take = Math.Min(avail, bits);
            ulong chunk = (ulong)(_buf[_bit >> 3] >> (avail - take)) & ((1UL << take) - 1);
            v = (v << take) | chunk;
            _bit += take;
            bits -= take;
        }
        return v;
    }

    public bool ReadBit()
    {
        if (_bit >= _buf.Length * 8) throw new InvalidDataException("bit stream truncated");
        bool b = (_buf[_bit >> 3] & (0x80 >> (_bit & 7))) != 0;
        _bit++;
        return b;
    }
}

/// <summary>
/// Chunk codec (docs/storage.md). Blob: magic "OG" | version 2 | flags | crc32 u32 (over every other byte) | bit stream.
/// flags bits 0–1: value encoding, bit 2: timestamp mode. The bit stream holds count, then the timestamps, then the
/// values, each as separate streams so that every stream gets its own bit widths:
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
internal static class Gorilla
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
    public static byte EncodingOf(ReadOnlySpan<byte> blob) => (byte)(blob[3] & 3);

    private static byte[] EncodeCore(ReadOnlySpan<long> ts, ReadOnlySpan<double> values, int forced)
    {
        if (ts.Length != values.Length) throw new ArgumentException("length mismatch");
        int n = ts.Length;
        var steps = SteppedTimestamps(ts, out long g);
        byte[]? best = null;
        int bestLen = int.MaxValue;
        byte bestFlags = 0;
        if (forced is < 0 or EncXor)
        {
            var buf = new byte[MaxEncodedSize(n)];
            var w = new BitWriter(buf.AsSpan(HeaderSize));
            WriteTimestamps(ref w, ts, steps, g);
            WriteXorValues(ref w, values);
            best = buf; bestLen = w.ByteLength; bestFlags = EncXor;
        }
        int rationals = 0;
        if (forced is < 0 or EncRationalDelta or EncRationalRaw)
        {
            var a = RationalAnalysis.Of(values);
            rationals = a.Rational;
            if (a.Rational > 0 || forced >= 0)
            {
                bool delta = forced == EncRationalDelta || (forced < 0 && a.DeltaCost < a.RawCost);
                var buf = new byte[MaxEncodedSize(n)];
                var w = new BitWriter(buf.AsSpan(HeaderSize));
                WriteTimestamps(ref w, ts, steps, g);
                WriteRationalValues(ref w, values, a, delta);
                if (w.ByteLength < bestLen) { best = buf; bestLen = w.ByteLength; bestFlags = delta ? EncRationalDelta : EncRationalRaw; }
            }
        }
        if (forced == EncSqrt || (forced < 0 && n > 0 && rationals < n / 2))
        {
            // Mostly full-entropy doubles: try the square-root form statsd's std has.
            var sq = SqrtAnalysis.Of(values, forced == EncSqrt);
            if (sq != null)
            {
                var buf = new byte[MaxEncodedSize(n)];
                var w = new BitWriter(buf.AsSpan(HeaderSize));
                WriteTimestamps(ref w, ts, steps, g);
                WriteSqrtValues(ref w, values, sq);
                if (w.ByteLength < bestLen) { best = buf; bestLen = w.ByteLength; bestFlags = EncSqrt; }
            }
        }
        if (steps != null) bestFlags |= TsStepped;
        var blob = best!.AsSpan(0, HeaderSize + bestLen).ToArray();
        blob[0] = (byte)'O'; blob[1] = (byte)'G'; blob[2] = Version; blob[3] = bestFlags;
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(4), Checksum(blob));
        return blob;
    }

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

    // ---- timestamps ----

    /// <summary>delta/g − 1 per point after the first when every delta is positive (no overflow); else null.</summary>
    private static long[]? SteppedTimestamps(ReadOnlySpan<long> ts, out long g)
    {
        g = 0;
        if (ts.Length < 2) return null;
        var d = new long[ts.Length - 1];
        for (int i = 1; i < ts.Length; i++)
        {
            long delta = unchecked(ts[i] - ts[i - 1]);
            if (ts[i] <= ts[i - 1] || delta <= 0) return null;
            d[i - 1] = delta;
            g = Gcd(g, delta);
        }
        for (int i = 0; i < d.Length; i++) d[i] = d[i] / g - 1;
        // Keep delta-of-delta when it is smaller (irregular timestamps).
        long dod = 0, prev = 0;
        for (int i = 1; i < ts.Length; i++) { long delta = ts[i] - ts[i - 1]; dod += DodBits(delta - prev); prev = delta; }
        return LongBits(g) + PlanFor(d).CostBits <= dod ? d : null;
    }

    private static long Gcd(long a, long b) { while (b != 0) (a, b) = (b, a % b); return a; }

    private static int DodBits(long dod) => dod == 0 ? 1 : dod >= -64 && dod <= 63 ? 9 : dod >= -256 && dod <= 255 ? 12 : dod >= -2048 && dod <= 2047 ? 16 : 68;

    private static void WriteTimestamps(ref BitWriter w, ReadOnlySpan<long> ts, long[]? steps, long g)
    {
        WriteLong(ref w, ts.Length);
        if (ts.Length == 0) return;
        WriteLong(ref w, ts[0]);
        if (steps != null)
        {
            WriteLong(ref w, g);
            WritePacked(ref w, steps);
            return;
        }
        long prevTs = ts[0], prevDelta = 0;
        for (int i = 1; i < ts.Length; i++)
        {
            long delta = unchecked(ts[i] - prevTs);
            WriteDod(ref w, unchecked(delta - prevDelta));
            prevDelta = delta; prevTs = ts[i];
        }
    }

    private static void WriteDod(ref BitWriter w, long dod)
    {
        if (dod == 0) w.WriteBit(false);
        else if (dod >= -64 && dod <= 63) { w.Write(0b10, 2); w.Write((ulong)dod & 0x7F, 7); }
        else if (dod >= -256 && dod <= 255) { w.Write(0b110, 3); w.Write((ulong)dod & 0x1FF, 9); }
        else if (dod >= -2048 && dod <= 2047) { w.Write(0b1110, 4); w.Write((ulong)dod & 0xFFF, 12); }
        else { w.Write(0b1111, 4); w.Write((ulong)dod, 64); }
    }

    private static long ReadDod(ref BitReader r)
    {
        if (!r.ReadBit()) return 0;
        if (!r.ReadBit()) return SignExtend(r.Read(7), 7);
        if (!r.ReadBit()) return SignExtend(r.Read(9), 9);
        if (!r.ReadBit()) return SignExtend(r.Read(12), 12);
        return (long)r.Read(64);
    }

    // ---- values ----

    /// <summary>XOR of a value with the previous one (x != 0): '0' reuse window, '1' lead(5) len(6) new window.</summary>
    private static void WriteXor(ref BitWriter w, ulong x, ref int prevLead, ref int prevTrail)
    {
        int lead = Math.Min(System.Numerics.BitOperations.LeadingZeroCount(x), 31);
        int trail = System.Numerics.BitOperations.TrailingZeroCount(x);
        if (prevLead >= 0 && lead >= prevLead && trail >= prevTrail)
        {
            w.WriteBit(false);
            w.Write(x >> prevTrail, 64 - prevLead - prevTrail);
        }
        else
        {
            int len = 64 - lead - trail;
            w.WriteBit(true);
            w.Write((ulong)lead, 5);
            w.Write((ulong)(len & 63), 6); // 64 encoded as 0
            w.Write(x >> trail, len);
            prevLead = lead; prevTrail = trail;
        }
    }

    private static ulong ReadXor(ref BitReader r, ref int lead, ref int trail)
    {
        if (r.ReadBit())
        {
            lead = (int)r.Read(5);
            int len = (int)r.Read(6);
            if (len == 0) len = 64;
            trail = 64 - lead - len;
            if (trail < 0) throw new InvalidDataException("corrupt chunk");
        }
        else if (lead < 0) throw new InvalidDataException("corrupt chunk");
        return r.Read(64 - lead - trail) << trail;
    }

    /// <summary>Encoding 0: first value raw, then '0' (same bits) or '1' + XOR with the previous value.</summary>
    private static void WriteXorValues(ref BitWriter w, ReadOnlySpan<double> values)
    {
        if (values.Length == 0) return;
        ulong prevBits = (ulong)BitConverter.DoubleToInt64Bits(values[0]);
        w.Write(prevBits, 64);
        int prevLead = -1, prevTrail = 0;
        for (int i = 1; i < values.Length; i++)
        {
            ulong bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            ulong x = bits ^ prevBits;
            prevBits = bits;
            if (x == 0) { w.WriteBit(false); continue; }
            w.WriteBit(true);
            WriteXor(ref w, x, ref prevLead, ref prevTrail);
        }
    }

    private const byte KindSame = 0, KindSameQ = 1, KindNewQ = 2, KindXor = 3;

    /// <summary>Per value: its kind, divisor index and S (for the rational encodings), and the sizes of both S streams.</summary>
    private sealed class RationalAnalysis
    {
        public required byte[] Kind;
        public required long[] NewQ;
        public required long[] S;
        public required long[] SDelta;
        public required int[] KindCounts;
        public int Rational;
        public long RawCost, DeltaCost;

        public static RationalAnalysis Of(ReadOnlySpan<double> values)
        {
            int n = values.Length;
            var kind = new byte[n];
            var counts = new int[4];
            var newQ = new List<long>();
            var s = new List<long>(n);
            ulong prevBits = 0;
            int prevQ = 0;
            for (int i = 0; i < n; i++)
            {
                ulong bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
                byte k;
                if (bits == prevBits) k = KindSame;
                else
                {
                    // Prefer the current divisor (rates stay /10 even when a value is also /2).
                    int q = -1;
                    long sv;
                    if (TryRational(values[i], Divisors[prevQ], out sv)) q = prevQ;
                    else
                        for (int j = 0; j < Divisors.Length; j++)
                            if (j != prevQ && TryRational(values[i], Divisors[j], out sv)) { q = j; break; }
                    if (q < 0) k = KindXor;
                    else
                    {
                        k = q == prevQ ? KindSameQ : KindNewQ;
                        if (k == KindNewQ) { newQ.Add(q); prevQ = q; }
                        s.Add(sv);
                    }
                    prevBits = bits;
                }
                kind[i] = k;
                counts[k]++;
            }
            var sArr = s.ToArray();
            var dArr = new long[sArr.Length];
            for (int i = 0; i < sArr.Length; i++) dArr[i] = sArr[i] - (i > 0 ? sArr[i - 1] : 0);
            return new RationalAnalysis
            {
                Kind = kind, NewQ = [.. newQ], S = sArr, SDelta = dArr, KindCounts = counts, Rational = sArr.Length,
                RawCost = PlanFor(sArr).CostBits, DeltaCost = PlanFor(dArr).CostBits,
            };
        }
    }

    /// <summary>
    /// Kind table (used kinds − 1 in 2 bits, then each used kind in 2 bits, most frequent first), one prefix code per
    /// point ('' for one kind; '0'/'1' for two; '0','10','11' for three; '0','10','110','111' for four), the packed
    /// new-q indexes, the packed S stream, then the XOR stream.
    /// </summary>
    private static void WriteRationalValues(ref BitWriter w, ReadOnlySpan<double> values, RationalAnalysis a, bool delta)
    {
        if (values.Length == 0) return;
        WriteKinds(ref w, a.Kind, a.KindCounts);
        WritePacked(ref w, a.NewQ);
        WritePacked(ref w, delta ? a.SDelta : a.S);
        WriteXorStream(ref w, values, a.Kind, KindSame, KindXor);
    }

    /// <summary>
    /// The XOR stream shared by the per-value encodings: values of kind <paramref name="xor"/> XORed against the last
    /// value not of kind <paramref name="same"/> (other kinds are carried by their own streams but still move the base).
    /// </summary>
    private static void WriteXorStream(ref BitWriter w, ReadOnlySpan<double> values, byte[] kinds, byte same, byte xor)
    {
        ulong prevBits = 0;
        int prevLead = -1, prevTrail = 0;
        for (int i = 0; i < values.Length; i++)
        {
            if (kinds[i] == same) continue;
            ulong bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            if (kinds[i] == xor) WriteXor(ref w, bits ^ prevBits, ref prevLead, ref prevTrail);
            prevBits = bits;
        }
    }

    private static void WriteRank(ref BitWriter w, int rank, int used)
    {
        if (used == 1) return;
        if (used == 2) { w.WriteBit(rank == 1); return; }
        if (rank == 0) w.WriteBit(false);
        else if (used == 3) w.Write(rank == 1 ? 0b10UL : 0b11UL, 2);
        else if (rank == 1) w.Write(0b10, 2);
        else w.Write(rank == 2 ? 0b110UL : 0b111UL, 3);
    }

    private static int ReadRank(ref BitReader r, int used)
    {
        if (used == 1) return 0;
        if (used == 2) return r.ReadBit() ? 1 : 0;
        if (!r.ReadBit()) return 0;
        if (!r.ReadBit()) return 1;
        if (used == 3) return 2;
        return r.ReadBit() ? 3 : 2;
    }

    private const byte SqKindSame = 0, SqKindRoot = 1, SqKindXor = 2;

    /// <summary>
    /// Encoding 3, for statsd's timer <c>std = sqrt(Σ(x − mean)² / n)</c>: mathematically <c>sqrt(N / c²)</c> with
    /// integers N = c·Σx² − (Σx)² and c = n, but computed in floating point, so a few ulps off. A value is stored as c,
    /// N and the difference in ulps from <c>Math.Sqrt((double)N / (c·c))</c> (IEEE-exact on every platform), so it
    /// is lossless.
    /// </summary>
    private sealed class SqrtAnalysis
    {
        public required byte[] Kind;
        public required long[] C, N, Ulps;
        public required int[] KindCounts;

        public static SqrtAnalysis? Of(ReadOnlySpan<double> values, bool always)
        {
            int n = values.Length, roots = 0;
            var kind = new byte[n];
            var counts = new int[3];
            var c = new List<long>(); var nn = new List<long>(); var ulps = new List<long>();
            ulong prevBits = 0;
            int prevC = 1;
            for (int i = 0; i < n; i++)
            {
                ulong bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
                byte k = SqKindXor;
                if (bits == prevBits) k = SqKindSame;
                else if (values[i] >= 0 && TryRoot(values[i], prevC, out long N, out long u) is var cc && cc > 0)
                {
                    k = SqKindRoot; c.Add(cc); nn.Add(N); ulps.Add(u); prevC = cc; roots++;
                }
                if (k != SqKindSame) prevBits = bits;
                kind[i] = k; counts[k]++;
            }
            if (roots < n / 4 && !always) return null;
            return new SqrtAnalysis { Kind = kind, C = [.. c], N = [.. nn], Ulps = [.. ulps], KindCounts = counts };
        }

        /// <summary>The smallest c in 1..64 (the previous one first) with v = sqrt(N/c²) ± 64 ulps; 0 if none.</summary>
        private static int TryRoot(double v, int hint, out long N, out long ulps)
        {
            if (TryC(v, hint, out N, out ulps)) return hint;
            for (int c = 1; c <= 64; c++) if (c != hint && TryC(v, c, out N, out ulps)) return c;
            return 0;
        }

        private static bool TryC(double v, int c, out long N, out long ulps)
        {
            N = 0; ulps = 0;
            double q = (double)c * c, x = v * v * q;
            if (!(x < MaxExact)) return false;
            double r = Math.Round(x);
            if (Math.Abs(x - r) > 1e-6 + x * 1e-12) return false; // not an integer over c²: skip the square root
            N = (long)r;
            ulps = BitConverter.DoubleToInt64Bits(v) - BitConverter.DoubleToInt64Bits(Math.Sqrt(N / q));
            return ulps is >= -64 and <= 64;
        }
    }

    /// <summary>Kind table and per-point codes as in <see cref="WriteRationalValues"/>, then packed c, N, ulps, then the XOR stream.</summary>
    private static void WriteSqrtValues(ref BitWriter w, ReadOnlySpan<double> values, SqrtAnalysis a)
    {
        WriteKinds(ref w, a.Kind, a.KindCounts);
        WritePacked(ref w, a.C);
        WritePacked(ref w, a.N);
        WritePacked(ref w, a.Ulps);
        WriteXorStream(ref w, values, a.Kind, SqKindSame, SqKindXor);
    }

    /// <summary>Used kinds − 1 (2 bits), each used kind (2 bits, most frequent first), then one prefix code per point.</summary>
    private static void WriteKinds(ref BitWriter w, byte[] kinds, int[] kindCounts)
    {
        Span<int> ranked = stackalloc int[4];
        int used = 0;
        for (int k = 0; k < kindCounts.Length; k++) if (kindCounts[k] > 0) ranked[used++] = k;
        for (int i = 1; i < used; i++)
            for (int j = i; j > 0 && kindCounts[ranked[j]] > kindCounts[ranked[j - 1]]; j--) (ranked[j], ranked[j - 1]) = (ranked[j - 1], ranked[j]);
        Span<int> rank = stackalloc int[4];
        w.Write((ulong)(used - 1), 2);
        for (int i = 0; i < used; i++) { w.Write((ulong)ranked[i], 2); rank[ranked[i]] = i; }
        foreach (var k in kinds) WriteRank(ref w, rank[k], used);
    }

    private static byte[] ReadKinds(ref BitReader r, int count)
    {
        int used = (int)r.Read(2) + 1;
        Span<int> kindOf = stackalloc int[4];
        for (int i = 0; i < used; i++) kindOf[i] = (int)r.Read(2);
        var kinds = new byte[count];
        for (int i = 0; i < count; i++) kinds[i] = (byte)kindOf[ReadRank(ref r, used)];
        return kinds;
    }

    // ---- validate / decode ----

    /// <summary>Validates the header and checksum; false for torn or corrupt blobs. <paramref name="count"/> is read from the stream.</summary>
    public static bool TryValidate(ReadOnlySpan<byte> blob, out int count)
    {
        count = 0;
        if (blob.Length < HeaderSize + 1 || blob[0] != 'O' || blob[1] != 'G' || blob[2] != Version || (blob[3] & ~7) != 0) return false;
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
