namespace Observe.Storage.Tsdb;

/// <summary>
/// The head rows (WAL rows) held in memory, each under a small slot number that its points carry
/// (<see cref="HeadPoint.Row"/>, 24 bits instead of the row's 64-bit sequence number). A slot is reused only once
/// compaction has deleted its row and released the row's points from every series, so there are about as many slots as
/// flushes between two compactions. Each row holds its points in a <see cref="HeadColumn"/> (the series' values by id at
/// the row's slot, <see cref="ColumnSlot"/>). Not thread-safe: the store's lock guards it.
/// </summary>
internal sealed class HeadRows
{
    public const int MaxRows = 1 << HeadPoint.RowBits;

    private enum State : byte { Free, Live, Releasing }

    private long[] _seq = new long[16], _maxTs = new long[16];
    private State[] _state = new State[16];
    private HeadColumn?[] _columns = new HeadColumn?[16];
    private readonly Stack<int> _free = new();
    private readonly HeadPagePool _pool = new();
    private int _used;
    /// <summary>The live slots by seq (what a series' head is read in), rebuilt when rows come or go; null: stale.</summary>
    private int[]? _ordered;

    /// <summary>Live rows: written and not yet deleted by a compaction.</summary>
    public int Count { get; private set; }

    /// <summary>Slots handed out so far (free ones included): a sealed-row mask of this length covers every live row.</summary>
    public int Capacity => _used;

    /// <summary>Throws when no slot is left: <see cref="MaxRows"/> rows in memory (compaction is not keeping up). Before the row is written.</summary>
    public void EnsureRoom()
    {
        if (_free.Count == 0 && _used == MaxRows) throw new InvalidOperationException($"the head holds {MaxRows} rows not yet compacted: compaction is not keeping up");
    }

    /// <summary>Takes a slot for a new head row (see <see cref="EnsureRoom"/>).</summary>
    public int Add(long seq, long maxTs)
    {
        int slot;
        if (_free.Count > 0) slot = _free.Pop();
        else
        {
            EnsureRoom();
            if (_used == _seq.Length)
            {
                int n = Math.Min(MaxRows, _used * 2);
                Array.Resize(ref _seq, n); Array.Resize(ref _maxTs, n); Array.Resize(ref _state, n); Array.Resize(ref _columns, n);
            }
            slot = _used++;
        }
        _seq[slot] = seq; _maxTs[slot] = maxTs; _state[slot] = State.Live;
        _columns[slot] ??= new HeadColumn(_pool);
        _ordered = null;
        Count++;
        return slot;
    }

    /// <summary>The points of the row in this slot that sit in its column (live or being released).</summary>
    public HeadColumn Column(int slot) => _columns[slot]!;

    /// <summary>
    /// The slot timestamp a point of a series with archive-0 step <paramref name="step"/> has when it sits in this row's column:
    /// the row's newest point's slot (a flush's points all share one timestamp). Others are the series' extra points.
    /// </summary>
    public long ColumnSlot(int slot, long step)
    {
        long t = _maxTs[slot], r = t % step;
        return t - (r < 0 ? r + step : r);
    }

    /// <summary>The live rows' slots in write (seq) order: the order a series' head points are read in.</summary>
    public ReadOnlySpan<int> LiveInOrder()
    {
        if (_ordered == null)
        {
            var live = new List<int>(Count);
            for (int i = 0; i < _used; i++) if (_state[i] == State.Live) live.Add(i);
            live.Sort((a, b) => _seq[a].CompareTo(_seq[b]));
            _ordered = [.. live];
        }
        return _ordered;
    }

    /// <summary>Drops the pages kept for later rows (the store relieving memory).</summary>
    public void TrimPool() => _pool.Clear();

    /// <summary>True when a live row's newest point is older than <paramref name="cutoff"/> (compaction would seal it).</summary>
    public bool AnyBefore(long cutoff)
    {
        for (int i = 0; i < _used; i++) if (_state[i] == State.Live && _maxTs[i] < cutoff) return true;
        return false;
    }

    /// <summary>The live rows whose newest point is older than <paramref name="cutoff"/>: what one compaction seals.</summary>
    public SealedRows Select(long cutoff)
    {
        var mask = new bool[_used];
        var slots = new List<int>();
        for (int i = 0; i < _used; i++)
            if (_state[i] == State.Live && _maxTs[i] < cutoff) { mask[i] = true; slots.Add(i); }
        return new SealedRows(mask, [.. slots]);
    }

    public long SeqOf(int slot) => _seq[slot];

    /// <summary>The slot holds a row that is written and not deleted (what a head checkpoint covers).</summary>
    public bool IsLive(int slot) => (uint)slot < (uint)_used && _state[slot] == State.Live;

    /// <summary>These rows are deleted from the database: no longer live, their slots still taken by points being released.</summary>
    public void Deleted(SealedRows rows)
    {
        foreach (int slot in rows.Slots)
        {
            if (_state[slot] != State.Live) throw new InvalidOperationException($"head row slot {slot} is not live");
            _state[slot] = State.Releasing;
            Count--;
        }
        _ordered = null;
    }

    /// <summary>Every series has let go of the rows' points: their slots can be taken again.</summary>
    public void Free(SealedRows rows)
    {
        foreach (int slot in rows.Slots)
        {
            if (_state[slot] != State.Releasing) throw new InvalidOperationException($"head row slot {slot} is not being released");
            _state[slot] = State.Free;
            _columns[slot]!.Clear();
            _free.Push(slot);
        }
    }
}

/// <summary>The head rows one compaction seals: a mask by slot (one array read per point instead of a hash lookup) and the slots.</summary>
internal sealed class SealedRows(bool[] mask, int[] slots)
{
    public int[] Slots { get; } = slots;
    public int Count => Slots.Length;

    /// <summary>True for a point of a sealed row; slots taken after the selection (rows written during the compaction) are not.</summary>
    public bool Contains(int row) => (uint)row < (uint)mask.Length && mask[row];
}
