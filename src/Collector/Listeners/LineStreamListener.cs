using System.Buffers;
using System.Net;
using Microsoft.Extensions.Logging;
using Observe.Common;

namespace Observe.Collector.Listeners;

/// <summary>
/// A TCP listener for newline-delimited protocols (StatsD over TCP, Graphite plaintext, GELF with NUL). Every run of
/// complete lines is handed over as one chunk, as Etsy statsd's TCP server does. A line longer than the protocol's
/// maximum is handed over cut, once (so it is counted as one bad line), and the rest of it is skipped up to its newline:
/// a client cannot make Observe buffer without bound, and the tail of an overlong line is never taken for a line of its
/// own. Connection caps and idle timeouts: <see cref="TcpStreamListener"/>.
/// </summary>
internal sealed class LineStreamListener : TcpStreamListener
{
    private readonly int _maxLineBytes;
    private readonly ChunkHandler _handler;
    private readonly byte _delimiter;
    private readonly LogRateLimit _handlerErrorLog;

    /// <param name="from">the client's address (one object per connection).</param>
    internal delegate void ChunkHandler(ReadOnlySequence<byte> completeLines, IPEndPoint from);

    /// <param name="delimiter">ends a line: <c>\n</c> for StatsD and Graphite, NUL for GELF over TCP.</param>
    public LineStreamListener(string name, IPEndPoint endpoint, int maxLineBytes, ChunkHandler handler, ILogger log, TcpLimits limits,
        TimeProvider? time = null, byte delimiter = (byte)'\n') : base(name, endpoint, log, limits, time)
    {
        _handlerErrorLog = new LogRateLimit(1, TimeSpan.FromSeconds(10), time ?? TimeProvider.System);
        _delimiter = delimiter;
        _maxLineBytes = maxLineBytes;
        _handler = handler;
    }

    protected override async Task ServeAsync(TcpConnection connection, IPEndPoint from)
    {
        var skipping = false; // inside an overlong line, up to its newline
        while (true)
        {
            var result = await connection.ReadAsync();
            var buffer = result.Buffer;
            if (skipping)
            {
                var end = buffer.PositionOf(_delimiter);
                buffer = end is { } e ? buffer.Slice(buffer.GetPosition(1, e)) : buffer.Slice(buffer.End);
                skipping = end == null;
            }
            var lastNewline = skipping ? null : buffer.PositionOfLast(_delimiter);
            if (lastNewline is { } pos)
            {
                var complete = buffer.Slice(0, buffer.GetPosition(1, pos));
                Handle(complete, from);
                buffer = buffer.Slice(complete.End);
            }
            if (!skipping && buffer.Length > _maxLineBytes)
            {
                // No newline within the limit: hand over the start as one (bad) line and skip the rest of it.
                Handle(buffer.Slice(0, _maxLineBytes + 1), from);
                buffer = buffer.Slice(buffer.End);
                skipping = true;
            }
            if (result.IsCompleted)
            {
                if (!buffer.IsEmpty && !skipping) Handle(buffer, from); // last line without a trailing newline
                connection.Reader.AdvanceTo(buffer.End);
                break;
            }
            connection.Reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>The handler must not throw; if it ever does, that chunk is lost but the connection and the lines after it are kept.</summary>
    private void Handle(ReadOnlySequence<byte> lines, IPEndPoint from)
    {
        try { _handler(lines, from); }
        catch (Exception e)
        {
            if (_handlerErrorLog.TryLog(out var more)) Log.LogError(e, "{Name} line handler failed ({More} more failures not logged)", Name, more);
        }
    }
}
