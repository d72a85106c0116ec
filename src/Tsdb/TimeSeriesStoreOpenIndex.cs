using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Observe.Storage.Tsdb;

/// <summary>
/// The chunk index at open (issue 21: restart to first /render): every chunk's id and time range, from which each series
/// learns its tail chunk, newest sealed slot and next chunk number. It is read on its own read-only connection while the
/// store's connection builds the series index and replays the head (0.2–1.7 s of a 100 000-series open at load 35–45), then
/// applied once the series exist. What it throws (a damaged file) is thrown by the open, as when it was read in line.
/// </summary>
internal sealed partial class TimeSeriesStore
{
    /// <summary>
    /// The series index at open: every series row becomes its <see cref="SeriesState"/> in the name index and the series list.
    /// The name trie (a third of this work at 100 000 series: 0.28–0.32 s of ≈ 1 s at load 22) is built on a thread of its own
    /// meanwhile, while the head is loaded and the chunk index applied; the open waits for the returned task before it ends
    /// (nothing reads the trie before the store is published, and only that thread writes it until then).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per open, over every series: optimised at once, not as tier-0 code
    private Task LoadSeriesIndex()
    {
        PresizeSeriesIndex();
        using (var c = _conn.CreateCommand())
        {
            c.CommandText = "SELECT id, name FROM series ORDER BY id";
            using var r = c.ExecuteReader();
            while (r.Read()) AddLoaded(r.GetInt32(0), r.GetString(1));
        }
        using (var c = _conn.CreateCommand())
        {
            // Format 4: the names of writes that created many series, a block per row.
            c.CommandText = "SELECT first_id, count, data FROM series_block ORDER BY first_id";
            using var r = c.ExecuteReader();
            while (r.Read())
            {
                int first = r.GetInt32(0);
                long count = r.GetInt64(1);
                // The ids of a block that does not verify are never given again: its series' chunks carry them.
                _nextId = (int)Math.Clamp(first + count, _nextId, int.MaxValue);
                try { SeriesNameBlock.Decode(r.GetFieldValue<byte[]>(2), (k, name) => AddLoaded(first + k, name)); }
                catch (InvalidDataException e)
                {
                    // Skipped like a corrupt head row: the other series are served; these are not (their head points count as corrupt rows).
                    Interlocked.Increment(ref _corruptSeriesBlocks);
                    _log.LogError("tsdb: series block {First} ({Count} series from id {First}) does not verify ({Reason}): those series are not served", first, count, first, e.Message);
                }
            }
        }
        var all = _all.ToArray();
        return Task.Factory.StartNew(() =>
        {
            foreach (var s in all) if (!s.Name.Contains(';')) _trie.Add(s.Name);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private long _corruptSeriesBlocks;

    /// <summary>Blocks of series names (format 4) that did not verify at open: their series are not served.</summary>
    internal long CorruptSeriesBlocks => Interlocked.Read(ref _corruptSeriesBlocks);

    private void AddLoaded(int id, string name)
    {
        var s = new SeriesState(id, name, _rules.KindFor(name));
        // A name twice (a damaged table): the later row wins, as it always did.
        if (!_byName.TryAdd(s)) { _byName.Remove(name); _byName.TryAdd(s); }
        Register(s);
        _nextId = Math.Max(_nextId, s.Id + 1);
    }

    private Task<List<(long Id, long MinTs, long MaxTs)>> ReadChunkIndexAsync() => Task.Factory.StartNew(() =>
    {
        using var conn = OpenReadOnly();
        using var c = conn.CreateCommand();
        // The index only: the blobs (most of the file) are checked by ValidateChunks after open and by every read.
        c.CommandText = "SELECT id, min_ts, max_ts FROM chunk ORDER BY id";
        using var r = c.ExecuteReader();
        var rows = new List<(long, long, long)>();
        while (r.Read()) rows.Add((r.GetInt64(0), r.GetInt64(1), r.GetInt64(2)));
        return rows;
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>A read-only connection of its own (WAL: readers do not block the store's writer).</summary>
    private SqliteConnection OpenReadOnly()
    {
        var conn = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath, Pooling = false, Mode = SqliteOpenMode.ReadOnly,
        }.ToString());
        conn.Open();
        return conn;
    }

    private static void ApplyChunkIndex(List<(long Id, long MinTs, long MaxTs)> rows, SeriesState?[] byId)
    {
        foreach (var (id, minTs, maxTs) in rows)
        {
            var (series, level, number) = SplitChunkId(id);
            if ((uint)series >= (uint)byId.Length || byId[series] is not { } s || level >= s.ArchiveCount) continue;
            ref var arch = ref s.Arch(level);
            arch.NextChunk = Math.Max(arch.NextChunk, number + 1);
            // Count unknown (0): compaction reads the tail and merges only while the union fits (PlanChunk).
            arch.Tail = new TailChunk(number, minTs, maxTs, 0, minTs > arch.SealedMax);
            arch.SealedMax = Math.Max(arch.SealedMax, maxTs);
        }
    }
}
