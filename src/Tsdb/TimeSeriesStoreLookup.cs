using System.Diagnostics;
using Observe.Collector;

namespace Observe.Storage.Tsdb;

internal sealed partial class TimeSeriesStore
{
    /// <summary>
    /// Each point's series into <paramref name="states"/> (which holds the previous write's, position by position), creating
    /// new ones in the order of the points; returns the Stopwatch ticks spent creating. The collector hands the same names in
    /// the same order every flush (the very same strings), so the series a position had in the previous write is found by
    /// comparing its name, without hashing the name and probing the index (two cache misses per point at millions of
    /// series). A key added since shifts the positions after it: a miss that finds its series by name learns the shift from
    /// the series' last position, and the walk, from the end (so a shifted-to position is read before it is overwritten),
    /// goes on from there. The scratch holds only live series (none is ever removed but by ForgetCreated, which clears it).
    /// Caller holds the lock.
    /// </summary>
    private long ResolveSeries(IReadOnlyList<MetricPoint> points, Span<SeriesState> states, ref List<SeriesState>? created)
    {
        var previous = _statesScratch;
        bool anyNew = false;
        for (int i = points.Count - 1, shift = 0; i >= 0; i--)
        {
            var name = points[i].Path;
            int j = i - shift;
            var s = j >= 0 ? previous[j] : null;
            if (s == null || !string.Equals(s.Name, name))
            {
                if (_byName.TryGetValue(name, out s))
                {
                    if (s.Position >= 0 && s.Position <= i) shift = i - s.Position;
                }
                else anyNew = true;
            }
            if (s != null) s.Position = i;
            states[i] = s!;
        }
        if (!anyNew) return 0;
        long createTicks = 0;
        // Room in the index and the series lists for all the new series at once (ReserveSeries), not doubling as they come.
        int fresh = 0;
        foreach (var s in states) if (s == null) fresh++;
        ReserveSeries(fresh);
        created ??= new List<SeriesState>(fresh);
        for (int i = 0; i < points.Count; i++)
        {
            if (states[i] != null) continue;
            var name = points[i].Path;
            int hash = name.GetHashCode();
            // Found when an earlier point of this batch created it.
            var s = _byName.Find(name, hash, out int slot);
            if (s == null)
            {
                long c0 = Stopwatch.GetTimestamp();
                s = CreateSeries(name, hash, slot, created);
                createTicks += Stopwatch.GetTimestamp() - c0;
            }
            s.Position = i;
            states[i] = s;
        }
        return createTicks;
    }
}
