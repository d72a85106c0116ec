using System.Numerics;
using System.Runtime.CompilerServices;

namespace Observe.Storage.Tsdb;

/// <summary>
/// The points one head row holds in its column (issue 21, docs/storage.md "Memory per series"): each series' value by its
/// id, in pages of 256 ids allocated when a point of theirs comes, a page's values packed in id order behind a 256-bit
/// presence mask (a value's place is the count of set bits before it). A flush that writes every series costs ≈ 8.3 bytes a
/// point and no object per series (a per-series array was 152 bytes and an object to trace); a row touching few series
/// pays a small page per series touched. The timestamp is the row's (see <see cref="HeadRows.ColumnSlot"/>); points that do not
/// fit (another slot, a second point of a series in one row) are the series' own extra points. Pages come from and go back
/// to a pool shared by the rows, so the rows a compaction frees are the next flushes' columns, not garbage.
/// Not thread-safe: the store's lock guards it.
/// </summary>
internal sealed class HeadColumn(HeadPagePool pool)
{
    private HeadPage?[] _pages = [];

    /// <summary>Points in the column.</summary>
    public int Count { get; private set; }

    /// <summary>Puts the value of series <paramref name="id"/>; false when the column holds one already (it is left as it was).</summary>
    public bool TryAdd(int id, double value)
    {
        int p = id >> HeadPage.Bits;
        if ((uint)p >= (uint)_pages.Length) Grow(p);
        var page = _pages[p] ??= pool.Take();
        if (!page.TryAdd(id & (HeadPage.Size - 1), value)) return false;
        Count++;
        return true;
    }

    public bool TryGet(int id, out double value)
    {
        int p = id >> HeadPage.Bits;
        if ((uint)p < (uint)_pages.Length && _pages[p] is { } page) return page.TryGet(id & (HeadPage.Size - 1), out value);
        value = 0;
        return false;
    }

    public bool Contains(int id) => TryGet(id, out _);

    private void Grow(int page)
    {
        if (page < 0) throw new ArgumentOutOfRangeException(nameof(page));
        var bigger = pool.TakeDirectory(Math.Max(page + 1, Math.Min(_pages.Length * 2, int.MaxValue / 2)));
        _pages.AsSpan().CopyTo(bigger);
        Array.Clear(_pages);
        pool.ReturnDirectory(_pages);
        _pages = bigger;
    }

    /// <summary>Gives every page (and the page directory) back to the pool: the row is gone.</summary>
    public void Clear()
    {
        for (int i = 0; i < _pages.Length; i++)
            if (_pages[i] is { } page) { pool.Return(page); _pages[i] = null; }
        pool.ReturnDirectory(_pages);
        _pages = [];
        Count = 0;
    }
}

/// <summary>256 ids' values of one head row: a presence mask and the present values packed in id order.</summary>
internal sealed class HeadPage
{
    public const int Bits = 8, Size = 1 << Bits;
    private Mask256 _mask;
    private double[] _values = new double[4];
    private int _count;

    [InlineArray(4)]
    private struct Mask256 { private ulong _word; }

    private int Rank(int offset)
    {
        int w = offset >> 6, r = BitOperations.PopCount(_mask[w] & ((1UL << (offset & 63)) - 1));
        for (int i = 0; i < w; i++) r += BitOperations.PopCount(_mask[i]);
        return r;
    }

    public bool TryAdd(int offset, double value)
    {
        ulong bit = 1UL << (offset & 63);
        if ((_mask[offset >> 6] & bit) != 0) return false;
        int r = Rank(offset);
        if (_count == _values.Length) Array.Resize(ref _values, Math.Min(Size, _count * 4));
        if (r < _count) Array.Copy(_values, r, _values, r + 1, _count - r);
        _values[r] = value;
        _mask[offset >> 6] |= bit;
        _count++;
        return true;
    }

    public bool TryGet(int offset, out double value)
    {
        if ((_mask[offset >> 6] & (1UL << (offset & 63))) == 0) { value = 0; return false; }
        value = _values[Rank(offset)];
        return true;
    }

    /// <summary>Empty again (its value array kept for the next row).</summary>
    public void Reset()
    {
        _mask = default;
        _count = 0;
    }
}

/// <summary>
/// Pages and page directories the head rows have given back, for the next rows: a flush writing every series reuses what a
/// compaction freed instead of allocating it again (and leaving the old as garbage that only a full collection frees).
/// Bounded by the most pages the head held at once; emptied when the store is asked to relieve memory.
/// </summary>
internal sealed class HeadPagePool
{
    private readonly Stack<HeadPage> _pages = new();
    private readonly List<HeadPage?[]> _directories = [];

    public int PagesPooled => _pages.Count;

    public HeadPage Take() => _pages.TryPop(out var p) ? p : new HeadPage();

    public void Return(HeadPage page)
    {
        page.Reset();
        _pages.Push(page);
    }

    /// <summary>A directory of at least <paramref name="length"/> entries, all null.</summary>
    public HeadPage?[] TakeDirectory(int length)
    {
        for (int i = 0; i < _directories.Count; i++)
            if (_directories[i].Length >= length)
            {
                var d = _directories[i];
                _directories.RemoveAt(i);
                return d;
            }
        return new HeadPage?[length];
    }

    /// <summary>Takes back a directory whose entries are all null (a few dozen kept: about one per head row).</summary>
    public void ReturnDirectory(HeadPage?[] directory)
    {
        if (directory.Length > 0 && _directories.Count < MaxDirectories) _directories.Add(directory);
    }

    private const int MaxDirectories = 64;

    public void Clear()
    {
        _pages.Clear();
        _directories.Clear();
    }
}
