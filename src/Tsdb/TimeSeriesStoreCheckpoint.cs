using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Observe.Common;
using static Observe.Common.BinaryCodec;

namespace Observe.Storage.Tsdb;

/// <summary>
/// The head checkpoint (issue 21: restart to first /render; docs/storage.md "Head checkpoint"): the head's points in
/// per-series order in one checksummed blob (table <c>head_checkpoint</c>, one row, replaced in one transaction), with the
/// identity of each head row it covers (seq, batch and newest time, the row blob's 16-byte header with its point count and
/// CRC). The head rows stay the write-ahead truth: at open the checkpoint's points are taken only for the covered rows still in
/// the file unchanged; every other head row is replayed as before. A checkpoint that is torn, corrupt, written under other
/// schema rules or names a series the file does not have is ignored as a whole (every row is replayed). No chunk work: a
/// 100 000-series head is one sequential write instead of a forced compaction that rewrites each series' tail chunks.
/// </summary>
internal sealed partial class TimeSeriesStore
{
    private const byte CheckpointVersion = 1;
    private const int CheckpointHeaderBytes = 16, HeadHeaderBytes = 16;

    /// <summary>Head rows and points taken from the checkpoint at open (not replayed).</summary>
    internal int CheckpointRows { get; private set; }
    internal long CheckpointPoints { get; private set; }
    /// <summary>Why the open ignored the checkpoint as a whole (null: none was there, or it was used).</summary>
    internal string? CheckpointIgnored { get; private set; }

    /// <summary>Blob bytes at <paramref name="p"/>: a head value as a head row stores it (integers and tenths as varints, else 8 raw bytes).</summary>
    private static int WriteHeadValue(Span<byte> dst, double v)
    {
        if (IsExactly(v, 1, out long n) && Math.Abs(n) < 1L << 60) return WriteVarint(dst, ZigZag(n) << 2);
        if (IsExactly(v, 10, out n) && Math.Abs(n) < 1L << 60) return WriteVarint(dst, (ZigZag(n) << 2) | 1);
        dst[0] = 2;
        BinaryPrimitives.WriteDoubleLittleEndian(dst[1..], v);
        return 9;
    }

    /// <summary>Reads what <see cref="WriteHeadValue"/> wrote; false when it is malformed (then <paramref name="p"/> is meaningless).</summary>
    private static bool TryReadHeadValue(ReadOnlySpan<byte> src, ref int p, out double v)
    {
        ulong u = ReadVarint(src, ref p);
        v = 0;
        if (u == 2)
        {
            if (p + 8 > src.Length) return false;
            v = BinaryPrimitives.ReadDoubleLittleEndian(src[p..]);
            p += 8;
        }
        else if ((u & 3) == 0) v = UnZigZag(u >> 2);
        else if ((u & 3) == 1) v = UnZigZag(u >> 2) / 10.0;
        else return false;
        return true;
    }

    /// <summary>One head row as the file holds it: what a checkpoint records of the rows it covers.</summary>
    private readonly record struct HeadRowId(long Seq, long BatchTs, long MaxTs, UInt128 Header);

    private static UInt128 HeaderOf(ReadOnlySpan<byte> blob) =>
        blob.Length < HeadHeaderBytes ? UInt128.MaxValue : BinaryPrimitives.ReadUInt128LittleEndian(blob);

    /// <summary>Every head row of the file (seq order) with its identity. Caller holds the lock (or the open).</summary>
    private List<HeadRowId> ReadHeadRowIds()
    {
        var rows = new List<HeadRowId>();
        using var c = _conn.CreateCommand();
        c.CommandText = $"SELECT seq, batch_ts, max_ts, substr(data, 1, {HeadHeaderBytes}) FROM head ORDER BY seq";
        using var r = c.ExecuteReader();
        while (r.Read()) rows.Add(new HeadRowId(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), HeaderOf(r.GetValue(3) as byte[] ?? [])));
        return rows;
    }

    /// <summary>
    /// Writes the head checkpoint: every live head row's points, series by series, in one blob replacing the previous one
    /// (one transaction: a kill during it leaves the previous checkpoint, which is still right row by row). An empty head
    /// deletes it. Returns the rows and points written and the blob's size.
    /// </summary>
    // Runs once per process on a million points: optimised at once instead of starting as unoptimised tier-0 code (JIT builds).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public (int Rows, long Points, int Bytes) WriteHeadCheckpoint()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // Row index in the checkpoint of each live head-row slot (−1: not live, e.g. deleted by a compaction still releasing it).
            var index = new int[_headRows.Capacity];
            Array.Fill(index, -1);
            var slotOfSeq = new Dictionary<long, int>();
            for (int slot = 0; slot < index.Length; slot++) if (_headRows.IsLive(slot)) slotOfSeq[_headRows.SeqOf(slot)] = slot;
            var rows = new List<HeadRowId>();
            foreach (var row in ReadHeadRowIds())
                if (slotOfSeq.TryGetValue(row.Seq, out int slot)) { index[slot] = rows.Count; rows.Add(row); }
            if (rows.Count == 0)
            {
                Exec("DELETE FROM head_checkpoint");
                return (0, 0, 0);
            }
            var series = new List<SeriesState>(_touched.Count);
            foreach (var s in _touched) if (s.HasHead) series.Add(s);
            series.Sort(static (a, b) => a.Id.CompareTo(b.Id));

            var w = new CheckpointWriter(CheckpointHeaderBytes + rows.Count * 40 + _touched.Count * 8);
            w.Varint((ulong)rows.Count);
            long prevSeq = 0;
            foreach (var row in rows)
            {
                w.Varint((ulong)(row.Seq - prevSeq));
                prevSeq = row.Seq;
                w.Varint(ZigZag(row.BatchTs));
                w.Varint(ZigZag(row.MaxTs - row.BatchTs));
                w.UInt128(row.Header);
            }
            long points = 0, prevId = 0;
            foreach (var s in series)
            {
                int head = 0, backfill = 0;
                var own = HeadOf(s);
                foreach (ref readonly var p in own) if (index[p.Row] >= 0) head++;
                if (s.Backfill != null) foreach (var b in s.Backfill) if (index[b.Row] >= 0) backfill++;
                if (head + backfill == 0) continue;
                w.Varint((ulong)(s.Id - prevId));
                prevId = s.Id;
                w.Varint((ulong)head);
                w.Varint((ulong)backfill);
                long prevTs = 0;
                foreach (ref readonly var p in own)
                {
                    if (index[p.Row] < 0) continue;
                    w.Point(index[p.Row], p.Ts - prevTs, p.Value);
                    prevTs = p.Ts;
                }
                if (s.Backfill != null)
                    foreach (var b in s.Backfill)
                    {
                        if (index[b.Row] < 0) continue;
                        w.Varint((ulong)b.Level);
                        w.Point(index[b.Row], b.Ts - prevTs, b.Value);
                        prevTs = b.Ts;
                    }
                points += head + backfill;
            }
            w.Varint(0); // end of series (ids are ≥ 1, so a zero id delta cannot start one)
            var blob = w.Finish(_rules.SchemaFingerprint);
            using (var tx = _conn.BeginTransaction())
            using (var c = _conn.CreateCommand())
            {
                c.Transaction = tx;
                c.CommandText = "INSERT OR REPLACE INTO head_checkpoint(id, data) VALUES(1, $d)";
                c.Parameters.Add(new SqliteParameter("$d", blob));
                c.ExecuteNonQuery();
                tx.Commit();
            }
            return (rows.Count, points, blob.Length);
        }
    }

    /// <summary>
    /// At open, before the head rows are replayed: takes the checkpoint's points of the rows it covers that are still in the file
    /// unchanged and returns those rows' seqs (the replay skips them); null when there is no usable checkpoint.
    /// <paramref name="inFile"/>: every head row's seq, ascending, when the checkpoint was read (what the replay reads the rest by).
    /// </summary>
    private HashSet<long>? LoadHeadCheckpoint(SeriesState?[] byId, out List<long>? inFile)
    {
        inFile = null;
        byte[]? blob;
        using (var c = _conn.CreateCommand())
        {
            c.CommandText = "SELECT data FROM head_checkpoint WHERE id = 1";
            blob = c.ExecuteScalar() as byte[];
        }
        if (blob == null) return null;
        CheckpointIgnored = CheckHeader(blob);
        if (CheckpointIgnored != null) return IgnoreCheckpoint();
        var data = blob.AsSpan(CheckpointHeaderBytes);
        try
        {
            int p = 0;
            ulong rowCount = ReadVarint(data, ref p);
            // A row takes at least 19 bytes of the table: a count beyond that is malformed (and sizes nothing).
            if (rowCount > HeadRows.MaxRows || rowCount > (ulong)(data.Length / 19)) throw new InvalidDataException("row count");
            int count = (int)rowCount;
            var rowsInFile = ReadHeadRowIds();
            var bySeq = new Dictionary<long, HeadRowId>(rowsInFile.Count);
            foreach (var row in rowsInFile) bySeq[row.Seq] = row;
            // Each covered row: its slot once taken (−1: gone from the file or changed since, so its points are not taken).
            var covered = new (HeadRowId Row, bool Same)[count];
            long seq = 0;
            for (int i = 0; i < count; i++)
            {
                ulong delta = ReadVarint(data, ref p);
                if (delta == 0 || delta > long.MaxValue / 2) throw new InvalidDataException("row seq"); // ascending, no repeats
                seq += (long)delta;
                long batchTs = UnZigZag(ReadVarint(data, ref p));
                long maxTs = batchTs + UnZigZag(ReadVarint(data, ref p));
                if (p + 16 > data.Length) throw new InvalidDataException("row table");
                var row = new HeadRowId(seq, batchTs, maxTs, BinaryPrimitives.ReadUInt128LittleEndian(data[p..]));
                p += 16;
                covered[i] = (row, bySeq.TryGetValue(seq, out var now) && now == row);
            }
            // Checked whole before anything is applied: a checkpoint that names a series this file does not have is not half-loaded.
            int start = p;
            if (ApplyCheckpointPoints(data, ref p, byId, count, null) is { } wrong) { CheckpointIgnored = wrong; return IgnoreCheckpoint(); }
            var slots = new int[count];
            var seqs = new HashSet<long>();
            for (int i = 0; i < count; i++)
            {
                slots[i] = -1;
                if (!covered[i].Same) continue;
                slots[i] = _headRows.Add(covered[i].Row.Seq, covered[i].Row.MaxTs);
                seqs.Add(covered[i].Row.Seq);
            }
            p = start;
            ApplyCheckpointPoints(data, ref p, byId, count, slots);
            CheckpointRows = seqs.Count;
            inFile = [.. rowsInFile.Select(r => r.Seq)];
            return seqs;
        }
        catch (InvalidDataException e)
        {
            CheckpointIgnored = "malformed: " + e.Message;
            return IgnoreCheckpoint();
        }
    }

    /// <summary>Null when the blob's header, length, checksum and schema rules match; else why not.</summary>
    private string? CheckHeader(byte[] blob)
    {
        if (blob.Length < CheckpointHeaderBytes || blob[0] != 'O' || blob[1] != 'C' || blob[2] != CheckpointVersion) return "not a checkpoint of this version";
        int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(4));
        if (len != blob.Length - CheckpointHeaderBytes || BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(8)) != Crc32.Compute(blob.AsSpan(CheckpointHeaderBytes)))
            return "torn or corrupt (length or checksum)";
        if (BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(12)) != _rules.SchemaFingerprint) return "written under other storage.schemas";
        return null;
    }

    private HashSet<long>? IgnoreCheckpoint()
    {
        _log.LogWarning("tsdb: the head checkpoint is ignored ({Why}): every head row is replayed instead", CheckpointIgnored);
        return null;
    }

    /// <summary>
    /// Walks the series section: with <paramref name="slots"/> null only checks it (what is wrong: a series or archive this
    /// store lacks, or a point beyond a head point's range; null: nothing); else appends each point of a row still in the file.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per open, over every head point: see WriteHeadCheckpoint
    private string? ApplyCheckpointPoints(ReadOnlySpan<byte> data, ref int p, SeriesState?[] byId, int rows, int[]? slots)
    {
        long id = 0;
        while (true)
        {
            ulong delta = ReadVarint(data, ref p);
            if (delta == 0) break;
            id += (long)delta;
            if (id >= byId.Length || byId[id] is not { } s) return $"it names series {id}, which this store does not have";
            ulong head = ReadVarint(data, ref p), backfill = ReadVarint(data, ref p), left = (ulong)(data.Length - p);
            // Each point takes at least three bytes: a count beyond what is left is malformed (and no loop runs on it).
            if (head > left || backfill > left || head + backfill > left) throw new InvalidDataException("point count");
            long ts = 0;
            bool touched = false;
            for (ulong i = 0; i < head + backfill; i++)
            {
                int level = i < head ? 0 : (int)Math.Min(ReadVarint(data, ref p), int.MaxValue);
                ulong row = ReadVarint(data, ref p);
                ts += UnZigZag(ReadVarint(data, ref p));
                if (!TryReadHeadValue(data, ref p, out double v)) throw new InvalidDataException("value");
                if (row >= (ulong)rows) throw new InvalidDataException("row index");
                if (slots == null)
                {
                    if (level >= s.ArchiveCount || (i >= head && level == 0)) return $"it names archive {level} of series {id}, which its schema does not have";
                    if (!HeadPoint.Fits(ts)) return $"a point of series {id} at {ts} is beyond a head point's range";
                    continue;
                }
                int slot = slots[(int)row];
                if (slot < 0) continue;
                if (i < head) AppendHead(s, ts, v, slot);
                else s.AppendBackfill(level, ts, v, slot);
                CheckpointPoints++;
                touched = true;
            }
            if (touched) Touch(s);
        }
        if (p != data.Length) throw new InvalidDataException("trailing bytes");
        return null;
    }

    /// <summary>Grows one byte array for the blob (a 100 000-series head is ~5 MB); its header is filled by <see cref="Finish"/>.</summary>
    private sealed class CheckpointWriter(int capacity)
    {
        private byte[] _buf = new byte[Math.Max(256, capacity)];
        private int _p = CheckpointHeaderBytes;

        private Span<byte> Room(int n)
        {
            if (_buf.Length - _p < n) Array.Resize(ref _buf, Math.Max(_buf.Length * 2, _p + n));
            return _buf.AsSpan(_p);
        }

        public void Varint(ulong v) => _p += WriteVarint(Room(10), v);

        public void UInt128(UInt128 v)
        {
            BinaryPrimitives.WriteUInt128LittleEndian(Room(16), v);
            _p += 16;
        }

        public void Point(int row, long tsDelta, double v)
        {
            var room = Room(30);
            int n = WriteVarint(room, (ulong)row);
            n += WriteVarint(room[n..], ZigZag(tsDelta));
            n += WriteHeadValue(room[n..], v);
            _p += n;
        }

        public byte[] Finish(uint schemaFingerprint)
        {
            _buf[0] = (byte)'O'; _buf[1] = (byte)'C'; _buf[2] = CheckpointVersion; _buf[3] = 0;
            BinaryPrimitives.WriteUInt32LittleEndian(_buf.AsSpan(4), (uint)(_p - CheckpointHeaderBytes));
            BinaryPrimitives.WriteUInt32LittleEndian(_buf.AsSpan(8), Crc32.Compute(_buf.AsSpan(CheckpointHeaderBytes, _p - CheckpointHeaderBytes)));
            BinaryPrimitives.WriteUInt32LittleEndian(_buf.AsSpan(12), schemaFingerprint);
            return _buf.AsSpan(0, _p).ToArray();
        }
    }
}
