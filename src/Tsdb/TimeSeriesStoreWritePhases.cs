using System.Diagnostics;
using Observe.Collector;

namespace Observe.Storage.Tsdb;

internal sealed partial class TimeSeriesStore
{
    private static double Seconds(long ticks) => Stopwatch.GetElapsedTime(0, ticks).TotalSeconds;

    private StorageWritePhases? _lastWrite;

    /// <summary>The last write by phase (issue 21: where a slow flush goes), set at the end of each <see cref="WriteAsync"/>; null before the first.</summary>
    public StorageWritePhases? LastWrite => Volatile.Read(ref _lastWrite);

    /// <summary>The last write's phases for a slow flush's log line (<see cref="IMetricSink.DescribeLastWrite"/>).</summary>
    public string? DescribeLastWrite() => LastWrite?.ToString();

    /// <summary>Test seam: called inside <see cref="WriteAsync"/> with the store lock held, right before the commit.</summary>
    internal Action? WriteHolding { get; set; }

    private int _seriesForStats, _headPointsForStats;

    /// <summary>
    /// Series and head points for /stats, /metrics and the observe.* series, which the flush thread itself reads (the host's
    /// self-metrics): counted when the store lock is free, else as last counted. Waiting for the lock made each flush's
    /// self-metrics wait for the previous flush's write to finish (seconds at millions of series), delaying it.
    /// </summary>
    public (int Series, int HeadPoints) CountsForStats()
    {
        if (Monitor.TryEnter(_gate))
        {
            try
            {
                Volatile.Write(ref _seriesForStats, _all.Count);
                Volatile.Write(ref _headPointsForStats, _touched.Sum(s => s.HeadCount));
            }
            finally { Monitor.Exit(_gate); }
        }
        return (Volatile.Read(ref _seriesForStats), Volatile.Read(ref _headPointsForStats));
    }
}
