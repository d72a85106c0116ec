namespace Observe.Storage.Tsdb;

/// <summary>
/// One unsealed point of a series: its slot timestamp, value and the head row (WAL) it came in, as that row's slot in
/// <see cref="HeadRows"/> packed with the timestamp into one long: 16 bytes instead of 24 (issue 21: a series keeps 8).
/// </summary>
internal readonly struct HeadPoint
{
    /// <summary>Bits of the head-row slot (<see cref="HeadRows.MaxRows"/> rows at most); the timestamp has the other 40.</summary>
    internal const int RowBits = 24;
    /// <summary>Timestamps a head point holds: ±2^39 s (± 17 000 years around 1970); <see cref="Fits"/> decides, Place refuses others.</summary>
    internal const long MinTs = -(1L << 39), MaxTs = (1L << 39) - 1;
    private readonly long _tsRow;
    public readonly double Value;

    public HeadPoint(long ts, double value, int row)
    {
        if (!Fits(ts) || (uint)row >= HeadRows.MaxRows) throw new ArgumentOutOfRangeException(nameof(ts), $"head point ({ts}, row {row}) out of range");
        _tsRow = (ts << RowBits) | (uint)row;
        Value = value;
    }

    public long Ts => _tsRow >> RowBits;
    /// <summary>The slot of the head row this point came in (<see cref="HeadRows"/>).</summary>
    public int Row => (int)(_tsRow & (HeadRows.MaxRows - 1));
    public static bool Fits(long ts) => ts >= MinTs && ts <= MaxTs;
}

/// <param name="Number">The chunk's number in its archive (its row id is <see cref="TimeSeriesStore.ChunkId"/> of the series, the archive and this).</param>
/// <param name="Count">Its points; at most <see cref="ArchiveState.MaxCount"/> is kept (more reads as that: a full chunk either way).</param>
/// <param name="Contiguous">No older chunk of its archive holds a slot at or after <c>MinTs</c>: the tail alone is the archive from there on.</param>
internal readonly record struct TailChunk(int Number, long MinTs, long MaxTs, int Count, bool Contiguous);

/// <summary>
/// What the store knows of one archive of a series without reading chunks (32 bytes, three inline per series): the newest
/// sealed slot and the tail's time range, and in one word the next chunk number, the tail's chunk number (its row id follows
/// from the series and the archive: 8 bytes less than keeping the id), its point count and two flags.
/// </summary>
internal struct ArchiveState
{
    /// <summary>The newest slot timestamp stored in a sealed chunk (long.MinValue: none).</summary>
    public long SealedMax;
    private long _tailMin, _tailMax;
    // Bits 0–24: the next chunk number (0 … 2^24); 25–48: the tail's number; 49–61: its count; 62: a tail; 63: contiguous.
    private ulong _bits;
    private const int NumberBits = 24, CountShift = 25 + NumberBits, CountBits = 13;
    private const ulong NextMask = (1UL << 25) - 1, NumberMask = ((1UL << NumberBits) - 1) << 25, CountMask = ((1UL << CountBits) - 1) << CountShift,
        HasTail = 1UL << 62, Contiguous = 1UL << 63;
    /// <summary>The largest tail point count kept (chunks hold at most <see cref="TimeSeriesStore.MaxChunkPoints"/>).</summary>
    public const int MaxCount = (1 << CountBits) - 1;

    /// <summary>The next chunk number (the low bits of the chunk's row id, see <see cref="TimeSeriesStore.ChunkId"/>): 0 … 2^24.</summary>
    public int NextChunk
    {
        readonly get => (int)(_bits & NextMask);
        set
        {
            if ((uint)value > 1u << NumberBits) throw new ArgumentOutOfRangeException(nameof(value), $"chunk number {value}");
            _bits = (_bits & ~NextMask) | (uint)value;
        }
    }

    /// <summary>The newest chunk, which later compactions extend until it holds <see cref="TimeSeriesStore.MaxChunkPoints"/>.</summary>
    public TailChunk? Tail
    {
        readonly get => (_bits & HasTail) != 0
            ? new TailChunk((int)((_bits & NumberMask) >> 25), _tailMin, _tailMax, (int)((_bits & CountMask) >> CountShift), (_bits & Contiguous) != 0) : null;
        set
        {
            ulong next = _bits & NextMask;
            if (value is not { } t) { _tailMin = _tailMax = 0; _bits = next; return; }
            if ((uint)t.Number >= 1u << NumberBits) throw new ArgumentOutOfRangeException(nameof(value), $"chunk number {t.Number}");
            if (t.Count < 0) throw new ArgumentOutOfRangeException(nameof(value), $"a chunk of {t.Count} points");
            (_tailMin, _tailMax) = (t.MinTs, t.MaxTs);
            _bits = next | ((ulong)t.Number << 25) | ((ulong)Math.Min(t.Count, MaxCount) << CountShift) | HasTail | (t.Contiguous ? Contiguous : 0);
        }
    }

    public static ArchiveState Empty => new() { SealedMax = long.MinValue };
}

internal sealed partial class TimeSeriesStore
{
    /// <summary>
    /// Per-series state, kept small because there are millions (issue 21: ≈ 390 bytes per series before): the rules as one
    /// shared <see cref="SeriesKind"/>, head points in the head rows' columns (no array per series), and the state of the
    /// first three archives inline (no per-archive arrays or tail-chunk objects); only schemas with more archives carry an
    /// array for the rest.
    /// </summary>
    internal sealed class SeriesState
    {
        public readonly int Id;
        public readonly string Name;
        public readonly SeriesKind Kind;
        // The head count, and in the top bit Touched (a bool of its own padded the object by 8 bytes).
        private int _headTouched;

        /// <summary>Its head points: in the head rows' columns (<see cref="HeadColumn"/>) and its extra points, not counting back-filled ones.</summary>
        public int HeadCount
        {
            get => _headTouched & int.MaxValue;
            set => _headTouched = (_headTouched & int.MinValue) | (value & int.MaxValue);
        }

        /// <summary>In the store's list of series written since the compaction before last (what compaction looks at).</summary>
        public bool Touched
        {
            get => _headTouched < 0;
            set => _headTouched = value ? _headTouched | int.MinValue : _headTouched & int.MaxValue;
        }
        /// <summary>Its point's position in the last write (−1: none yet): a write finds series by position (ResolveSeries).</summary>
        public int Position = -1;
        private ArchiveState _a0 = ArchiveState.Empty, _a1 = ArchiveState.Empty, _a2 = ArchiveState.Empty;
        /// <summary>What few series need (archives beyond three, back-filled points), behind one reference instead of one each.</summary>
        private Rare? _rare;

        private sealed class Rare
        {
            public ArchiveState[]? More;
            public List<(int Level, long Ts, double Value, int Row)>? Backfill;
            public List<HeadPoint>? Extra;
        }

        /// <summary>
        /// Head points not in their row's column (<see cref="HeadColumn"/>): at another slot than the row's, or a second point
        /// of this series in one row; in write order. Few series have any.
        /// </summary>
        public List<HeadPoint>? Extra
        {
            get => _rare?.Extra;
            set { if (value != null || _rare != null) (_rare ??= new Rare()).Extra = value; }
        }

        /// <summary>
        /// Back-filled points older than the finest archive's retention, each kept for the finest archive that covers it
        /// (whisper's file_update writes such a point straight into that archive); sealed with the head row they came in.
        /// </summary>
        public List<(int Level, long Ts, double Value, int Row)>? Backfill
        {
            get => _rare?.Backfill;
            set { if (value != null || _rare != null) (_rare ??= new Rare()).Backfill = value; }
        }

        public SeriesState(int id, string name, SeriesKind kind)
        {
            Id = id;
            Name = name;
            Kind = kind;
            int n = kind.Schema.Archives.Length;
            if (n > 3)
            {
                _rare = new Rare { More = new ArchiveState[n - 3] };
                Array.Fill(_rare.More, ArchiveState.Empty);
            }
        }

        public SeriesState(int id, string name, Schema schema, Aggregation agg) : this(id, name, new SeriesKind(schema, agg)) { }

        public Schema Schema => Kind.Schema;
        public Aggregation Agg => Kind.Agg;
        public int ArchiveCount => Kind.Schema.Archives.Length;

        /// <summary>Archive <paramref name="level"/>'s state, by reference (updated in place). Levels 0–2 exist whatever the schema (unused ones stay empty).</summary>
        public ref ArchiveState Arch(int level)
        {
            switch (level)
            {
                case 0: return ref _a0;
                case 1: return ref _a1;
                case 2: return ref _a2;
                default:
                    if ((uint)level >= (uint)ArchiveCount) throw new ArgumentOutOfRangeException(nameof(level));
                    return ref _rare!.More![level - 3];
            }
        }

        /// <summary>A copy of every archive's tail chunk (compaction plans against the copy and applies it after the commit).</summary>
        public TailChunk?[] CopyTails()
        {
            var t = new TailChunk?[ArchiveCount];
            for (int k = 0; k < t.Length; k++) t[k] = Arch(k).Tail;
            return t;
        }

        public bool HasHead => HeadCount > 0 || Backfill is { Count: > 0 };

        public void AppendBackfill(int level, long ts, double v, int row)
        {
            (Backfill ??= []).Add((level, ts, v, row));
        }
    }
}
