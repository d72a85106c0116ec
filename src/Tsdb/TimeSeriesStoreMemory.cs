using Observe.Collector;

namespace Observe.Storage.Tsdb;

/// <summary>
/// The store under the memory budget (<c>limits.memory</c>, docs/limits.md "Memory budget"): asked to relieve, it seals
/// its whole head at once and empties the decoded-chunk cache; while the budget refuses new things, points of new series
/// are dropped and counted as with <c>storage.maxSeries</c> (known series keep being written).
/// </summary>
internal sealed partial class TimeSeriesStore : IMemoryRelief
{
    /// <summary>The host's memory budget; null = none.</summary>
    internal IMemoryPressure? Pressure { get; set; }

    private bool RefusingNewSeries => Pressure is { Level: >= MemoryPressure.RefuseNew };

    public void Relieve()
    {
        Compact(force: true);
        lock (_gate)
        {
            ForgetIdle();
            _headRows.TrimPool(); // the freed rows' pages kept for the next flushes
            _decoded.Clear();
        }
    }
}
