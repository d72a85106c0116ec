namespace Observe.Storage.Tsdb;

/// <summary>One unsealed point of a series: its slot, value and the head row (WAL) it came in.</summary>
internal readonly record struct HeadPoint(long Ts, double Value, long Seq);

/// <param name="Contiguous">No older chunk of its archive holds a slot at or after <c>MinTs</c>: the tail alone is the archive from there on.</param>
internal readonly record struct TailChunk(long Id, long MinTs, long MaxTs, int Count, bool Contiguous);

/// <summary>What the store knows of one archive of a series without reading chunks (48 bytes; the tail's fields inline).</summary>
internal struct ArchiveState
{
    /// <summary>The newest slot timestamp stored in a sealed chunk (long.MinValue: none).</summary>
    public long SealedMax;
    private long _tailId, _tailMin, _tailMax;
    private int _tailCount;
    /// <summary>The next chunk number (the low bits of the chunk's row id, see <see cref="TimeSeriesStore.ChunkId"/>).</summary>
    public int NextChunk;
    private bool _hasTail, _tailContiguous;

    /// <summary>The newest chunk, which later compactions extend until it holds <see cref="TimeSeriesStore.MaxChunkPoints"/>.</summary>
    public TailChunk? Tail
    {
        readonly get => _hasTail ? new TailChunk(_tailId, _tailMin, _tailMax, _tailCount, _tailContiguous) : null;
        set
        {
            _hasTail = value.HasValue;
            (_tailId, _tailMin, _tailMax, _tailCount, _tailContiguous) = value is { } t ? (t.Id, t.MinTs, t.MaxTs, t.Count, t.Contiguous) : default;
        }
    }

    public static ArchiveState Empty => new() { SealedMax = long.MinValue };
}

internal sealed partial class TimeSeriesStore
{
    /// <summary>
    /// Per-series state, kept small because there are millions (issue 21: ≈ 390 bytes per series before): the rules as one
    /// shared <see cref="SeriesKind"/>, head points in one struct array, and the state of the first three archives inline
    /// (no per-archive arrays or tail-chunk objects); only schemas with more archives carry an array for the rest.
    /// </summary>
    internal sealed class SeriesState
    {
        public readonly int Id;
        public readonly string Name;
        public readonly SeriesKind Kind;
        public HeadPoint[] Head = [];
        public int HeadCount;
        public long HeadMin = long.MaxValue;
        /// <summary>In the store's list of series written since the compaction before last (what compaction looks at).</summary>
        public bool Touched;
        private ArchiveState _a0 = ArchiveState.Empty, _a1 = ArchiveState.Empty, _a2 = ArchiveState.Empty;
        private readonly ArchiveState[]? _more;

        /// <summary>
        /// Back-filled points older than the finest archive's retention, each kept for the finest archive that covers it
        /// (whisper's file_update writes such a point straight into that archive); sealed with the head row they came in.
        /// </summary>
        public List<(int Level, long Ts, double Value, long Seq)>? Backfill;

        public SeriesState(int id, string name, SeriesKind kind)
        {
            Id = id;
            Name = name;
            Kind = kind;
            int n = kind.Schema.Archives.Length;
            if (n > 3)
            {
                _more = new ArchiveState[n - 3];
                Array.Fill(_more, ArchiveState.Empty);
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
                    return ref _more![level - 3];
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

        public void AppendBackfill(int level, long ts, double v, long seq)
        {
            (Backfill ??= []).Add((level, ts, v, seq));
            if (ts < HeadMin) HeadMin = ts;
        }

        public void Append(long ts, double v, long seq)
        {
            if (HeadCount == Head.Length) Array.Resize(ref Head, Math.Max(8, HeadCount * 2));
            Head[HeadCount++] = new HeadPoint(ts, v, seq);
            if (ts < HeadMin) HeadMin = ts;
        }
    }
}
