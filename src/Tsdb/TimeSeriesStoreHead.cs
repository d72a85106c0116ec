using System.Runtime.InteropServices;

namespace Observe.Storage.Tsdb;

/// <summary>
/// A series' head points (docs/storage.md "Memory per series"): each in its head row's column (<see cref="HeadColumn"/>, the
/// value by series id, the timestamp the row's) or, when it does not fit there, among the series' extra points. Read back in
/// write order: row by row in seq order, a row's column point before its extra points (a later point of a slot wins, as in
/// whisper). Everything here runs under the store lock.
/// </summary>
internal sealed partial class TimeSeriesStore
{
    /// <summary>What <see cref="HeadOf"/> returns, reused by every call (under the lock).</summary>
    private readonly List<HeadPoint> _headScratch = [];

    /// <summary>Adds one head point of archive 0 (<paramref name="ts"/> already its slot) written in head row <paramref name="row"/>.</summary>
    private void AppendHead(SeriesState s, long ts, double v, int row)
    {
        if (ts != _headRows.ColumnSlot(row, s.Schema.Archives[0].Step) || !_headRows.Column(row).TryAdd(s.Id, v))
            (s.Extra ??= []).Add(new HeadPoint(ts, v, row));
        s.HeadCount++;
    }

    /// <summary>
    /// The series' head points of live rows in write order; valid until the next call. Points of rows a compaction has sealed
    /// and is releasing are left out: they are in committed chunks, with the same values.
    /// </summary>
    private ReadOnlySpan<HeadPoint> HeadOf(SeriesState s)
    {
        var list = _headScratch;
        list.Clear();
        if (s.HeadCount == 0) return [];
        long step = s.Schema.Archives[0].Step;
        var extra = s.Extra;
        foreach (int row in _headRows.LiveInOrder())
        {
            if (_headRows.Column(row).TryGet(s.Id, out double v)) list.Add(new HeadPoint(_headRows.ColumnSlot(row, step), v, row));
            if (extra != null) foreach (var p in extra) if (p.Row == row) list.Add(p);
        }
        return CollectionsMarshal.AsSpan(list);
    }

    /// <summary>The oldest slot of the head and the back-filled points (long.MaxValue: none).</summary>
    private long HeadMin(SeriesState s)
    {
        long min = long.MaxValue;
        foreach (ref readonly var p in HeadOf(s)) if (p.Ts < min) min = p.Ts;
        if (s.Backfill is { } b) foreach (var x in b) if (x.Ts < min) min = x.Ts;
        return min;
    }

    /// <summary>Drops the series' points (and back-filled points) of sealed rows from its head (the rows' columns go when the rows are freed).</summary>
    private void ReleaseHead(SeriesState s, SealedRows sealedRows)
    {
        if (s.Backfill != null)
        {
            s.Backfill.RemoveAll(b => sealedRows.Contains(b.Row));
            if (s.Backfill.Count == 0) s.Backfill = null;
        }
        if (s.HeadCount == 0) return;
        int gone = 0;
        foreach (int row in sealedRows.Slots) if (_headRows.Column(row).Contains(s.Id)) gone++;
        if (s.Extra != null)
        {
            gone += s.Extra.RemoveAll(p => sealedRows.Contains(p.Row));
            if (s.Extra.Count == 0) s.Extra = null;
        }
        s.HeadCount -= gone;
    }
}
