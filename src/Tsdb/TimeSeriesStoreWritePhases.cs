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
}
