using System.Buffers.Binary;
using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Observe.Collector;
using Observe.Common;
using Observe.Durability;
using static Observe.Common.BinaryCodec;

namespace Observe.Storage.Tsdb;

/// <summary>
/// Embedded time-series store (docs/storage.md): SQLite series index + head table (the write-ahead log),
/// background compaction into Gorilla chunks and whisper-style rollup archives.
/// All state is guarded by one lock; SQLite access goes through one connection.
/// </summary>
internal sealed partial class TimeSeriesStore : IMetricSink, ISeriesReader, IDisposable
{
    /// <summary>Points per chunk before a new one is started (720 = 2 h of 10 s slots).</summary>
    public const int MaxChunkPoints = 720;

    /// <summary>
    /// On-disk format (PRAGMA user_version): 2 = chunk row id keyed by series/level, chunk codec v2; 3 = the same plus
    /// decimal chunks (header flag bit 3), which builds reading format 2 would take for corrupt; 4 = the same plus series
    /// names in <c>series_block</c> rows (SeriesNameBlock.cs), which builds reading format 3 would not see. A format-2 or -3
    /// file is opened and marked 4 (its rows are unchanged).
    /// </summary>
    private const int FormatVersion = 4, OldestReadableFormat = 2;
    private const int ChunkNumberBits = 24, LevelBits = 4;

    /// <summary>
    /// A chunk's row id is (series, level, chunk number) packed into one integer, so the table's own B-tree orders
    /// chunks by series, archive and age: no secondary index and no series/level columns (≈ 30 bytes per row).
    /// </summary>
    internal static long ChunkId(int series, int level, int number) => ((long)series << (ChunkNumberBits + LevelBits)) | ((long)level << ChunkNumberBits) | (uint)number;
    private static (int Series, int Level, int Number) SplitChunkId(long id) =>
        ((int)(id >> (ChunkNumberBits + LevelBits)), (int)((id >> ChunkNumberBits) & ((1 << LevelBits) - 1)), (int)(id & ((1 << ChunkNumberBits) - 1)));

    private readonly object _gate = new();
    private readonly SqliteConnection _conn;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly LogRateLimit _corruptLog;
    private readonly RuleSet _rules;
    private readonly SeriesIndex _byName = new();
    private readonly List<SeriesState> _all = [];
    /// <summary>Series with head (or back-filled) points: compaction works through these, not every series.</summary>
    private List<SeriesState> _touched = [];
    /// <summary>The finest step of any series' schema (long.MaxValue: no series), kept as series register.</summary>
    private long _finestStep = long.MaxValue;
    private readonly MetricTrie _trie = new();
    private readonly List<string> _tagged = [];
    private readonly HeadRows _headRows = new();
    private readonly HashSet<long> _badChunks = [];
    // Prepared in Initialise (after the connection opened), not in the constructor body proper.
    private SqliteCommand _insertHead = null!, _upsertMeta = null!, _selectChunks = null!, _insertChunk = null!, _selectChunkById = null!, _updateChunk = null!;
    private readonly ITimer? _timer;
    private long _lastPersisted = long.MinValue;
    /// <summary>The id the next new series gets (ids are assigned in memory, see <see cref="CreateSeries(string, ref List{SeriesState})"/>).</summary>
    private int _nextId = 1;
    private long _corruptChunks, _corruptHeadRows, _beyondRetention, _seriesDropped;
    private readonly int _maxSeries, _maxFindResults;
    private bool _disposed;

    public string Name => "tsdb";
    public string DatabasePath { get; }

    /// <summary>The largest batch Timestamp whose WriteAsync completed (durably committed); long.MinValue if none.</summary>
    public long LastPersistedBatchTimestamp => Interlocked.Read(ref _lastPersisted);
    /// <summary>Chunks whose length/checksum did not verify; they are never served.</summary>
    public long CorruptChunks => Interlocked.Read(ref _corruptChunks);
    /// <summary>Head (WAL) rows whose checksum did not verify at open; skipped.</summary>
    public long CorruptHeadRows => Interlocked.Read(ref _corruptHeadRows);
    /// <summary>Points older than every archive of their schema: dropped at write (as whisper refuses them), counted here.</summary>
    public long PointsBeyondRetention => Interlocked.Read(ref _beyondRetention);
    /// <summary>Points not stored because they would have created a series beyond <c>storage.maxSeries</c>.</summary>
    public long SeriesDroppedByLimit => Interlocked.Read(ref _seriesDropped);
    public int SeriesCount { get { lock (_gate) return _all.Count; } }
    public int HeadPointCount { get { lock (_gate) return _touched.Sum(s => s.HeadCount); } }
    /// <summary>Series written since the compaction before last (what compaction works through).</summary>
    internal int SeriesWithHead { get { lock (_gate) return _touched.Count; } }

    private TimeSeriesStore(StorageOptions options, TimeProvider time, ILogger log)
    {
        _time = time;
        _log = log;
        _corruptLog = new LogRateLimit(10, TimeSpan.FromMinutes(1), time);
        _rules = new RuleSet(options);
        _maxSeries = options.MaxSeries;
        _maxFindResults = options.MaxFindResults;
        _decoded = new DecodedChunkCache(options.ChunkCacheBytes, time);
        DatabasePath = PathIn(options);
        _conn = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath, Pooling = false, Mode = SqliteOpenMode.ReadWriteCreate,
        }.ToString());
        _conn.Open();
        try { Initialise(options); }
        catch
        {
            // A damaged file is moved aside by Open: nothing of this store may keep it open.
            _conn.Dispose();
            throw;
        }
        Validated = Task.Run(ValidateChunks);
        if (options.CompactionIntervalSeconds > 0)
        {
            var every = TimeSpan.FromSeconds(options.CompactionIntervalSeconds);
            _timer = time.CreateTimer(_ => BackgroundCompact(), null, every, every);
        }
    }

    private void Initialise(StorageOptions options)
    {
        // Only takes effect when the file is created (before WAL mode): chunk blobs of timer means/std reach 3–6 KB,
        // which overflow 4 KiB pages into a page of their own each.
        Exec("PRAGMA page_size=16384;");
        // Likewise only for new files: pages freed by compaction and retention can be given back (ReclaimFreePages).
        Exec("PRAGMA auto_vacuum=INCREMENTAL;");
        Exec("PRAGMA journal_mode=WAL;");
        Exec(options.SynchronousFull ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;");
        CheckFormat();
        // series.name is unique by construction (the in-memory index decides whether a name is new, under the store
        // lock); a UNIQUE index would only store every name a second time.
        Exec($"""
            CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, name TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS series_block(first_id INTEGER PRIMARY KEY, count INTEGER NOT NULL, data BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS head(seq INTEGER PRIMARY KEY, batch_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL, data BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS chunk(id INTEGER PRIMARY KEY, min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL, expires INTEGER NOT NULL, data BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS head_checkpoint(id INTEGER PRIMARY KEY, data BLOB NOT NULL);
            PRAGMA user_version={FormatVersion};
            """);
        _insertHead = Prepare("INSERT INTO head(batch_ts, max_ts, data) VALUES($t, $m, $d) RETURNING seq", "$t", "$m", "$d");
        _upsertMeta = Prepare("INSERT INTO meta(key, value) VALUES('last_batch_ts', $v) ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)", "$v");
        _selectChunks = Prepare("SELECT id, data, min_ts, max_ts FROM chunk WHERE id BETWEEN $lo AND $hi AND max_ts >= $f AND min_ts < $u ORDER BY id", "$lo", "$hi", "$f", "$u");
        _insertChunk = Prepare("INSERT INTO chunk(id, min_ts, max_ts, expires, data) VALUES($i, $a, $b, $e, $d)", "$i", "$a", "$b", "$e", "$d");
        _selectChunkById = Prepare("SELECT data FROM chunk WHERE id = $i", "$i");
        _updateChunk = Prepare("UPDATE chunk SET min_ts = $a, max_ts = $b, expires = $e, data = $d WHERE id = $i", "$a", "$b", "$e", "$d", "$i");
        Load();
    }

    /// <summary>Refuses a database written in an older on-disk format instead of misreading it.</summary>
    private void CheckFormat()
    {
        using var c = _conn.CreateCommand();
        c.CommandText = "PRAGMA user_version";
        long version = (long)c.ExecuteScalar()!;
        c.CommandText = "SELECT count(*) FROM sqlite_master WHERE name = 'chunk'";
        bool populated = (long)c.ExecuteScalar()! > 0;
        // A newer format is a downgrade: the file is fine and only the build that wrote it (or a later one) reads it.
        if (populated && version > FormatVersion)
            throw new InvalidDataException($"{DatabasePath} is in on-disk format {version}, written by a newer Observe; this build reads formats {OldestReadableFormat}–{FormatVersion}. Run that newer build (the file is left as it is; nothing is converted)");
        if (populated && version < OldestReadableFormat)
            throw new InvalidDataException($"{DatabasePath} is in on-disk format {version}, this build reads formats {OldestReadableFormat}–{FormatVersion}; move the file away (nothing is converted)");
        c.CommandText = "PRAGMA auto_vacuum";
        _incrementalVacuum = (long)c.ExecuteScalar()! == 2;
    }

    private void Exec(string sql) { using var c = _conn.CreateCommand(); c.CommandText = sql; c.ExecuteNonQuery(); }

    private SqliteCommand Prepare(string sql, params string[] names)
    {
        var c = _conn.CreateCommand();
        c.CommandText = sql;
        foreach (var n in names) c.Parameters.Add(new SqliteParameter(n, null));
        return c;
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeSeconds();

    private void Load()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var chunkIndex = ReadChunkIndexAsync();
        try { LoadSeriesAndHead(watch, chunkIndex); }
        catch
        {
            // The open fails (a damaged file is moved aside next): the index reader's connection must be closed first.
            try { chunkIndex.Wait(); } catch (AggregateException) { }
            throw;
        }
    }

    private void LoadSeriesAndHead(System.Diagnostics.Stopwatch watch, Task<List<(long Id, long MinTs, long MaxTs)>> chunkIndex)
    {
        var trie = LoadSeriesIndex();
        var byId = SeriesById();
        var seriesTime = watch.Elapsed;
        using (var c = _conn.CreateCommand())
        {
            c.CommandText = "SELECT value FROM meta WHERE key = 'last_batch_ts'";
            if (c.ExecuteScalar() is long v) _lastPersisted = v;
        }
        var checkpointTime = LoadHead(byId, watch);
        var headTime = watch.Elapsed;
        // Read meanwhile on its own connection (TimeSeriesStoreOpenIndex.cs): only the wait for what is left of it counts here.
        ApplyChunkIndex(chunkIndex.GetAwaiter().GetResult(), byId);
        trie.GetAwaiter().GetResult();
        // What a restart costs, by phase (issue 21: time to the first /render).
        _log.LogInformation("tsdb: opened {Series} series, {HeadRows} head rows ({ReplayedRows} replayed: {HeadPoints} points replayed; {CheckpointRows} from the head checkpoint: {CheckpointPoints} points), " +
            "in {Total:F0} ms (series {SeriesMs:F0} ms, head checkpoint {CheckpointMs:F0} ms, head replay {HeadMs:F0} ms, chunk index {ChunkMs:F0} ms)",
            _all.Count, _headRows.Count, _headRows.Count - CheckpointRows, ReplayedHeadPoints, CheckpointRows, CheckpointPoints, watch.Elapsed.TotalMilliseconds,
            seriesTime.TotalMilliseconds, (checkpointTime - seriesTime).TotalMilliseconds, (headTime - checkpointTime).TotalMilliseconds, (watch.Elapsed - headTime).TotalMilliseconds);
    }

    /// <summary>
    /// Makes a series already in <see cref="_byName"/> (committed) visible to listing and compaction; finds see it once
    /// its name is in the trie too (<see cref="AddToTrie"/>). Caller holds the lock.
    /// </summary>
    private void Register(SeriesState s)
    {
        _all.Add(s);
        _finestStep = Math.Min(_finestStep, s.Schema.Archives[0].Step);
        if (s.Name.Contains(';')) _tagged.Add(s.Name);
    }

    // ---- head (WAL) batch blob ----
    // "OB" 2 0 | count u32 | payloadLen u32 | crc32 u32 | payload: batchTs i64, then per point
    // varint zigzag(id − previous id) | varint zigzag(ts − batchTs) | value: varint u with u & 3 = 0 → integer zigzag(u >> 2),
    // 1 → zigzag(u >> 2) / 10 (statsd rates), u = 2 → 8 raw bytes follow. A flush is mostly integers and rates, so a
    // head row is ~4× smaller than with raw doubles: less to checksum, copy and fsync per flush.

    private const byte HeadVersion = 2;

    /// <summary>Scratch the batch blob is built in, kept between flushes (was a fresh 29 bytes per point on the large-object heap each flush). Caller holds the lock.</summary>
    private byte[] _batchScratch = [];
    /// <summary>Each point's series, kept between flushes like <see cref="_batchScratch"/>. Caller holds the lock.</summary>
    private SeriesState[] _statesScratch = [];

    /// <summary>The head row blob of one batch; <paramref name="states"/> holds each point's series. Caller holds the lock.</summary>
    private byte[] EncodeBatch(long batchTs, ReadOnlySpan<SeriesState> states, IReadOnlyList<MetricPoint> points, out long maxTs)
    {
        const int MaxPointBytes = 29; // three varints of ≤ 10 bytes, or two and a tag byte with 8 raw bytes
        // Sized for ~8 bytes a point (a flush is mostly small integers and rates) and grown on the way when it is not.
        var buf = _batchScratch;
        if (buf.Length < 24 + MaxPointBytes) buf = new byte[Math.Max(4096, 24 + points.Count * 8)];
        BinaryPrimitives.WriteInt64LittleEndian(buf.AsSpan(16), batchTs);
        int p = 24;
        maxTs = points.Count == 0 ? batchTs : long.MinValue;
        long prevId = 0;
        for (int i = 0; i < points.Count; i++)
        {
            if (buf.Length - p < MaxPointBytes) Array.Resize(ref buf, checked(buf.Length * 2));
            int id = states[i].Id;
            p += WriteVarint(buf.AsSpan(p), ZigZag(id - prevId));
            prevId = id;
            p += WriteVarint(buf.AsSpan(p), ZigZag(points[i].Timestamp - batchTs));
            p += WriteHeadValue(buf.AsSpan(p), points[i].Value);
            if (points[i].Timestamp > maxTs) maxTs = points[i].Timestamp;
        }
        _batchScratch = buf;
        buf[0] = (byte)'O'; buf[1] = (byte)'B'; buf[2] = HeadVersion;
        buf[3] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(4), (uint)points.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(8), (uint)(p - 16));
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(12), Crc32.Compute(buf.AsSpan(16, p - 16)));
        return buf.AsSpan(0, p).ToArray();
    }

    /// <summary>True when <paramref name="v"/> is bit-exactly <c>n / q</c> (so −0.0, NaN and infinities are not).</summary>
    private static bool IsExactly(double v, double q, out long n)
    {
        n = 0;
        double m = v * q;
        if (!(Math.Abs(m) < 9007199254740992.0)) return false;
        n = (long)Math.Round(m);
        return BitConverter.DoubleToInt64Bits(n / q) == BitConverter.DoubleToInt64Bits(v);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // once per open, over every head point
    private bool TryDecodeBatch(byte[] data, SeriesState?[] byId, long seq, long maxTs)
    {
        if (data.Length < 24 || data[0] != 'O' || data[1] != 'B' || data[2] != HeadVersion) return false;
        int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(4));
        int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(8));
        if (len < 8 || data.Length != 16 + len || BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(12)) != Crc32.Compute(data.AsSpan(16, len))) return false;
        long batchTs = BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(16));
        int p = 24;
        var pts = _replayed;
        pts.Clear();
        long id = 0;
        try
        {
            for (int i = 0; i < count; i++)
            {
                id += UnZigZag(ReadVarint(data, ref p));
                long ts = batchTs + UnZigZag(ReadVarint(data, ref p));
                if (!TryReadHeadValue(data, ref p, out double v)) return false;
                if (id < 0 || id >= byId.Length || byId[id] is not { } s) return false;
                pts.Add((s, ts, v));
            }
        }
        catch (InvalidDataException) { return false; }
        if (p != data.Length) return false;
        int row = _headRows.Add(seq, maxTs);
        foreach (var (s, ts, v) in pts) { Place(s, batchTs, ts, v, row); Touch(s); }
        return true;
    }

    private static long Mod(long a, long m) { long r = a % m; return r < 0 ? r + m : r; }
    private static long AlignDown(long t, long step) => t - Mod(t, step);

    // ---- write ----

    public ValueTask WriteAsync(MetricBatch batch, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // Compaction lets a waiting flush in before it takes the lock again (YieldToWriters): the lock is not fair.
        Interlocked.Increment(ref _writersWaiting);
        long asked = Stopwatch.GetTimestamp();
        int gen2 = GC.CollectionCount(2);
        TimeSpan waited;
        int count;
        lock (_gate)
        {
            long locked = Stopwatch.GetTimestamp(), createTicks = 0;
            waited = Stopwatch.GetElapsedTime(asked, locked);
            Interlocked.Decrement(ref _writersWaiting);
            ObjectDisposedException.ThrowIf(_disposed, this);
            var points = batch.Points;
            count = points.Count;
            if (_byName.Count + points.Count > _maxSeries || RefusingNewSeries) points = WithinSeriesLimit(points);
            // Grown keeping what it holds (each position's series of the previous write, below), with room: a flush one point
            // longer than the last must not lose them all.
            if (_statesScratch.Length < points.Count) Array.Resize(ref _statesScratch, points.Count + Math.Min(points.Count / 16, 65_536));
            var states = _statesScratch.AsSpan(0, points.Count);
            List<SeriesState>? created = null;
            _headRows.EnsureRoom();
            using var tx = _conn.BeginTransaction();
            try
            {
                createTicks = ResolveSeries(points, states, ref created);
                long lookedUp = Stopwatch.GetTimestamp();
                InsertSeries(created, tx);
                long seriesInserted = Stopwatch.GetTimestamp();
                var blob = EncodeBatch(batch.Timestamp, states, points, out long maxTs);
                long encoded = Stopwatch.GetTimestamp();
                _insertHead.Transaction = tx;
                _insertHead.Parameters[0].Value = batch.Timestamp;
                _insertHead.Parameters[1].Value = maxTs;
                _insertHead.Parameters[2].Value = blob;
                long seq = (long)_insertHead.ExecuteScalar()!;
                _upsertMeta.Transaction = tx;
                _upsertMeta.Parameters[0].Value = batch.Timestamp;
                _upsertMeta.ExecuteNonQuery();
                long headInserted = Stopwatch.GetTimestamp();
                WriteHolding?.Invoke();
                tx.Commit();
                long committed = Stopwatch.GetTimestamp();
                // Committed (and, with synchronous=FULL, fsynced): now visible in memory.
                if (created != null) foreach (var s in created) Register(s);
                AddToTrieMeanwhile(created);
                long registered = Stopwatch.GetTimestamp();
                int row = _headRows.Add(seq, maxTs);
                for (int i = 0; i < points.Count; i++)
                {
                    if (!Place(states[i], batch.Timestamp, points[i].Timestamp, points[i].Value, row)) Interlocked.Increment(ref _beyondRetention);
                    Touch(states[i]);
                }
                if (batch.Timestamp > _lastPersisted) Interlocked.Exchange(ref _lastPersisted, batch.Timestamp);
                long appended = Stopwatch.GetTimestamp();
                Volatile.Write(ref _lastWrite, new StorageWritePhases(points.Count, created?.Count ?? 0, waited.TotalSeconds,
                    Seconds(lookedUp - locked - createTicks), Seconds(createTicks), Seconds(seriesInserted - lookedUp), Seconds(encoded - seriesInserted),
                    Seconds(headInserted - encoded), Seconds(committed - headInserted), Seconds(registered - committed), Seconds(appended - registered), Seconds(appended - asked),
                    GC.CollectionCount(2) - gen2));
                CompactSoonerIfBehind();
            }
            catch
            {
                ForgetCreated(created);
                throw;
            }
        }
        // Issue 21: a flush that waited long for the store lock says so (what held it is in compaction's own log line).
        if (waited > SlowLockHold)
            _log.LogWarning("tsdb: a write of {Points} points waited {Ms:F0} ms for the store lock", count, waited.TotalMilliseconds);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Room in the name index and the series lists for <paramref name="fresh"/> more series: what is needed, or a quarter
    /// more than now, at once, instead of doubling as they are added. Issue 21: a first flush creating 1.6 M series doubled
    /// the index and the lists a dozen times each (every old array large-object-heap garbage, held in RSS) and left the
    /// index at 2.8 M entries (80 MB) for 1.6 M names. Caller holds the lock.
    /// </summary>
    private void ReserveSeries(int fresh)
    {
        _byName.Reserve(fresh);
        Reserve(_all, _all.Count + fresh);
        Reserve(_touched, _touched.Count + fresh);
    }

    private static void Reserve<T>(List<T> list, int need)
    {
        if (need > list.Capacity) list.Capacity = Math.Max(need, list.Capacity + list.Capacity / 4);
    }

    /// <summary>
    /// The batch without the points of new series beyond <c>storage.maxSeries</c> (counted), like StatsD's maxActiveKeys:
    /// the series already stored keep being written. Only called when the limit is within reach. Caller holds the lock.
    /// </summary>
    private IReadOnlyList<MetricPoint> WithinSeriesLimit(IReadOnlyList<MetricPoint> points)
    {
        var kept = new List<MetricPoint>(points.Count);
        var fresh = new HashSet<string>(StringComparer.Ordinal);
        long dropped = 0;
        int limit = RefusingNewSeries ? _byName.Count : _maxSeries; // over the memory budget: no new series at all
        foreach (var p in points)
        {
            if (_byName.ContainsKey(p.Path) || fresh.Contains(p.Path)) kept.Add(p);
            else if (_byName.Count + fresh.Count < limit) { fresh.Add(p.Path); kept.Add(p); }
            else dropped++;
        }
        if (dropped > 0) Interlocked.Add(ref _seriesDropped, dropped);
        return kept;
    }

    // ---- read ----

    /// <summary>
    /// Runs without the store lock (the trie allows one writer and concurrent readers): a slow find never holds up a flush.
    /// Names of committed series still on their way into the trie go in first (<see cref="AddToTrieMeanwhile"/>).
    /// </summary>
    public IReadOnlyList<MetricNode> Find(string pattern)
    {
        if (Volatile.Read(ref _trieLists) > 0) DrainTrie();
        return _trie.Find(pattern, _maxFindResults);
    }

    public IReadOnlyList<string> TaggedSeries()
    {
        lock (_gate) return _tagged.ToArray();
    }

    /// <summary>
    /// Whisper's file_fetch: clamps to [now - maxRetention, now], picks the finest archive whose retention
    /// covers <c>now - from</c>, and returns slots from <c>from - from%step + step</c> to
    /// <c>until - until%step + step</c> (one slot more when they are equal). Where whisper returns None
    /// (range wholly in the future or beyond retention) this returns a window with no values.
    /// </summary>
    public SeriesWindow? Fetch(string series, long from, long until)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_byName.TryGetValue(series, out var s)) return null;
            var (k, a, b, step) = Window(s.Schema, from, until);
            return new SeriesWindow(a, b, step, k < 0 ? [] : ReadLevel(s, k, a, b));
        }
    }

    /// <summary>
    /// What <see cref="Fetch"/> would return for <paramref name="series"/> if it existed and every slot were 0: a StatsD
    /// counter nobody has incremented yet counted nothing (for verification, where an absent error counter means no errors).
    /// </summary>
    internal SeriesWindow ZeroWindow(string series, long from, long until)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var (k, a, b, step) = Window(_rules.SchemaFor(series), from, until);
            var zeros = new double?[k < 0 ? 0 : Math.Max(0, (b - a) / step)];
            Array.Fill(zeros, 0);
            return new SeriesWindow(a, b, step, zeros);
        }
    }

    /// <summary>Whisper's window arithmetic for one schema: the archive to read (−1: nothing, the range is in the future or beyond retention) and its aligned slots.</summary>
    private (int Level, long From, long Until, long Step) Window(Schema schema, long from, long until)
    {
        long now = Now();
        var archives = schema.Archives;
        if (from > until) throw new ArgumentException($"invalid time interval: from {from} > until {until}");
        long oldest = now - schema.MaxRetention;
        if (from > now || until < oldest) return (-1, from, until, archives[0].Step);
        if (from < oldest) from = oldest;
        if (until > now) until = now;
        long diff = now - from;
        int k = 0;
        while (k < archives.Length - 1 && archives[k].Retention < diff) k++;
        long step = archives[k].Step;
        long fromI = from - Mod(from, step) + step;
        long untilI = until - Mod(until, step) + step;
        if (fromI == untilI) untilI += step;
        return (k, fromI, untilI, step);
    }

    /// <summary>Slots of archive <paramref name="level"/> over [from, until) (both aligned to its step). Caller holds the lock.</summary>
    private double?[] ReadLevel(SeriesState s, int level, long from, long until)
    {
        long step = s.Schema.Archives[level].Step;
        var vals = new double?[Math.Max(0, (until - from) / step)];
        if (vals.Length == 0) return vals;
        using (var r = SelectChunks(s, level, from, until))
        {
            while (r.Read())
            {
                long id = r.GetInt64(0);
                if (!_badChunks.Contains(id)) PlaceChunk(r, id, s, new WindowSink(vals), from, until, step);
            }
        }
        if (!s.HasHead) return vals;
        if (level == 0)
        {
            foreach (ref readonly var p in HeadOf(s))
                if (p.Ts >= from && p.Ts < until) vals[(p.Ts - from) / step] = p.Value;
        }
        else
        {
            // Whisper rolls up on every write; head rows are not rolled up yet, so aggregate them on the fly.
            long rs = Math.Max(from, AlignDown(HeadMin(s), step));
            if (rs < until)
            {
                long fineStep = s.Schema.Archives[level - 1].Step;
                var coarse = s.Agg.Rollup(ReadLevel(s, level - 1, rs, until), fineStep, step);
                int off = (int)((rs - from) / step);
                for (int j = 0; j < coarse.Length; j++) if (coarse[j] is double d) vals[off + j] = d;
            }
        }
        OverlayBackfill(s, level, from, until, vals);
        return vals;
    }

    private SqliteTransaction? _currentTx;

    public void Dispose()
    {
        _timer?.Dispose();
        _stopValidating = true;
        // Its own read connection must be closed before the file may be moved or deleted.
        try { Validated.Wait(TimeSpan.FromSeconds(30)); } catch (AggregateException) { }
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            DisposeSeriesInsert();
            foreach (var c in new[] { _insertHead, _upsertMeta, _selectChunks, _insertChunk, _selectChunkById, _updateChunk }) c.Dispose();
            _conn.Close();
            _conn.Dispose();
        }
    }
}
