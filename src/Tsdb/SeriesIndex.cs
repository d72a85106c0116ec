namespace Observe.Storage.Tsdb;

/// <summary>
/// The store's series by name: one open-addressing table of references (linear probing) with each slot's name hash beside
/// it in a parallel array, so a probe compares hashes without reading the series object (a probe run that read each
/// series' own copy of the hash cost a cache miss per probe: the append bench ran 14 % slower than with the Dictionary).
/// Issue 21: a <see cref="Dictionary{TKey, TValue}"/> costs a 24-byte entry and a 4-byte bucket per slot and doubles
/// (2.8 M slots, 80 MB, for 1.6 M names); this is 12 bytes per slot at a load of at most 3/4, grown by a quarter.
/// The hash is <see cref="string.GetHashCode()"/> (randomised per process), so names sent from outside cannot be chosen to
/// collide. Not thread-safe: the store's lock guards it.
/// </summary>
internal sealed class SeriesIndex
{
    private TimeSeriesStore.SeriesState?[] _slots = [];
    private int[] _hashes = [];

    public int Count { get; private set; }

    /// <summary>Slots in the table (the most series it holds before growing is 3/4 of it).</summary>
    public int Capacity => _slots.Length;

    public bool TryGetValue(string name, out TimeSeriesStore.SeriesState series)
    {
        int i = Find(name, name.GetHashCode());
        series = i >= 0 ? _slots[i]! : null!;
        return i >= 0;
    }

    public bool ContainsKey(string name) => Find(name, name.GetHashCode()) >= 0;

    /// <summary>Adds a series; false (and nothing changed) when its name is in the index already.</summary>
    public bool TryAdd(TimeSeriesStore.SeriesState series)
    {
        int hash = series.Name.GetHashCode();
        if (Find(series.Name, hash) >= 0) return false;
        Reserve(1);
        Place(_slots, _hashes, series, hash);
        Count++;
        return true;
    }

    /// <summary>Room for <paramref name="more"/> series more: when they do not fit, the table grows to hold them, and by a quarter at least.</summary>
    public void Reserve(int more)
    {
        if (Count + more > MaxLoad(_slots.Length)) EnsureCapacity(Math.Max(Count + more, Count + Count / 4));
    }

    /// <summary>Room for <paramref name="count"/> series without growing (the table is rebuilt at that size when smaller).</summary>
    public void EnsureCapacity(int count)
    {
        if (count <= MaxLoad(_slots.Length)) return;
        int len = Math.Max(8, (int)Math.Min(Array.MaxLength, (long)count * 4 / 3 + 1));
        var bigger = new TimeSeriesStore.SeriesState?[len];
        var hashes = new int[len];
        for (int i = 0; i < _slots.Length; i++) if (_slots[i] is { } s) Place(bigger, hashes, s, _hashes[i]);
        _slots = bigger;
        _hashes = hashes;
    }

    public bool Remove(string name)
    {
        int i = Find(name, name.GetHashCode());
        if (i < 0) return false;
        // Backward-shift deletion: a later entry of the probe run moves into the hole when its home is not between the hole and it.
        int len = _slots.Length;
        _slots[i] = null;
        for (int j = Next(i, len); _slots[j] is { } s; j = Next(j, len))
        {
            int home = Home(_hashes[j], len);
            bool stays = i <= j ? home > i && home <= j : home > i || home <= j;
            if (stays) continue;
            _slots[i] = s;
            _hashes[i] = _hashes[j];
            _slots[j] = null;
            i = j;
        }
        Count--;
        return true;
    }

    private static int MaxLoad(int slots) => (int)((long)slots * 3 / 4);

    private static int Home(int hash, int len) => (int)(((ulong)(uint)hash * (ulong)(uint)len) >> 32);

    private static int Next(int i, int len) => ++i == len ? 0 : i;

    private int Find(string name, int hash)
    {
        var slots = _slots;
        var hashes = _hashes;
        if (slots.Length == 0) return -1;
        for (int i = Home(hash, slots.Length); slots[i] is { } s; i = Next(i, slots.Length))
            if (hashes[i] == hash && string.Equals(s.Name, name, StringComparison.Ordinal)) return i;
        return -1;
    }

    private static void Place(TimeSeriesStore.SeriesState?[] slots, int[] hashes, TimeSeriesStore.SeriesState s, int hash)
    {
        int i = Home(hash, slots.Length);
        while (slots[i] != null) i = Next(i, slots.Length);
        slots[i] = s;
        hashes[i] = hash;
    }
}
