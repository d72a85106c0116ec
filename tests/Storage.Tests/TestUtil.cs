using Observe.Collector;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

internal static class TestStore
{
    public static StorageOptions Options(string? dir = null, string retentions = "10s:6h,1m:7d,10m:5y") => new()
    {
        DataDir = dir ?? TempDir(),
        CompactionIntervalSeconds = 0,
        Schemas = [new() { Name = "all", Pattern = ".*", Retentions = retentions }],
    };

    public static string TempDir() => Repo.TempDir("tsdb");

    public static void Write(TimeSeriesStore s, long batchTs, params (string Path, double Value, long Ts)[] points) =>
        s.WriteAsync(new MetricBatch(batchTs, points.Select(p => new MetricPoint(p.Path, p.Value, p.Ts)).ToArray()), default)
            .AsTask().GetAwaiter().GetResult();
}
