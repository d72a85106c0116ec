using System.Buffers.Binary;
using System.Numerics;
using static Observe.Common.BinaryCodec;

namespace Observe.Storage.Sinks.Prometheus;

/// <summary>
/// Snappy's block format (the framing-less one Prometheus remote-write requires): a varint of the
/// uncompressed length, then literals and back-references. The encoder follows the reference
/// algorithm (64 KiB fragments, a hash table of 4-byte sequences, skipping faster through
/// incompressible input); the decoder exists to prove the encoder and checks every bound.
/// </summary>
internal static class SnappyBlock
{
    private const int FragmentSize = 1 << 16;
    private const int MaxTableBits = 14;
    // The encoder reads up to 8 bytes ahead of a match; near a fragment's end it only emits literals.
    private const int InputMargin = 16 - 1;
    private const int MinNonLiteralFragment = 1 + 1 + InputMargin;

    /// <summary>Largest output <see cref="Encode"/> may write for <paramref name="sourceLength"/> bytes (snappy's MaxEncodedLen).</summary>
    public static int MaxEncodedLength(int sourceLength) => 32 + sourceLength + sourceLength / 6;

    /// <summary>Compresses <paramref name="source"/> into <paramref name="destination"/> (at least <see cref="MaxEncodedLength"/> long); returns the bytes written.</summary>
    public static int Encode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (destination.Length < MaxEncodedLength(source.Length)) throw new ArgumentException("destination too small", nameof(destination));
        var d = WriteVarint(destination, (uint)source.Length);
        Span<ushort> table = stackalloc ushort[1 << MaxTableBits];
        while (source.Length > 0)
        {
            var fragment = source.Length > FragmentSize ? source[..FragmentSize] : source;
            source = source[fragment.Length..];
            d += fragment.Length < MinNonLiteralFragment
                ? EmitLiteral(destination[d..], fragment)
                : EncodeFragment(destination[d..], fragment, table);
        }
        return d;
    }

    public static byte[] Encode(ReadOnlySpan<byte> source)
    {
        var buffer = new byte[MaxEncodedLength(source.Length)];
        return buffer.AsSpan(0, Encode(source, buffer)).ToArray();
    }

    private static int EncodeFragment(Span<byte> dst, ReadOnlySpan<byte> src, Span<ushort> fullTable)
    {
        var tableBits = 8;
        while ((1 << tableBits) < src.Length && tableBits < MaxTableBits) tableBits++;
        var shift = 32 - tableBits;
        var table = fullTable[..(1 << tableBits)];
        table.Clear();

        var d = 0;
        var sLimit = src.Length - InputMargin;
        var nextEmit = 0;
        var s = 1;
        var nextHash = Hash(Load32(src, s), shift);
        while (true)
        {
            // Look for a 4-byte match; the step grows by one every 32 misses, so random data is skimmed.
            var skip = 32;
            var nextS = s;
            int candidate;
            do
            {
                s = nextS;
                var step = skip >> 5;
                nextS = s + step;
                skip += step;
                if (nextS > sLimit) goto EmitRemainder;
                candidate = table[nextHash];
                table[nextHash] = (ushort)s;
                nextHash = Hash(Load32(src, nextS), shift);
            } while (Load32(src, s) != Load32(src, candidate));

            d += EmitLiteral(dst[d..], src[nextEmit..s]);
            while (true)
            {
                var start = s;
                s += 4;
                var i = candidate + 4;
                // Extend the match 8 bytes at a time, then finish byte by byte.
                while (s + 8 <= src.Length)
                {
                    var diff = BinaryPrimitives.ReadUInt64LittleEndian(src[s..]) ^ BinaryPrimitives.ReadUInt64LittleEndian(src[i..]);
                    if (diff != 0) { var same = BitOperations.TrailingZeroCount(diff) >> 3; s += same; i += same; goto Matched; }
                    s += 8; i += 8;
                }
                while (s < src.Length && src[i] == src[s]) { i++; s++; }
            Matched:
                d += EmitCopy(dst[d..], start - candidate, s - start);
                nextEmit = s;
                if (s >= sLimit) goto EmitRemainder;
                // Hash the positions just before and at s so the next match can start right here.
                var x = BinaryPrimitives.ReadUInt64LittleEndian(src[(s - 1)..]);
                table[Hash((uint)x, shift)] = (ushort)(s - 1);
                var currHash = Hash((uint)(x >> 8), shift);
                candidate = table[currHash];
                table[currHash] = (ushort)s;
                if ((uint)(x >> 8) != Load32(src, candidate))
                {
                    nextHash = Hash((uint)(x >> 16), shift);
                    s++;
                    break;
                }
            }
        }
    EmitRemainder:
        if (nextEmit < src.Length) d += EmitLiteral(dst[d..], src[nextEmit..]);
        return d;
    }

    private static uint Load32(ReadOnlySpan<byte> b, int i) => BinaryPrimitives.ReadUInt32LittleEndian(b[i..]);
    private static int Hash(uint u, int shift) => (int)((u * 0x1e35a7bd) >> shift);

    private static int EmitLiteral(Span<byte> dst, ReadOnlySpan<byte> lit)
    {
        if (lit.IsEmpty) return 0;
        var n = (uint)lit.Length - 1;
        int i;
        if (n < 60) { dst[0] = (byte)(n << 2); i = 1; }
        else if (n < 1 << 8) { dst[0] = 60 << 2; dst[1] = (byte)n; i = 2; }
        else if (n < 1 << 16) { dst[0] = 61 << 2; BinaryPrimitives.WriteUInt16LittleEndian(dst[1..], (ushort)n); i = 3; }
        else if (n < 1 << 24) { dst[0] = 62 << 2; dst[1] = (byte)n; dst[2] = (byte)(n >> 8); dst[3] = (byte)(n >> 16); i = 4; }
        else { dst[0] = 63 << 2; BinaryPrimitives.WriteUInt32LittleEndian(dst[1..], n); i = 5; }
        lit.CopyTo(dst[i..]);
        return i + lit.Length;
    }

    private static int EmitCopy(Span<byte> dst, int offset, int length)
    {
        var i = 0;
        // Long matches become 64-byte copies with 2-byte offsets; keep ≥ 4 bytes for the last one.
        while (length >= 68)
        {
            dst[i] = 63 << 2 | 2; BinaryPrimitives.WriteUInt16LittleEndian(dst[(i + 1)..], (ushort)offset);
            i += 3; length -= 64;
        }
        if (length > 64)
        {
            dst[i] = 59 << 2 | 2; BinaryPrimitives.WriteUInt16LittleEndian(dst[(i + 1)..], (ushort)offset);
            i += 3; length -= 60;
        }
        if (length >= 12 || offset >= 2048)
        {
            dst[i] = (byte)((length - 1) << 2 | 2); BinaryPrimitives.WriteUInt16LittleEndian(dst[(i + 1)..], (ushort)offset);
            return i + 3;
        }
        dst[i] = (byte)((offset >> 8) << 5 | (length - 4) << 2 | 1);
        dst[i + 1] = (byte)offset;
        return i + 2;
    }

    /// <summary>The uncompressed length a block declares; throws <see cref="InvalidDataException"/> on a malformed header.</summary>
    public static int DecodedLength(ReadOnlySpan<byte> block) => (int)ReadHeader(block, out _);

    private static uint ReadHeader(ReadOnlySpan<byte> block, out int headerBytes)
    {
        headerBytes = 0;
        // A bad varint and a length past int (at most 5 bytes) are the same malformed header here.
        var v = ReadVarint(block[..Math.Min(5, block.Length)], ref headerBytes);
        return v <= int.MaxValue ? (uint)v : throw new InvalidDataException("snappy: bad length header");
    }

    /// <summary>Decompresses a whole block; throws <see cref="InvalidDataException"/> on anything malformed.</summary>
    public static byte[] Decode(ReadOnlySpan<byte> block)
    {
        var length = (int)ReadHeader(block, out var s);
        var dst = new byte[length];
        var d = 0;
        while (s < block.Length)
        {
            var tag = block[s];
            int offset, n;
            switch (tag & 3)
            {
                case 0:
                    n = tag >> 2;
                    s++;
                    if (n >= 60)
                    {
                        var extra = n - 59;
                        if (s + extra > block.Length) throw Bad("literal length past the end");
                        n = 0;
                        for (var k = 0; k < extra; k++) n |= block[s + k] << (8 * k);
                        s += extra;
                        if (n < 0) throw Bad("literal too long");
                    }
                    n += 1;
                    if (n > block.Length - s || n > length - d) throw Bad("literal past the end");
                    block.Slice(s, n).CopyTo(dst.AsSpan(d));
                    s += n; d += n;
                    continue;
                case 1:
                    if (s + 2 > block.Length) throw Bad("truncated copy");
                    n = 4 + ((tag >> 2) & 7);
                    offset = (tag & 0xe0) << 3 | block[s + 1];
                    s += 2;
                    break;
                case 2:
                    if (s + 3 > block.Length) throw Bad("truncated copy");
                    n = 1 + (tag >> 2);
                    offset = BinaryPrimitives.ReadUInt16LittleEndian(block[(s + 1)..]);
                    s += 3;
                    break;
                default:
                    if (s + 5 > block.Length) throw Bad("truncated copy");
                    n = 1 + (tag >> 2);
                    var o = BinaryPrimitives.ReadUInt32LittleEndian(block[(s + 1)..]);
                    if (o > int.MaxValue) throw Bad("offset too large");
                    offset = (int)o;
                    s += 5;
                    break;
            }
            if (offset <= 0 || offset > d) throw Bad("copy offset out of range");
            if (n > length - d) throw Bad("copy past the end");
            // Overlapping copies (offset < n) repeat a pattern, so copy byte by byte forwards.
            for (var k = 0; k < n; k++) dst[d + k] = dst[d - offset + k];
            d += n;
        }
        if (d != length) throw Bad($"decoded {d} bytes, header said {length}");
        return dst;

        static InvalidDataException Bad(string why) => new("snappy: " + why);
    }
}
