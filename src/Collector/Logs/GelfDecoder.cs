using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace Observe.Collector.Logs;

/// <summary>
/// GELF 1.1 over UDP as Docker's gelf driver, Graylog's and Serilog's senders write it: a datagram is either a whole
/// message or one chunk (<c>0x1e 0x0f</c>, 8-byte message id, sequence number, sequence count ≤ 128, data). Chunks may
/// arrive in any order and are reassembled by id; a message still incomplete <see cref="GelfOptions.ChunkTimeoutMs"/>
/// after its first chunk is dropped and counted (Graylog: 5 s). A whole message is gzip (<c>1f 8b</c>), zlib
/// (<c>78 ..</c>, RFC 1950 header check) or plain JSON; it is decompressed up to <c>maxMessageBytes</c> and handed on.
/// </summary>
internal sealed class GelfDecoder : IDisposable
{
    internal const int MaxChunks = 128;
    private const int HeaderBytes = 12;

    internal delegate void PayloadHandler(ReadOnlySpan<byte> json);

    private readonly int _maxMessageBytes;
    private readonly long _timeoutTicks;
    private readonly int _maxPending;
    private readonly TimeProvider _time;
    private readonly PayloadHandler _onPayload;
    private readonly Action<LogRejectReason> _onReject;
    private readonly Dictionary<ulong, Pending> _pending = new();
    // Ids completed within the timeout: a late duplicate chunk of one is ignored, not taken for a new (never complete) message.
    private readonly Dictionary<ulong, long> _completed = new();
    private readonly Lock _lock = new();
    private readonly ITimer _sweeper;

    [ThreadStatic] private static byte[]? t_output;

    private sealed class Pending(int count, long firstSeen)
    {
        public readonly byte[]?[] Parts = new byte[]?[count];
        public readonly long FirstSeen = firstSeen;
        public int Received;
        public int Bytes;
    }

    public GelfDecoder(int maxMessageBytes, int chunkTimeoutMs, int maxPending, TimeProvider time, PayloadHandler onPayload, Action<LogRejectReason> onReject)
    {
        _maxMessageBytes = maxMessageBytes;
        _timeoutTicks = TimeSpan.FromMilliseconds(chunkTimeoutMs).Ticks;
        _maxPending = maxPending;
        _time = time;
        _onPayload = onPayload;
        _onReject = onReject;
        var sweepEvery = TimeSpan.FromMilliseconds(Math.Clamp(chunkTimeoutMs / 5, 10, 1000));
        _sweeper = time.CreateTimer(_ => Sweep(), null, sweepEvery, sweepEvery);
    }

    /// <summary>Chunked messages waiting for their other chunks.</summary>
    public int PendingMessages { get { lock (_lock) return _pending.Count; } }

    public void HandleDatagram(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length >= 2 && datagram[0] == 0x1e && datagram[1] == 0x0f) HandleChunk(datagram);
        else HandleMessage(datagram);
    }

    private void HandleChunk(ReadOnlySpan<byte> chunk)
    {
        if (chunk.Length < HeaderBytes) { _onReject(LogRejectReason.BadChunk); return; }
        var id = BinaryPrimitives.ReadUInt64BigEndian(chunk[2..10]);
        int seq = chunk[10], count = chunk[11];
        if (count is 0 or > MaxChunks || seq >= count) { _onReject(LogRejectReason.BadChunk); return; }
        var data = chunk[HeaderBytes..];
        if (count == 1) { HandleMessage(data); return; }
        byte[]? whole = null;
        var wholeLength = 0;
        lock (_lock)
        {
            if (_completed.ContainsKey(id)) return;
            if (!_pending.TryGetValue(id, out var p))
            {
                if (_pending.Count >= _maxPending) EvictOldest();
                p = new Pending(count, _time.GetTimestamp());
                _pending[id] = p;
            }
            if (p.Parts.Length != count) { _onReject(LogRejectReason.BadChunk); return; } // same id, other count: not ours
            if (p.Parts[seq] != null) return; // a repeated chunk (UDP may duplicate): the first copy counts
            if (p.Bytes + data.Length > _maxMessageBytes)
            {
                _pending.Remove(id);
                _onReject(LogRejectReason.TooLarge);
                return;
            }
            p.Parts[seq] = data.ToArray();
            p.Bytes += data.Length;
            if (++p.Received < count) return;
            _pending.Remove(id);
            if (_completed.Count >= 4 * _maxPending) _completed.Clear();
            _completed[id] = p.FirstSeen;
            whole = ArrayPool<byte>.Shared.Rent(p.Bytes);
            foreach (var part in p.Parts)
            {
                part!.CopyTo(whole, wholeLength);
                wholeLength += part.Length;
            }
        }
        try { HandleMessage(whole.AsSpan(0, wholeLength)); }
        finally { ArrayPool<byte>.Shared.Return(whole); }
    }

    private void EvictOldest()
    {
        ulong oldest = 0;
        var oldestSeen = long.MaxValue;
        foreach (var (id, p) in _pending)
            if (p.FirstSeen < oldestSeen) { oldestSeen = p.FirstSeen; oldest = id; }
        _pending.Remove(oldest);
        _onReject(LogRejectReason.ChunkOverflow);
    }

    /// <summary>Drops (and counts) every chunked message older than the timeout.</summary>
    internal void Sweep()
    {
        var now = _time.GetTimestamp();
        var limit = _timeoutTicks * _time.TimestampFrequency / TimeSpan.TicksPerSecond;
        List<ulong>? expired = null;
        lock (_lock)
        {
            foreach (var (id, firstSeen) in _completed)
                if (now - firstSeen >= limit) _completed.Remove(id);
            foreach (var (id, p) in _pending)
                if (now - p.FirstSeen >= limit) (expired ??= []).Add(id);
            if (expired == null) return;
            foreach (var id in expired) _pending.Remove(id);
        }
        foreach (var _ in expired) _onReject(LogRejectReason.ChunkTimeout);
    }

    private void HandleMessage(ReadOnlySpan<byte> message)
    {
        if (message.Length >= 2 && message[0] == 0x1f && message[1] == 0x8b) Decompress(message, gzip: true);
        else if (message.Length >= 2 && (message[0] & 0x0f) == 8 && ((message[0] << 8) | message[1]) % 31 == 0) Decompress(message, gzip: false);
        else if (message.Length > _maxMessageBytes) _onReject(LogRejectReason.TooLarge);
        else _onPayload(message);
    }

    private void Decompress(ReadOnlySpan<byte> compressed, bool gzip)
    {
        var input = ArrayPool<byte>.Shared.Rent(compressed.Length);
        compressed.CopyTo(input);
        var output = t_output ??= new byte[64 * 1024];
        var total = 0;
        try
        {
            using var source = new MemoryStream(input, 0, compressed.Length, writable: false);
            using Stream z = gzip ? new GZipStream(source, CompressionMode.Decompress) : new ZLibStream(source, CompressionMode.Decompress);
            while (true)
            {
                if (total == output.Length)
                {
                    if (output.Length > _maxMessageBytes) { _onReject(LogRejectReason.TooLarge); return; }
                    Array.Resize(ref output, Math.Min(output.Length * 2, _maxMessageBytes + 1));
                    t_output = output;
                }
                var n = z.Read(output, total, output.Length - total);
                if (n == 0) break;
                total += n;
            }
        }
        // Corrupt data is an InvalidDataException, but what zlib itself refuses (Z_NEED_DICT for a header asking for a
        // preset dictionary, a few other codes) is a ZLibException, an IOException: both are bad compression.
        catch (Exception e) when (e is InvalidDataException or IOException) { _onReject(LogRejectReason.BadCompression); return; }
        finally { ArrayPool<byte>.Shared.Return(input); }
        if (total > _maxMessageBytes) { _onReject(LogRejectReason.TooLarge); return; }
        _onPayload(output.AsSpan(0, total));
    }

    public void Dispose() => _sweeper.Dispose();
}
