using Observe.Collector;
using Observe.Storage.Tsdb;

namespace Observe.Storage.Tests;

internal static class TestStore
{
    public static StorageOptions Options(string? dir = null, string retentions = "10s:6h,1m:7d,10m:5y") => new()
    {
        DataDir = dir ?? TempDir(),
        CompactionIntervalSeconds = 0,
        Schemas = [new() { Name = "all", Pattern = ".*", Retentions = retentions }],
    };

    // Repo.TempDir throws when name.Length + 45 exceeds the generated name (short PIDs); reported to the integrator.
    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "observe-tests", $"tsdb-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(d);
        return d;
    }

    public static void Write(TimeSeriesStore s, long batchTs, params (string Path, double Value, long Ts)[] points) =>
        s.WriteAsync(new MetricBatch(batchTs, points.Select(p => new MetricPoint(p.Path, p.Value, p.Ts)).ToArray()), default)
            .AsTask().GetAwaiter().GetResult();
}
