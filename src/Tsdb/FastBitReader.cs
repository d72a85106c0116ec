using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Observe.Storage.Tsdb;

/// <summary>
/// MSB-first bit reader of the chunk decoder (<see cref="Gorilla.DecodeInto"/>), the reader of <see cref="BitWriter"/>'s
/// streams: the stream sits in a buffer with 8 spare bytes past its end, so every read of up to 57 bits is one unaligned
/// 64-bit load and two shifts, with one bounds check against the stream's length (reading past it throws
/// <see cref="InvalidDataException"/>).
/// </summary>
internal ref struct FastBitReader
{
    private readonly ref byte _p;
    private readonly long _limit;
    private long _bit;

    /// <param name="padded">the stream followed by at least 8 more bytes</param>
    /// <param name="length">the stream's length in bytes</param>
    /// <param name="startByte">where reading starts</param>
    public FastBitReader(Span<byte> padded, int length, int startByte)
    {
        if (padded.Length < 8 || length < 0 || length > padded.Length - 8 || startByte < 0) throw new ArgumentException("the buffer needs 8 bytes of padding");
        _p = ref MemoryMarshal.GetReference(padded);
        _limit = (long)length * 8;
        _bit = (long)startByte * 8;
    }

    /// <summary>Up to 57 bits (0 reads nothing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Read(int bits)
    {
        long end = _bit + bits;
        if (end > _limit) Truncated();
        // _bit >> 3 ≤ length here, and the buffer holds length + 8 bytes: the load stays inside it.
        ulong w = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref _p, (nint)(_bit >> 3)));
        if (BitConverter.IsLittleEndian) w = BinaryPrimitives.ReverseEndianness(w);
        // ">> 1 >> (63 - bits)" rather than ">> (64 - bits)": a shift by 64 is a shift by 0 in C#, and bits may be 0.
        ulong v = (w << (int)(_bit & 7)) >> 1 >> (63 - bits);
        _bit = end;
        return v;
    }

    /// <summary>Up to 64 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadLong(int bits) => bits <= 57 ? Read(bits) : (Read(bits - 32) << 32) | Read(32);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool ReadBit() => Read(1) != 0;

    [System.Diagnostics.CodeAnalysis.DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void Truncated() => throw new InvalidDataException("bit stream truncated");
}
