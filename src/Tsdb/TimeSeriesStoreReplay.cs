namespace Observe.Storage.Tsdb;

/// <summary>
/// What the open needs to replay the head (write-ahead) rows cheaply (issue 21: restart after SIGKILL): series by id in an
/// array (ids are dense, assigned in memory from 1) instead of a dictionary of every series, and one buffer for a row's
/// points, reused by every row (a row of a 100 000-series flush is applied only once all of it decoded).
/// </summary>
internal sealed partial class TimeSeriesStore
{
    private readonly List<(SeriesState, long, double)> _replayed = [];

    /// <summary>Points replayed from head rows at open (0 after a clean stop, which seals the head: TimeSeriesStoreShutdown.cs).</summary>
    internal long ReplayedHeadPoints { get; private set; }

    /// <summary>
    /// Sizes the name index and the series list for the series about to be read (ids are dense: the largest is the count), so
    /// that 100 000 names are not rehashed a dozen times while the open reads them.
    /// </summary>
    private void PresizeSeriesIndex()
    {
        using var c = _conn.CreateCommand();
        c.CommandText = "SELECT max(id) FROM series";
        if (c.ExecuteScalar() is not long max || max <= 0 || max > _maxSeries) return;
        _byName.EnsureCapacity((int)max);
        _all.EnsureCapacity((int)max);
    }

    /// <summary>
    /// Every series at its id. Ids far beyond the number of series can only come from a damaged series table: such series
    /// are left out (their head points are then counted as corrupt rows) rather than sizing the array by them.
    /// </summary>
    private SeriesState?[] SeriesById()
    {
        var byId = new SeriesState?[Math.Min(_nextId, 4L * _all.Count + 1024)];
        foreach (var s in _all) if ((uint)s.Id < (uint)byId.Length) byId[s.Id] = s;
        return byId;
    }
}
