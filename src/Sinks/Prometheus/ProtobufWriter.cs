using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using static Observe.Common.BinaryCodec;

namespace Observe.Storage.Sinks.Prometheus;

/// <summary>
/// The few protobuf wire-format pieces remote-write needs: varints, fixed64 doubles and
/// length-delimited fields. Nested messages are written size-first, so callers compute sizes with
/// the <c>…Size</c> helpers before writing (no second buffer per message).
/// </summary>
internal static class ProtobufWriter
{
    public const int WireVarint = 0, WireFixed64 = 1, WireLengthDelimited = 2;

    /// <summary>Bytes of a length-delimited field (tag + length + payload) whose tag fits one byte (field numbers below 16).</summary>
    public static int LengthDelimitedSize(int payloadBytes) => 1 + VarintSize((ulong)payloadBytes) + payloadBytes;

    public static int StringFieldSize(string s) => LengthDelimitedSize(Encoding.UTF8.GetByteCount(s));

    public static void Tag(IBufferWriter<byte> w, int field, int wireType) => WriteVarint(w, (ulong)(field << 3 | wireType));

    /// <summary>Starts a length-delimited field (a nested message or bytes) of <paramref name="payloadBytes"/>.</summary>
    public static void LengthDelimitedHeader(IBufferWriter<byte> w, int field, int payloadBytes)
    {
        Tag(w, field, WireLengthDelimited);
        WriteVarint(w, (ulong)payloadBytes);
    }

    public static void String(IBufferWriter<byte> w, int field, string s)
    {
        var n = Encoding.UTF8.GetByteCount(s);
        LengthDelimitedHeader(w, field, n);
        var span = w.GetSpan(n);
        Encoding.UTF8.GetBytes(s, span);
        w.Advance(n);
    }

    public static void Double(IBufferWriter<byte> w, int field, double v)
    {
        Tag(w, field, WireFixed64);
        var span = w.GetSpan(8);
        BinaryPrimitives.WriteDoubleLittleEndian(span, v);
        w.Advance(8);
    }

    /// <summary>An int64 field (two's complement varint, as protobuf's int64 — not zigzag).</summary>
    public static void Int64(IBufferWriter<byte> w, int field, long v)
    {
        Tag(w, field, WireVarint);
        WriteVarint(w, unchecked((ulong)v));
    }
}
