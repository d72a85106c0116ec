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
        while (bits > 0)
        {
            int off = _bit & 7, free = 8 - off, take = Math.Min(free, bits);
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
        ulong v = 0;
        while (bits > 0)
        {
            int off = _bit & 7, avail = 8 - off, take = Math.Min(avail, bits);
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
/// Gorilla chunk codec (Pelkonen et al. 2015): delta-of-delta timestamps and XOR'd doubles.
/// Blob layout: magic "OG" (2) | version (1) | reserved (1) | count u32 | payloadLength u32 | crc32(payload) u32 | payload.
/// A blob whose length, magic or checksum do not match is rejected (torn write / corruption).
/// </summary>
internal static class Gorilla
{
    public const int HeaderSize = 16;
    private const byte Version = 1;

    public static int MaxEncodedSize(int count) => HeaderSize + 8 + count * 19 + 8;

    public static byte[] Encode(ReadOnlySpan<long> ts, ReadOnlySpan<double> values)
    {
        if (ts.Length != values.Length) throw new ArgumentException("length mismatch");
        var buf = new byte[MaxEncodedSize(ts.Length)];
        int payload = EncodeInto(ts, values, buf.AsSpan(HeaderSize));
        WriteHeader(buf, ts.Length, payload);
        return buf.AsSpan(0, HeaderSize + payload).ToArray();
    }

    private static void WriteHeader(Span<byte> buf, int count, int payloadLength)
    {
        buf[0] = (byte)'O'; buf[1] = (byte)'G'; buf[2] = Version; buf[3] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(buf[4..], (uint)count);
        BinaryPrimitives.WriteUInt32LittleEndian(buf[8..], (uint)payloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(buf[12..], Crc32.Compute(buf.Slice(HeaderSize, payloadLength)));
    }

    /// <summary>Encodes into a zeroed span; returns bytes written.</summary>
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
            long dod = delta - prevDelta;
            if (dod == 0) w.WriteBit(false);
            else if (dod >= -64 && dod <= 63) { w.Write(0b10, 2); w.Write((ulong)dod & 0x7F, 7); }
            else if (dod >= -256 && dod <= 255) { w.Write(0b110, 3); w.Write((ulong)dod & 0x1FF, 9); }
            else if (dod >= -2048 && dod <= 2047) { w.Write(0b1110, 4); w.Write((ulong)dod & 0xFFF, 12); }
            else { w.Write(0b1111, 4); w.Write((ulong)dod, 64); }
            prevDelta = delta; prevTs = ts[i];

            ulong bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            ulong x = bits ^ prevBits;
            prevBits = bits;
            if (x == 0) { w.WriteBit(false); continue; }
            int lead = Math.Min(System.Numerics.BitOperations.LeadingZeroCount(x), 31);
            int trail = System.Numerics.BitOperations.TrailingZeroCount(x);
            if (prevLead >= 0 && lead >= prevLead && trail >= prevTrail)
            {
                w.Write(0b10, 2);
                int len = 64 - prevLead - prevTrail;
                w.Write(x >> prevTrail, len);
            }
            else
            {
                int len = 64 - lead - trail;
                w.Write(0b11, 2);
                w.Write((ulong)lead, 5);
                w.Write((ulong)(len & 63), 6); // 64 encoded as 0
                w.Write(x >> trail, len);
                prevLead = lead; prevTrail = trail;
            }
        }
        return w.ByteLength;
    }

    /// <summary>Validates the header and checksum; false for torn or corrupt blobs.</summary>
    public static bool TryValidate(ReadOnlySpan<byte> blob, out int count)
    {
        count = 0;
        if (blob.Length < HeaderSize || blob[0] != 'O' || blob[1] != 'G' || blob[2] != Version) return false;
        count = (int)BinaryPrimitives.ReadUInt32LittleEndian(blob[4..]);
        int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(blob[8..]);
        if (len < 0 || blob.Length != HeaderSize + len || count < 0) return false;
        return BinaryPrimitives.ReadUInt32LittleEndian(blob[12..]) == Crc32.Compute(blob.Slice(HeaderSize, len));
    }

    /// <summary>Decodes a validated blob. Throws <see cref="InvalidDataException"/> when corrupt.</summary>
    public static (long[] Ts, double[] Values) Decode(ReadOnlySpan<byte> blob)
    {
        if (!TryValidate(blob, out int count)) throw new InvalidDataException("corrupt chunk");
        var ts = new long[count];
        var vals = new double[count];
        if (count == 0) return (ts, vals);
        var r = new BitReader(blob[HeaderSize..]);
        ts[0] = (long)r.Read(64);
        ulong prevBits = r.Read(64);
        vals[0] = BitConverter.Int64BitsToDouble((long)prevBits);
        long prevDelta = 0;
        int lead = 0, trail = 0;
        for (int i = 1; i < count; i++)
        {
            long dod;
            if (!r.ReadBit()) dod = 0;
            else if (!r.ReadBit()) dod = SignExtend(r.Read(7), 7);
            else if (!r.ReadBit()) dod = SignExtend(r.Read(9), 9);
            else if (!r.ReadBit()) dod = SignExtend(r.Read(12), 12);
            else dod = (long)r.Read(64);
            prevDelta += dod;
            ts[i] = ts[i - 1] + prevDelta;

            if (!r.ReadBit()) { vals[i] = BitConverter.Int64BitsToDouble((long)prevBits); continue; }
            if (r.ReadBit())
            {
                lead = (int)r.Read(5);
                int len = (int)r.Read(6);
                if (len == 0) len = 64;
                trail = 64 - lead - len;
                if (trail < 0) throw new InvalidDataException("corrupt chunk");
            }
            int meaningful = 64 - lead - trail;
            ulong x = r.Read(meaningful) << trail;
            prevBits ^= x;
            vals[i] = BitConverter.Int64BitsToDouble((long)prevBits);
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
