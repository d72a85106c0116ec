using System.Collections.Concurrent;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Observe.Storage.Tsdb;

/// <summary>
/// Creating series (issue 21: a first flush at a million StatsD names creates 13.7 M): the series object, its place in the
/// name index, its row in the <c>series</c> table (in the write's own transaction) and, once committed, its name in the trie.
/// </summary>
internal sealed partial class TimeSeriesStore
{
    /// <summary>Rows per multi-row series INSERT.</summary>
    internal const int SeriesInsertBatch = 512;

    /// <summary>
    /// The series INSERTs as raw SQLite statements on the store's connection (so inside its transaction), bound by position from
    /// one reused UTF-8 buffer. Issue 21: through <see cref="SqliteCommand"/>, every parameter of a 64-row statement was bound
    /// by name — the name converted to UTF-8 (a fresh array) and looked up in the statement's list of 128 names, a linear
    /// scan — and every id boxed: 16.2 s of the 13.7 M-series first flush at a million names.
    /// </summary>
    private readonly sqlite3_stmt?[] _seriesRows = new sqlite3_stmt?[SeriesInsertLevels];
    /// <summary>Statements of 512, 256, …, 1 rows: a write's rows take at most count / 512 + 9 statements.</summary>
    private const int SeriesInsertLevels = 10;
    private byte[] _nameUtf8 = new byte[256];
    private long _seriesInsertStatements;

    /// <summary>Series INSERT statements run since open (tests: a write creating many series runs few).</summary>
    internal long SeriesInsertStatements => Interlocked.Read(ref _seriesInsertStatements);

    /// <summary>The statement inserting <c>SeriesInsertBatch &gt;&gt; level</c> rows, prepared when first needed.</summary>
    private sqlite3_stmt SeriesRows(int level) =>
        _seriesRows[level] ??= PrepareRaw("INSERT INTO series(id, name) VALUES " + string.Join(", ", Enumerable.Repeat("(?, ?)", SeriesInsertBatch >> level)));

    private sqlite3_stmt PrepareRaw(string sql)
    {
        var db = _conn.Handle!;
        int rc = raw.sqlite3_prepare_v2(db, sql, out var stmt);
        if (rc != raw.SQLITE_OK)
        {
            stmt?.Dispose();
            SqliteException.ThrowExceptionForRC(rc, db);
        }
        return stmt!;
    }

    private void DisposeSeriesInsert()
    {
        foreach (var stmt in _seriesRows) stmt?.Dispose();
        _insertBlock?.Dispose();
    }

    /// <summary>
    /// A new series with the next id, in <see cref="_byName"/> at once (so the same batch finds it) but registered only once its
    /// row is committed; <see cref="InsertSeries"/> writes the rows, <see cref="ForgetCreated"/> undoes it on a rollback.
    /// Caller holds the lock.
    /// </summary>
    private SeriesState CreateSeries(string name, ref List<SeriesState>? created)
    {
        var s = new SeriesState(_nextId++, name, _rules.KindFor(name));
        _byName.TryAdd(s);
        (created ??= []).Add(s);
        return s;
    }

    /// <summary>
    /// <see cref="CreateSeries(string, ref List{SeriesState})"/> for a name just missed in the index at <paramref name="slot"/>
    /// with <paramref name="hash"/> (<see cref="SeriesIndex.Find(string, int, out int)"/>): the name is neither hashed nor
    /// looked up again (it was three times per new name). Caller holds the lock.
    /// </summary>
    private SeriesState CreateSeries(string name, int hash, int slot, List<SeriesState> created)
    {
        var s = new SeriesState(_nextId++, name, _rules.KindFor(name));
        _byName.AddAt(slot, s, hash);
        created.Add(s);
        return s;
    }

    /// <summary>New series per write from which their names go into <c>series_block</c> rows (SeriesNameBlock.cs) instead of <c>series</c> rows.</summary>
    internal const int SeriesBlockMin = 1024;
    /// <summary>A block's bounds: names, and bytes of its blob (names are front-coded, so most hold all 65 536).</summary>
    private const int SeriesBlockMaxNames = 65_536, SeriesBlockMaxBytes = 4 << 20;
    private sqlite3_stmt? _insertBlock;
    private byte[] _blockScratch = new byte[4096], _blockNames = new byte[512];

    /// <summary>
    /// The names of <paramref name="created"/> (consecutive ids) as <c>series_block</c> rows of up to 65 536 names each, in the
    /// caller's transaction. Issue 21: 13.7 M <c>series</c> rows were 16.2 s of a first flush at a million names (SQLite's
    /// work per row: a record, a B-tree insert, ~70 bytes to the WAL); a block is one row of a few MB of front-coded names.
    /// </summary>
    private void InsertSeriesBlocks(List<SeriesState> created)
    {
        var stmt = _insertBlock ??= PrepareRaw("INSERT INTO series_block(first_id, count, data) VALUES (?, ?, ?)");
        for (int i = 0; i < created.Count;)
        {
            var blob = SeriesNameBlock.Encode(created, i, Math.Min(SeriesBlockMaxNames, created.Count - i), SeriesBlockMaxBytes, ref _blockScratch, ref _blockNames, out int n);
            Check(raw.sqlite3_bind_int64(stmt, 1, created[i].Id));
            Check(raw.sqlite3_bind_int64(stmt, 2, n));
            Check(raw.sqlite3_bind_blob(stmt, 3, blob));
            Step(stmt);
            i += n;
        }
    }

    /// <summary>The series rows of <paramref name="created"/>, in the caller's transaction (the store's connection), 512 rows per statement, the rest in 256, 128, … 1.</summary>
    private void InsertSeries(List<SeriesState>? created, SqliteTransaction tx)
    {
        if (created == null) return;
        _ = tx; // the raw statements run on the connection tx belongs to, so inside it
        if (created.Count >= SeriesBlockMin)
        {
            InsertSeriesBlocks(created);
            return;
        }
        int i = 0;
        for (int level = 0; level < SeriesInsertLevels; level++)
        {
            int rows = SeriesInsertBatch >> level;
            for (; i + rows <= created.Count; i += rows)
            {
                var stmt = SeriesRows(level);
                for (int j = 0; j < rows; j++) BindRow(stmt, 2 * j + 1, created[i + j]);
                Step(stmt);
            }
        }
    }

    private void BindRow(sqlite3_stmt stmt, int index, SeriesState s)
    {
        Check(raw.sqlite3_bind_int64(stmt, index, s.Id));
        var name = s.Name;
        int max = Encoding.UTF8.GetMaxByteCount(name.Length);
        if (_nameUtf8.Length < max) _nameUtf8 = new byte[Math.Max(max, _nameUtf8.Length * 2)];
        // Copied by SQLite (SQLITE_TRANSIENT): the buffer is reused for the next name. Like the binding it replaces, a lone
        // surrogate becomes U+FFFD.
        int n = Encoding.UTF8.GetBytes(name, _nameUtf8);
        // An empty span would be bound as NULL (no pointer to pass).
        Check(n == 0 ? raw.sqlite3_bind_text(stmt, index + 1, "") : raw.sqlite3_bind_text(stmt, index + 1, _nameUtf8.AsSpan(0, n)));
    }

    private void Step(sqlite3_stmt stmt)
    {
        int rc = raw.sqlite3_step(stmt);
        int reset = raw.sqlite3_reset(stmt);
        Interlocked.Increment(ref _seriesInsertStatements);
        if (rc != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(reset != raw.SQLITE_OK ? reset : rc, _conn.Handle);
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK) SqliteException.ThrowExceptionForRC(rc, _conn.Handle);
    }

    /// <summary>One writer of the trie at a time (<see cref="MetricTrie"/>).</summary>
    private readonly object _trieWriter = new();
    /// <summary>Committed series whose names are not in the trie yet, a write's list each; <see cref="_trieLists"/> counts them until wholly added.</summary>
    private readonly ConcurrentQueue<List<SeriesState>> _trieBacklog = new();
    private int _trieLists;

    /// <summary>New series per write from which their names go into the trie on a thread of their own.</summary>
    internal const int TrieMeanwhileMin = 10_000;

    /// <summary>
    /// The committed <paramref name="created"/> names into the trie: a few at once; many (a first flush) on a thread of their
    /// own, off the write. A find drains what is left before it reads the trie (<see cref="DrainTrie"/>), so it lists every
    /// series of every write that completed before it. Issue 21: 13.7 M trie inserts under the store lock were 7.6 s of the
    /// first flush at a million names. Caller holds the lock.
    /// </summary>
    private void AddToTrieMeanwhile(List<SeriesState>? created)
    {
        if (created == null) return;
        if (created.Count < TrieMeanwhileMin && Volatile.Read(ref _trieLists) == 0)
        {
            lock (_trieWriter) AddToTrie(created);
            return;
        }
        // Queued behind any list still queued, even a small one: waiting for the trie writer here would hold the store lock.
        Interlocked.Increment(ref _trieLists);
        _trieBacklog.Enqueue(created);
        Task.Factory.StartNew(DrainTrie, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Every queued list into the trie; returns once none is queued or being added (a list in progress is waited for).</summary>
    private void DrainTrie()
    {
        lock (_trieWriter)
        {
            while (_trieBacklog.TryDequeue(out var list))
            {
                AddToTrie(list);
                Interlocked.Decrement(ref _trieLists);
            }
        }
    }

    /// <summary>Finds see <paramref name="created"/> (tagged names are listed by <see cref="TaggedSeries"/> instead). Caller holds <see cref="_trieWriter"/>.</summary>
    private void AddToTrie(List<SeriesState> created)
    {
        foreach (var s in created)
            if (!s.Name.Contains(';')) _trie.Add(s.Name);
    }

    /// <summary>Undoes <see cref="CreateSeries(string, ref List{SeriesState})"/> after a rolled-back transaction: the names and ids are free again.</summary>
    private void ForgetCreated(List<SeriesState>? created)
    {
        if (created == null) return;
        Array.Clear(_statesScratch); // it may hold them: the next write must not find them there
        foreach (var s in created) _byName.Remove(s.Name);
        _nextId = created[0].Id;
    }
}
