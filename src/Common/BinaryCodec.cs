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
    private static readonly uint[] Table = Build();

    private static uint[] Build()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }

    public static uint Compute(ReadOnlySpan<byte> data) => Compute(data, []);

    /// <summary>CRC-32 of <paramref name="a"/> followed by <paramref name="b"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var c = 0xFFFFFFFFu;
        foreach (var x in a) c = Table[(c ^ x) & 0xFF] ^ (c >> 8);
        foreach (var x in b) c = Table[(c ^ x) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
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
