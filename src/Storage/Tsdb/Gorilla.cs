using System.Buffers.Binary;

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
/// Chunk codec. Timestamps: Gorilla delta-of-delta (Pelkonen et al. 2015). Values: chosen per chunk at seal time,
/// whichever is smallest (byte 3 of the header):
/// <list type="bullet">
/// <item>0 — Gorilla XOR'd doubles (leading/meaningful-bits window).</item>
/// <item>1 / 2 — "rational": every value that is bit-exactly <c>S / q</c> for an integer |S| &lt; 2^53 and q in
/// {1, 10, …, 10^6, 2 … 64} (integer counts, statsd rates <c>count/10</c>, means <c>sum/count</c>, averages of
/// integers) is stored as S (1: zigzag delta from the previous S, 2: zigzag S) with q only when it changes;
/// any other double falls back to an XOR against the previous value. Repeated values cost one bit.</item>
/// </list>
/// Every encoding is lossless (the encoder checks <c>(double)S / q</c> reproduces the value's bits).
/// Blob layout: magic "OG" (2) | version 1 (1) | encoding (1) | count u32 | payloadLength u32 | crc32(payload) u32 | payload.
/// A blob whose length, magic or checksum do not match is rejected (torn write / corruption).
/// </summary>
internal static class Gorilla
{
    public const int HeaderSize = 16;
    private const byte Version = 1;
    public const byte EncXor = 0, EncRationalDelta = 1, EncRationalRaw = 2;

    /// <summary>Divisors tried, in order; the index (7 bits) is what the stream stores.</summary>
    private static readonly double[] Divisors = BuildDivisors();
    private static double[] BuildDivisors()
    {
        var l = new List<double> { 1, 10, 100, 1000, 10_000, 100_000, 1_000_000 };
        for (int q = 2; q <= 64; q++) if (q != 10) l.Add(q);
        return [.. l];
    }
    private const double MaxExact = 9007199254740992.0; // 2^53

    public static int MaxEncodedSize(int count) => HeaderSize + 8 + count * 21 + 16;

    /// <summary>Encodes with every value encoding and returns the smallest blob.</summary>
    public static byte[] Encode(ReadOnlySpan<long> ts, ReadOnlySpan<double> values)
    {
        if (ts.Length != values.Length) throw new ArgumentException("length mismatch");
        var buf = new byte[MaxEncodedSize(ts.Length)];
        int best = EncodeInto(ts, values, buf.AsSpan(HeaderSize));
        byte bestEnc = EncXor;
        // Rational encodings only pay off when most values are rational; find each value's divisor once.
        var qi = new sbyte[values.Length];
        var sv = new long[values.Length];
        int rational = 0;
        for (int i = 0; i < values.Length; i++)
        {
            qi[i] = -1;
            for (int k = 0; k < Divisors.Length; k++)
                if (TryRational(values[i], Divisors[k], out sv[i])) { qi[i] = (sbyte)k; rational++; break; }
        }
        if (rational > 0)
        {
            var tmp = new byte[buf.Length];
            foreach (var enc in new[] { EncRationalDelta, EncRationalRaw })
            {
                Array.Clear(tmp);
                int n = EncodeRational(ts, values, qi, sv, enc == EncRationalDelta, tmp.AsSpan(HeaderSize));
                if (n < best) { best = n; bestEnc = enc; (buf, tmp) = (tmp, buf); }
            }
        }
        WriteHeader(buf, ts.Length, best, bestEnc);
        return buf.AsSpan(0, HeaderSize + best).ToArray();
    }

    /// <summary>Encodes with one given value encoding (tests).</summary>
    public static byte[] Encode(ReadOnlySpan<long> ts, ReadOnlySpan<double> values, byte encoding)
    {
        var buf = new byte[MaxEncodedSize(ts.Length)];
        int n;
        if (encoding == EncXor) n = EncodeInto(ts, values, buf.AsSpan(HeaderSize));
        else
        {
            var qi = new sbyte[values.Length]; var sv = new long[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                qi[i] = -1;
                for (int k = 0; k < Divisors.Length; k++) if (TryRational(values[i], Divisors[k], out sv[i])) { qi[i] = (sbyte)k; break; }
            }
            n = EncodeRational(ts, values, qi, sv, encoding == EncRationalDelta, buf.AsSpan(HeaderSize));
        }
        WriteHeader(buf, ts.Length, n, encoding);
        return buf.AsSpan(0, HeaderSize + n).ToArray();
    }

    /// <summary>The value encoding of a validated blob.</summary>
    public static byte EncodingOf(ReadOnlySpan<byte> blob) => blob[3];

    private static bool TryRational(double v, double q, out long s)
    {
        s = 0;
        double m = v * q;
        if (!(Math.Abs(m) < MaxExact)) return false; // also NaN/inf
        s = (long)Math.Round(m);
        return BitConverter.DoubleToInt64Bits(s / q) == BitConverter.DoubleToInt64Bits(v);
    }

    private static void WriteHeader(Span<byte> buf, int count, int payloadLength, byte encoding)
    {
        buf[0] = (byte)'O'; buf[1] = (byte)'G'; buf[2] = Version; buf[3] = encoding;
        BinaryPrimitives.WriteUInt32LittleEndian(buf[4..], (uint)count);
        BinaryPrimitives.WriteUInt32LittleEndian(buf[8..], (uint)payloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(buf[12..], Crc32.Compute(buf.Slice(HeaderSize, payloadLength)));
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

    /// <summary>Unsigned integer in buckets: '0'+3, '10'+7, '110'+11, '1110'+16 bits, '1111' + 6-bit length L + L bits.</summary>
    private static void WriteUInt(ref BitWriter w, ulong z)
    {
        if (z < 8) { w.WriteBit(false); w.Write(z, 3); }
        else if (z < 128) { w.Write(0b10, 2); w.Write(z, 7); }
        else if (z < 2048) { w.Write(0b110, 3); w.Write(z, 11); }
        else if (z < 65536) { w.Write(0b1110, 4); w.Write(z, 16); }
        else
        {
            int len = 64 - System.Numerics.BitOperations.LeadingZeroCount(z); // 17..64
            w.Write(0b1111, 4); w.Write((ulong)(len & 63), 6); w.Write(z, len);
        }
    }

    private static ulong ReadUInt(ref BitReader r)
    {
        if (!r.ReadBit()) return r.Read(3);
        if (!r.ReadBit()) return r.Read(7);
        if (!r.ReadBit()) return r.Read(11);
        if (!r.ReadBit()) return r.Read(16);
        int len = (int)r.Read(6);
        return r.Read(len == 0 ? 64 : len);
    }

    private static ulong ZigZag(long v) => (ulong)((v << 1) ^ (v >> 63));
    private static long UnZigZag(ulong z) => (long)(z >> 1) ^ -(long)(z & 1);

    /// <summary>
    /// Rational stream, per point after the timestamp: '0' same bits as previous value; '10' + S (same divisor);
    /// '110' + divisor index (7 bits) + S; '111' + XOR with the previous value. S is zigzag(S - prevS) when
    /// <paramref name="delta"/>, else zigzag(S). Initial state: previous value +0.0, S 0, divisor 1.
    /// </summary>
    private static int EncodeRational(ReadOnlySpan<long> ts, ReadOnlySpan<double> values, sbyte[] qi, long[] sv, bool delta, Span<byte> dest)
    {
        var w = new BitWriter(dest);
        if (ts.Length == 0) return 0;
        w.Write((ulong)ts[0], 64);
        long prevTs = ts[0], prevDelta = 0;
        ulong prevBits = 0;
        long prevS = 0;
        int prevQ = 0, prevLead = -1, prevTrail = 0;
        for (int i = 0; i < ts.Length; i++)
        {
            if (i > 0)
            {
                long d = ts[i] - prevTs;
                WriteDod(ref w, d - prevDelta);
                prevDelta = d; prevTs = ts[i];
            }
            ulong bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            if (bits == prevBits) { w.WriteBit(false); continue; }
            int q = qi[i];
            long s = sv[i];
            if (q >= 0 && q != prevQ && TryRational(values[i], Divisors[prevQ], out long s2)) { q = prevQ; s = s2; }
            if (q < 0)
            {
                w.Write(0b111, 3);
                WriteXor(ref w, bits ^ prevBits, ref prevLead, ref prevTrail);
            }
            else
            {
                if (q == prevQ) w.Write(0b10, 2);
                else { w.Write(0b110, 3); w.Write((ulong)q, 7); prevQ = q; }
                WriteUInt(ref w, ZigZag(delta ? s - prevS : s));
                prevS = s;
            }
            prevBits = bits;
        }
        return w.ByteLength;
    }

    /// <summary>Gorilla XOR encoding into a zeroed span; returns bytes written.</summary>
    public static int EncodeInto(ReadOnlySpan<long> ts, ReadOnlySpan<double> values, Span<byte> dest)
    {
        var w = new BitWriter(dest);
        if (ts.Length == 0) return 0;
        w.Write((ulong)ts[0], 64);
        ulong prevBits = (ulong)BitConverter.DoubleToInt64Bits(values[0]);
        w.Write(prevBits, 64);
        long prevTs = ts[0], prevDelta = 0;
        int prevLead = -1, prevTrail = 0;
        for (int i = 1; i < ts.Length; i++)
        {
            long delta = ts[i] - prevTs;
            WriteDod(ref w, delta - prevDelta);
            prevDelta = delta; prevTs = ts[i];

            ulong bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            ulong x = bits ^ prevBits;
            prevBits = bits;
            if (x == 0) { w.WriteBit(false); continue; }
            w.WriteBit(true);
            WriteXor(ref w, x, ref prevLead, ref prevTrail);
        }
        return w.ByteLength;
    }

    /// <summary>Validates the header and checksum; false for torn or corrupt blobs.</summary>
    public static bool TryValidate(ReadOnlySpan<byte> blob, out int count)
    {
        count = 0;
        if (blob.Length < HeaderSize || blob[0] != 'O' || blob[1] != 'G' || blob[2] != Version || blob[3] > EncRationalRaw) return false;
        count = (int)BinaryPrimitives.ReadUInt32LittleEndian(blob[4..]);
        int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(blob[8..]);
        if (len < 0 || blob.Length != HeaderSize + len || count < 0) return false;
        return BinaryPrimitives.ReadUInt32LittleEndian(blob[12..]) == Crc32.Compute(blob.Slice(HeaderSize, len));
    }

    /// <summary>Decodes a validated blob. Throws <see cref="InvalidDataException"/> when corrupt.</summary>
    public static (long[] Ts, double[] Values) Decode(ReadOnlySpan<byte> blob)
    {
        if (!TryValidate(blob, out int count)) throw new InvalidDataException("corrupt chunk");
        if (count > blob.Length * 8) throw new InvalidDataException("corrupt chunk");
        var ts = new long[count];
        var vals = new double[count];
        if (count == 0) return (ts, vals);
        var r = new BitReader(blob[HeaderSize..]);
        ts[0] = (long)r.Read(64);
        long prevDelta = 0;
        int lead = -1, trail = 0;
        if (blob[3] == EncXor)
        {
            ulong prevBits = r.Read(64);
            vals[0] = BitConverter.Int64BitsToDouble((long)prevBits);
            for (int i = 1; i < count; i++)
            {
                prevDelta += ReadDod(ref r);
                ts[i] = ts[i - 1] + prevDelta;
                if (r.ReadBit()) prevBits ^= ReadXor(ref r, ref lead, ref trail);
                vals[i] = BitConverter.Int64BitsToDouble((long)prevBits);
            }
            return (ts, vals);
        }
        bool delta = blob[3] == EncRationalDelta;
        ulong bits = 0;
        long prevS = 0;
        int q = 0;
        for (int i = 0; i < count; i++)
        {
            if (i > 0)
            {
                prevDelta += ReadDod(ref r);
                ts[i] = ts[i - 1] + prevDelta;
            }
            if (r.ReadBit())
            {
                if (!r.ReadBit()) { }
                else if (!r.ReadBit())
                {
                    q = (int)r.Read(7);
                    if (q >= Divisors.Length) throw new InvalidDataException("corrupt chunk");
                }
                else
                {
                    bits ^= ReadXor(ref r, ref lead, ref trail);
                    vals[i] = BitConverter.Int64BitsToDouble((long)bits);
                    continue;
                }
                long z = UnZigZag(ReadUInt(ref r));
                long s = delta ? prevS + z : z;
                prevS = s;
                bits = (ulong)BitConverter.DoubleToInt64Bits(s / Divisors[q]);
            }
            vals[i] = BitConverter.Int64BitsToDouble((long)bits);
        }
        return (ts, vals);
    }

    private static long SignExtend(ulong v, int bits) => (long)(v << (64 - bits)) >> (64 - bits);
}

internal static class Crc32
{
    private static readonly uint[] Table = Build();
    private static uint[] Build()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}
