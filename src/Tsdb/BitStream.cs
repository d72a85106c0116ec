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
