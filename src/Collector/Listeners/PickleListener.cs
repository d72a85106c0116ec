using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using Microsoft.Extensions.Logging;
using Observe.Common;

namespace Observe.Collector.Listeners;

/// <summary>
/// carbon's pickle receiver (TCP, default port 2004): each frame is a 4-byte big-endian length and a pickle of a list of
/// <c>(path, (timestamp, value))</c>, as carbon-relay, Diamond and Etsy statsd (<c>graphiteProtocol: pickle</c>) send it.
/// Frames are decoded by the whitelist <see cref="PickleDecoder"/>; every point then takes the plaintext path
/// (<see cref="GraphitePlaintextParser.TryMakePoint"/>, then <paramref name="accept"/>: tag limits, batching). A frame
/// longer than <see cref="PickleListenerOptions.MaxFrameBytes"/>, a forbidden opcode, a broken pickle or a bound hit
/// closes the connection and is counted by reason; a point of another shape or with a bad path or value is skipped and
/// counted, as carbon skips it. Connection caps and idle timeouts: <see cref="TcpStreamListener"/>.
/// </summary>
internal sealed class PickleListener(IPEndPoint endpoint, PickleListenerOptions options, Action<MetricPoint> accept, ILogger log, TimeProvider? time = null)
    : TcpStreamListener("pickle", endpoint, log, TcpLimits.Of(options.MaxConnections, options.IdleTimeoutMs), time)
{
    /// <summary>Why a connection was closed; keys of <see cref="Rejected"/>.</summary>
    internal const string FrameTooLarge = "frameTooLarge";

    private readonly PickleLimits _limits = new(options.MaxDepth, options.MaxItems, options.MaxMemo);
    private readonly LogRateLimit _rejectLog = new(1, TimeSpan.FromSeconds(10), time ?? TimeProvider.System);
    private long _frames, _points, _badPoints, _frameTooLarge, _truncated;
    private readonly long[] _errors = new long[Enum.GetValues<PickleError>().Length];

    public long FramesReceived => Interlocked.Read(ref _frames);
    public long PointsReceived => Interlocked.Read(ref _points);
    public long BadPoints => Interlocked.Read(ref _badPoints);

    /// <summary>Frames that closed their connection, by reason (refused = a forbidden opcode such as GLOBAL or REDUCE).</summary>
    public IReadOnlyDictionary<string, long> Rejected => new SortedDictionary<string, long>(StringComparer.Ordinal)
    {
        ["refused"] = Interlocked.Read(ref _errors[(int)PickleError.Refused]),
        ["malformed"] = Interlocked.Read(ref _errors[(int)PickleError.Malformed]),
        ["tooDeep"] = Interlocked.Read(ref _errors[(int)PickleError.TooDeep]),
        ["tooManyItems"] = Interlocked.Read(ref _errors[(int)PickleError.TooManyItems]),
        ["memoTooLarge"] = Interlocked.Read(ref _errors[(int)PickleError.MemoTooLarge]),
        [FrameTooLarge] = Interlocked.Read(ref _frameTooLarge),
        ["truncated"] = Interlocked.Read(ref _truncated),
    };

    protected override async Task ServeAsync(TcpConnection connection, IPEndPoint from)
    {
        var decoder = new PickleDecoder(_limits);
        while (true)
        {
            var result = await connection.ReadAsync();
            var buffer = result.Buffer;
            while (buffer.Length >= 4)
            {
                var length = FrameLength(buffer);
                if (length > (uint)options.MaxFrameBytes)
                {
                    Interlocked.Increment(ref _frameTooLarge);
                    LogReject(from, FrameTooLarge);
                    return; // closes the connection before the frame is buffered
                }
                if (buffer.Length < 4 + length) break;
                if (!HandleFrame(decoder, buffer.Slice(4, length), from)) return;
                buffer = buffer.Slice(4 + length);
            }
            if (result.IsCompleted)
            {
                if (!buffer.IsEmpty) Interlocked.Increment(ref _truncated);
                return;
            }
            connection.Reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static uint FrameLength(ReadOnlySequence<byte> buffer)
    {
        Span<byte> head = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(head);
        return BinaryPrimitives.ReadUInt32BigEndian(head);
    }

    /// <summary>False when the frame must close the connection.</summary>
    private bool HandleFrame(PickleDecoder decoder, ReadOnlySequence<byte> frame, IPEndPoint from)
    {
        Interlocked.Increment(ref _frames);
        if (frame.IsSingleSegment) return Decode(decoder, frame.FirstSpan, from);
        // A frame spanning pipe segments is copied once (at most maxFrameBytes).
        var length = (int)frame.Length;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            frame.CopyTo(rented);
            return Decode(decoder, rented.AsSpan(0, length), from);
        }
        finally { ArrayPool<byte>.Shared.Return(rented); }
    }

    private bool Decode(PickleDecoder decoder, ReadOnlySpan<byte> frame, IPEndPoint from)
    {
        var error = decoder.Decode(frame);
        if (error != PickleError.None)
        {
            Interlocked.Increment(ref _errors[(int)error]);
            LogReject(from, error.ToString());
            return false;
        }
        long points = 0, bad = 0;
        for (var i = 0; i < decoder.Count; i++)
        {
            if (decoder.TryGetPoint(frame, i, out var path, out var timestamp, out var value)
                && GraphitePlaintextParser.TryMakePoint(path, value, timestamp, out var point))
            {
                points++;
                accept(point);
            }
            else bad++;
        }
        Interlocked.Add(ref _points, points);
        Interlocked.Add(ref _badPoints, bad);
        return true;
    }

    private void LogReject(IPEndPoint from, string reason)
    {
        if (_rejectLog.TryLog(out var more))
            Log.LogWarning("pickle frame from {From} rejected ({Reason}), connection closed ({More} more not logged)", from, reason, more);
    }
}
