using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;

namespace Observe.Common;

/// <summary>The one varint (LEB128, as protobuf and snappy write it) and zigzag implementation: the TSDB's head records
/// and chunks, remote-write protobuf and snappy headers all use it.</summary>
public static class BinaryCodec
{
    public static ulong ZigZag(long v) => (ulong)((v << 1) ^ (v >> 63));
    public static long UnZigZag(ulong z) => (long)(z >> 1) ^ -(long)(z & 1);

    public static int VarintSize(ulong v)
    {
        var n = 1;
        while (v >= 0x80) { v >>= 7; n++; }
        return n;
    }

    /// <summary>Writes <paramref name="v"/> at the start of <paramref name="dst"/> (room for 10 bytes); returns the bytes written.</summary>
    public static int WriteVarint(Span<byte> dst, ulong v)
    {
        var i = 0;
        while (v >= 0x80) { dst[i++] = (byte)(v | 0x80); v >>= 7; }
        dst[i++] = (byte)v;
        return i;
    }

    public static void WriteVarint(IBufferWriter<byte> w, ulong v) => w.Advance(WriteVarint(w.GetSpan(10), v));

    /// <summary>Reads a varint at <paramref name="p"/> and moves past it; <see cref="InvalidDataException"/> when it runs off the end or past 64 bits.</summary>
    public static ulong ReadVarint(ReadOnlySpan<byte> src, ref int p)
    {
        ulong v = 0; var shift = 0;
        while (true)
        {
            if (p >= src.Length || shift > 63) throw new InvalidDataException("varint");
            var b = src[p++];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return v;
            shift += 7;
        }
    }
}

/// <summary>CRC-32 (IEEE 802.3, as zlib): the TSDB's head records and chunks (on-disk format: do not change the polynomial).</summary>
public static class Crc32
{
    // Slicing-by-8: eight tables let the loop take 8 bytes per step instead of one (the store checks a chunk's CRC
    // each time it decodes one, issue 21). Table[0] is the classic byte table.
    private static readonly uint[][] Tables = Build();

    private static uint[][] Build()
    {
        var t = new uint[8][];
        for (int k = 0; k < 8; k++) t[k] = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[0][i] = c;
        }
        for (int i = 0; i < 256; i++)
            for (int k = 1; k < 8; k++) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
        return t;
    }

    public static uint Compute(ReadOnlySpan<byte> data) => Compute(data, []);

    /// <summary>CRC-32 of <paramref name="a"/> followed by <paramref name="b"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => ~Update(Update(0xFFFFFFFFu, a), b);

    private static uint Update(uint c, ReadOnlySpan<byte> data)
    {
        var t = Tables;
        uint[] t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3], t4 = t[4], t5 = t[5], t6 = t[6], t7 = t[7];
        while (data.Length >= 8)
        {
            uint one = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ c, two = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            c = t7[one & 0xFF] ^ t6[(one >> 8) & 0xFF] ^ t5[(one >> 16) & 0xFF] ^ t4[one >> 24]
                ^ t3[two & 0xFF] ^ t2[(two >> 8) & 0xFF] ^ t1[(two >> 16) & 0xFF] ^ t0[two >> 24];
            data = data[8..];
        }
        foreach (var x in data) c = t0[(c ^ x) & 0xFF] ^ (c >> 8);
        return c;
    }
}

/// <summary>CRC-32C (Castagnoli) with the hardware instruction where there is one: the disk spool's records (on-disk
/// format). Chainable via <c>seed</c>.</summary>
public static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data, uint seed)
    {
        var crc = ~seed;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (var b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }
}
