using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Observe.Collector;
using Observe.Storage.Sinks.Spool;

namespace Observe.Storage.Sinks;

/// <summary>
/// One flush → carbon pickle frames (<c>sinks.carbon[].protocol: pickle</c>, Etsy's <c>graphiteProtocol: pickle</c>), one
/// spool record: each frame a 4-byte big-endian length and a protocol-2 pickle of <c>[(path, (timestamp, value)), …]</c>,
/// written as carbon-relay writes it (BINUNICODE paths, integer timestamps, BINFLOAT values). Frames hold at most
/// <see cref="MaxPointsPerFrame"/> points (carbon-relay's MAX_DATAPOINTS_PER_MESSAGE) and stay under carbon's 1 MiB frame
/// limit. Tags go out in the client's order, as on the plaintext wire.
/// </summary>
internal sealed class CarbonPickleEncoder : IMetricRecordEncoder
{
    internal const int MaxPointsPerFrame = 500;
    internal const int MaxFrameBytes = 1 << 20;
    private const int FrameOverhead = 2 + 1 + 1 + 1 + 1; // PROTO 2, EMPTY_LIST, MARK … APPENDS, STOP

    public bool KeepsClientTagOrder => true;

    public void Encode(MetricBatch batch, IBufferWriter<byte> output)
    {
        var points = batch.Points;
        for (var start = 0; start < points.Count;)
        {
            // Sizes first: the frame's length precedes it.
            var size = FrameOverhead;
            var end = start;
            while (end < points.Count && end - start < MaxPointsPerFrame)
            {
                var s = PointSize(points[end]);
                if (end > start && size + s > MaxFrameBytes) break;
                size += s;
                end++;
            }
            var span = output.GetSpan(4 + size);
            BinaryPrimitives.WriteInt32BigEndian(span, size);
            var n = 4;
            span[n++] = 0x80; span[n++] = 2; // PROTO 2
            span[n++] = (byte)']'; // EMPTY_LIST
            span[n++] = (byte)'('; // MARK
            for (var i = start; i < end; i++) n += WritePoint(points[i], span[n..]);
            span[n++] = (byte)'e'; // APPENDS
            span[n++] = (byte)'.'; // STOP
            output.Advance(n);
            start = end;
        }
    }

    private static int PointSize(in MetricPoint p) => 5 + Encoding.UTF8.GetByteCount(p.Path) + TimestampSize(p.Timestamp) + 9 + 2;

    private static int TimestampSize(long t) => t is >= int.MinValue and <= int.MaxValue ? 5 : 2 + 8;

    private static int WritePoint(in MetricPoint p, Span<byte> span)
    {
        span[0] = (byte)'X'; // BINUNICODE: 4-byte length, UTF-8
        var n = 5 + Encoding.UTF8.GetBytes(p.Path, span[5..]);
        BinaryPrimitives.WriteInt32LittleEndian(span[1..], n - 5);
        if (p.Timestamp is >= int.MinValue and <= int.MaxValue)
        {
            span[n] = (byte)'J'; // BININT
            BinaryPrimitives.WriteInt32LittleEndian(span[(n + 1)..], (int)p.Timestamp);
            n += 5;
        }
        else
        {
            span[n] = 0x8a; span[n + 1] = 8; // LONG1, 8 bytes two's complement
            BinaryPrimitives.WriteInt64LittleEndian(span[(n + 2)..], p.Timestamp);
            n += 10;
        }
        span[n] = (byte)'G'; // BINFLOAT
        BinaryPrimitives.WriteDoubleBigEndian(span[(n + 1)..], p.Value);
        n += 9;
        span[n++] = 0x86; // TUPLE2 (timestamp, value)
        span[n++] = 0x86; // TUPLE2 (path, …)
        return n;
    }
}
