using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using Microsoft.Win32.SafeHandles;
using Observe.Common;

namespace Observe.Storage.Sinks.Spool;

/// <summary>Bounds of one disk spool (from <c>sinks.spool</c>).</summary>
internal sealed record SpoolLimits(long MaxBytes = 1L << 30, long SegmentBytes = 16L << 20)
{
    public static readonly SpoolLimits Default = new();
}

/// <summary>Where one spooled record lives: its segment and byte offset (the record's header).</summary>
internal readonly record struct SpoolPosition(long Segment, long Offset);

/// <summary>
/// A durable FIFO of opaque records for one sink: append-only segment files
/// <c>&lt;dir&gt;/NNNNNNNNNNNNNNNNNNNN.seg</c>, each record framed as
/// <c>magic u32 | length u32 | appendedUnixMs i64 | crc32c u32 | payload</c> (CRC over length, time and payload).
/// <see cref="Append"/> returns once the record is fsynced (acknowledged = on disk). The read cursor (next
/// undelivered record) is kept in <c>cursor</c>, written by rename at most every 100 ms while committing; losing its
/// last update only replays records again (at-least-once). A partly delivered head record's rest is kept in <c>head</c> (fsynced).
/// Torn or corrupt bytes are found by length + CRC at open, skipped up to the next valid record and counted.
/// Thread-safe: any number of appenders, one consumer (the delivery loop).
/// </summary>
internal sealed class DiskSpool : IDisposable
{
    internal const int HeaderSize = 20;
    private const uint Magic = 0x4C50534F; // "OSPL"
    private const int MaxRecordBytes = 256 << 20;

    private readonly Lock _lock = new();
    private readonly string _dir;
    private readonly SpoolLimits _limits;
    private readonly TimeProvider _time;
    private readonly Queue<Entry> _pending = new();
    private readonly Dictionary<long, int> _pendingPerSegment = new();
    private readonly SemaphoreSlim _dataAvailable = new(0);
    private SafeFileHandle _active = null!;
    private long _activeSegment;
    private long _activeSize;
    private SafeFileHandle? _reader;
    private long _readerSegment = -1;
    private SpoolPosition _cursor;
    private Entry? _headOverrideEntry;
    private byte[]? _headOverride;
    private long _pendingBytes;
    private bool _disposed;
    private long _cursorWrittenMs;
    // The cursor is rewritten at most this often while records are being committed (and always when a segment is
    // deleted, the spool empties, or it closes): a crash replays at most this much delivery again.
    private const long CursorIntervalMs = 100;

    private readonly record struct Entry(SpoolPosition Position, int Length, long AppendedMs);

    public long Appended, Delivered, Rejected, DroppedOldest, CorruptSkipped;

    private DiskSpool(string dir, SpoolLimits limits, TimeProvider time)
    {
        _dir = dir;
        _limits = limits;
        _time = time;
    }

    public string Directory => _dir;

    /// <summary>Opens (or creates) the spool in <paramref name="directory"/> and rebuilds the pending queue from disk.</summary>
    public static DiskSpool Open(string directory, SpoolLimits? limits = null, TimeProvider? time = null)
    {
        System.IO.Directory.CreateDirectory(directory);
        var spool = new DiskSpool(directory, limits ?? SpoolLimits.Default, time ?? TimeProvider.System);
        spool.Recover();
        return spool;
    }

    public int Count { get { lock (_lock) return _pending.Count; } }

    public long PendingBytes { get { lock (_lock) return _pendingBytes; } }

    /// <summary>Seconds since the oldest undelivered record was appended (0 when empty).</summary>
    public double OldestAgeSeconds
    {
        get
        {
            lock (_lock)
            {
                if (_pending.Count == 0) return 0;
                return Math.Max(0, (_time.GetUtcNow().ToUnixTimeMilliseconds() - _pending.Peek().AppendedMs) / 1000.0);
            }
        }
    }

    /// <summary>Appends one record and fsyncs it; when it returns the record survives a crash.</summary>
    public void Append(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxRecordBytes) throw new ArgumentException($"a spool record is at most {MaxRecordBytes} bytes", nameof(payload));
        var size = HeaderSize + payload.Length;
        var frame = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            WriteFrame(frame, payload, now);
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                // Oldest-first drop keeps the newest data when the target has been away too long.
                while (_pending.Count > 0 && _pendingBytes + size > _limits.MaxBytes)
                {
                    DroppedOldest++;
                    AdvanceHead();
                }
                if (_activeSize > 0 && _activeSize + size > _limits.SegmentBytes) Rollover();
                var offset = _activeSize;
                RandomAccess.Write(_active, frame.AsSpan(0, size), offset);
                RandomAccess.FlushToDisk(_active);
                _activeSize += size;
                _pending.Enqueue(new Entry(new SpoolPosition(_activeSegment, offset), payload.Length, now));
                _pendingPerSegment[_activeSegment] = _pendingPerSegment.GetValueOrDefault(_activeSegment) + 1;
                _pendingBytes += size;
                Appended++;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
        if (_dataAvailable.CurrentCount == 0) _dataAvailable.Release();
    }

    /// <summary>Waits until a record may be available (returns at once if one was appended since the last wait).</summary>
    public Task WaitForDataAsync(CancellationToken cancellationToken) => _dataAvailable.WaitAsync(cancellationToken);

    /// <summary>
    /// Copies the head record into <paramref name="buffer"/> (grown from the shared pool as needed; the caller
    /// returns it). False when the spool is empty.
    /// </summary>
    public bool TryReadHead(ref byte[]? buffer, out SpoolPosition position, out int length)
    {
        lock (_lock)
        {
            position = default;
            length = 0;
            if (_disposed || _pending.Count == 0) return false;
            var head = _pending.Peek();
            position = head.Position;
            if (_headOverride != null && _headOverrideEntry is { } o && o.Position == head.Position)
            {
                length = _headOverride.Length;
                EnsureCapacity(ref buffer, length);
                _headOverride.CopyTo(buffer!, 0);
                return true;
            }
            length = head.Length;
            EnsureCapacity(ref buffer, length);
            var handle = ReaderFor(head.Position.Segment);
            var read = 0;
            while (read < length)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(read, length - read), head.Position.Offset + HeaderSize + read);
                if (n == 0) throw new IOException($"spool segment {head.Position.Segment} ended inside a record it held at open");
                read += n;
            }
            return true;
        }
    }

    /// <summary>The head record at <paramref name="position"/> was delivered: drop it (no-op if it was dropped meanwhile).</summary>
    public void CommitHead(SpoolPosition position)
    {
        lock (_lock)
        {
            if (_pending.Count == 0 || _pending.Peek().Position != position) return;
            Delivered++;
            AdvanceHead();
        }
    }

    /// <summary>The head record could not be delivered ever: keep it in <c>dead-letter</c> and drop it.</summary>
    public void RejectHead(SpoolPosition position, ReadOnlySpan<byte> payload)
    {
        lock (_lock)
        {
            if (_pending.Count == 0 || _pending.Peek().Position != position) return;
            var size = HeaderSize + payload.Length;
            var frame = ArrayPool<byte>.Shared.Rent(size);
            try
            {
                WriteFrame(frame, payload, _pending.Peek().AppendedMs);
                using var dead = new FileStream(Path.Combine(_dir, "dead-letter"), FileMode.Append, FileAccess.Write, FileShare.Read);
                dead.Write(frame, 0, size);
                dead.Flush(flushToDisk: true);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(frame);
            }
            Rejected++;
            AdvanceHead();
        }
    }

    /// <summary>Part of the head record was delivered: durably replace its payload by what is left.</summary>
    public void ReplaceHead(SpoolPosition position, ReadOnlySpan<byte> remaining)
    {
        lock (_lock)
        {
            if (_pending.Count == 0 || _pending.Peek().Position != position) return;
            var entry = _pending.Peek();
            var bytes = new byte[32 + remaining.Length];
            BinaryPrimitives.WriteInt64LittleEndian(bytes, position.Segment);
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), position.Offset);
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), entry.AppendedMs);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(24), remaining.Length);
            remaining.CopyTo(bytes.AsSpan(32));
            var crc = Crc32C.Compute(bytes.AsSpan(0, 28), 0);
            crc = Crc32C.Compute(bytes.AsSpan(32), crc);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(28), crc);
            WriteFileDurably(Path.Combine(_dir, "head"), bytes, fsync: true);
            _headOverrideEntry = entry;
            _headOverride = remaining.ToArray();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            WriteCursor();
            _active.Dispose();
            _reader?.Dispose();
        }
        _dataAvailable.Release();
    }

    // ---- internals (all under _lock) ----

    private void AdvanceHead()
    {
        var head = _pending.Dequeue();
        _pendingBytes -= HeaderSize + head.Length;
        var seg = head.Position.Segment;
        var left = _pendingPerSegment[seg] - 1;
        if (left == 0) _pendingPerSegment.Remove(seg); else _pendingPerSegment[seg] = left;
        _cursor = _pending.Count > 0 ? _pending.Peek().Position
            : new SpoolPosition(_activeSegment, _activeSize);
        if (_headOverrideEntry is { } o && o.Position == head.Position)
        {
            _headOverride = null;
            _headOverrideEntry = null;
            File.Delete(Path.Combine(_dir, "head"));
        }
        // A segment is deleted once nothing in it is pending and nothing more will be written to it.
        if (left == 0 && seg != _activeSegment)
        {
            WriteCursor();
            DeleteSegment(seg);
        }
        else if (Environment.TickCount64 - _cursorWrittenMs >= CursorIntervalMs || _pending.Count == 0) WriteCursor();
    }

    private void Rollover()
    {
        _active.Dispose();
        var old = _activeSegment;
        OpenActive(old + 1);
        if (!_pendingPerSegment.ContainsKey(old))
        {
            if (_cursor.Segment == old) { _cursor = new SpoolPosition(_activeSegment, 0); WriteCursor(); }
            DeleteSegment(old);
        }
    }

    private void OpenActive(long id)
    {
        _activeSegment = id;
        _activeSize = 0;
        _active = File.OpenHandle(SegmentPath(id), FileMode.Create, FileAccess.ReadWrite, FileShare.Read);
    }

    private SafeFileHandle ReaderFor(long segment)
    {
        if (segment == _activeSegment) return _active;
        if (_readerSegment != segment)
        {
            _reader?.Dispose();
            _reader = File.OpenHandle(SegmentPath(segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            _readerSegment = segment;
        }
        return _reader!;
    }

    private void DeleteSegment(long segment)
    {
        if (_readerSegment == segment)
        {
            _reader?.Dispose();
            _reader = null;
            _readerSegment = -1;
        }
        File.Delete(SegmentPath(segment));
    }

    private void WriteCursor()
    {
        _cursorWrittenMs = Environment.TickCount64;
        Span<byte> b = stackalloc byte[20];
        BinaryPrimitives.WriteInt64LittleEndian(b, _cursor.Segment);
        BinaryPrimitives.WriteInt64LittleEndian(b[8..], _cursor.Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], Crc32C.Compute(b[..16], 0));
        // No fsync: a lost cursor update only means records are delivered again, which at-least-once allows.
        WriteFileDurably(Path.Combine(_dir, "cursor"), b, fsync: false);
    }

    private static void WriteFileDurably(string path, ReadOnlySpan<byte> bytes, bool fsync)
    {
        var tmp = path + ".tmp";
        using (var h = File.OpenHandle(tmp, FileMode.Create, FileAccess.Write))
        {
            RandomAccess.Write(h, bytes, 0);
            if (fsync) RandomAccess.FlushToDisk(h);
        }
        File.Move(tmp, path, overwrite: true);
    }

    private string SegmentPath(long id) => Path.Combine(_dir, id.ToString("D20", CultureInfo.InvariantCulture) + ".seg");

    private void Recover()
    {
        var segments = new List<long>();
        foreach (var f in System.IO.Directory.EnumerateFiles(_dir, "*.seg"))
            if (long.TryParse(Path.GetFileNameWithoutExtension(f), NumberStyles.None, CultureInfo.InvariantCulture, out var id)) segments.Add(id);
        segments.Sort();
        var cursor = ReadCursor() ?? new SpoolPosition(segments.Count > 0 ? segments[0] : 0, 0);
        foreach (var id in segments)
        {
            if (id < cursor.Segment) { File.Delete(SegmentPath(id)); continue; }
            Scan(id, id == cursor.Segment ? cursor.Offset : 0);
        }
        _cursor = cursor;
        LoadHeadOverride();
        // Appends always go to a fresh segment, so a torn tail in an old one is never written after.
        var next = Math.Max(segments.Count > 0 ? segments[^1] + 1 : 0, cursor.Segment);
        if (segments.Contains(next)) next++;
        OpenActive(next);
        if (_pending.Count == 0) { _cursor = new SpoolPosition(_activeSegment, 0); WriteCursor(); }
        foreach (var id in segments)
            if (id >= cursor.Segment && !_pendingPerSegment.ContainsKey(id)) File.Delete(SegmentPath(id));
        if (_pending.Count > 0) _dataAvailable.Release();
    }

    private void Scan(long segment, long start)
    {
        var data = File.ReadAllBytes(SegmentPath(segment));
        var pos = (int)Math.Min(start, data.Length);
        var inCorruptRun = false;
        while (pos < data.Length)
        {
            if (TryParse(data, pos, out var length, out var appended))
            {
                inCorruptRun = false;
                _pending.Enqueue(new Entry(new SpoolPosition(segment, pos), length, appended));
                _pendingPerSegment[segment] = _pendingPerSegment.GetValueOrDefault(segment) + 1;
                _pendingBytes += HeaderSize + length;
                pos += HeaderSize + length;
                continue;
            }
            // Torn write or corruption: count it once per run and resynchronise on the next valid frame.
            if (!inCorruptRun) CorruptSkipped++;
            inCorruptRun = true;
            pos++;
        }
    }

    private static bool TryParse(byte[] data, int pos, out int length, out long appended)
    {
        length = 0;
        appended = 0;
        if (data.Length - pos < HeaderSize) return false;
        var span = data.AsSpan(pos);
        if (BinaryPrimitives.ReadUInt32LittleEndian(span) != Magic) return false;
        length = BinaryPrimitives.ReadInt32LittleEndian(span[4..]);
        if (length < 0 || length > data.Length - pos - HeaderSize) return false;
        appended = BinaryPrimitives.ReadInt64LittleEndian(span[8..]);
        var crc = Crc32C.Compute(span.Slice(4, 12), 0);
        crc = Crc32C.Compute(span.Slice(HeaderSize, length), crc);
        return crc == BinaryPrimitives.ReadUInt32LittleEndian(span[16..]);
    }

    private SpoolPosition? ReadCursor()
    {
        var path = Path.Combine(_dir, "cursor");
        if (!File.Exists(path)) return null;
        var b = File.ReadAllBytes(path);
        if (b.Length != 20 || Crc32C.Compute(b.AsSpan(0, 16), 0) != BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(16))) return null;
        return new SpoolPosition(BinaryPrimitives.ReadInt64LittleEndian(b), BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(8)));
    }

    private void LoadHeadOverride()
    {
        var path = Path.Combine(_dir, "head");
        if (!File.Exists(path) || _pending.Count == 0) { File.Delete(path); return; }
        var b = File.ReadAllBytes(path);
        if (b.Length < 32) return;
        var len = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(24));
        if (len < 0 || len != b.Length - 32) return;
        var crc = Crc32C.Compute(b.AsSpan(0, 28), 0);
        crc = Crc32C.Compute(b.AsSpan(32), crc);
        if (crc != BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(28))) return;
        var pos = new SpoolPosition(BinaryPrimitives.ReadInt64LittleEndian(b), BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(8)));
        var head = _pending.Peek();
        if (head.Position != pos) return;
        _headOverrideEntry = head;
        _headOverride = b.AsSpan(32).ToArray();
    }

    private static void WriteFrame(byte[] frame, ReadOnlySpan<byte> payload, long appendedMs)
    {
        var span = frame.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], appendedMs);
        payload.CopyTo(span[HeaderSize..]);
        var crc = Crc32C.Compute(span.Slice(4, 12), 0);
        crc = Crc32C.Compute(payload, crc);
        BinaryPrimitives.WriteUInt32LittleEndian(span[16..], crc);
    }

    private static void EnsureCapacity(ref byte[]? buffer, int length)
    {
        if (buffer != null && buffer.Length >= length) return;
        if (buffer != null) ArrayPool<byte>.Shared.Return(buffer);
        buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 4096));
    }

    /// <summary>Reads the records of a dead-letter file (same framing as segments).</summary>
    internal static List<byte[]> ReadDeadLetters(string directory)
    {
        var path = Path.Combine(directory, "dead-letter");
        var result = new List<byte[]>();
        if (!File.Exists(path)) return result;
        var data = File.ReadAllBytes(path);
        var pos = 0;
        while (TryParse(data, pos, out var length, out _))
        {
            result.Add(data.AsSpan(pos + HeaderSize, length).ToArray());
            pos += HeaderSize + length;
        }
        return result;
    }
}
