using Observe.Collector;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>Issue 21: a write into the store is timed by phase (lock wait, name lookup, series creation, inserts, commit, head append).</summary>
public class WritePhasesTests
{
    private const long Now = 1_800_000_000;

    [Fact]
    public async Task A_write_reports_its_phases_and_the_series_it_created()
    {
        var o = TestStore.Options();
        using var s = TimeSeriesStore.Open(o, ManualTimeProvider.AtUnixSeconds(Now));
        Assert.Null(s.LastWrite);
        var points = Enumerable.Range(0, 2000).Select(i => new MetricPoint($"phase.k{i}.count", i, Now - 10)).ToArray();

        await s.WriteAsync(new MetricBatch(Now - 10, points), default);
        var first = s.LastWrite!;
        Assert.Equal((2000L, 2000), (first.Points, first.SeriesCreated));
        var parts = first.Phases.Where(p => p.Phase != "total").ToList();
        Assert.Equal(["lock_wait", "lookup", "create", "series_insert", "encode", "head_insert", "commit", "register", "head_append"], parts.Select(p => p.Phase));
        Assert.All(parts, p => Assert.InRange(p.Seconds, 0, first.TotalSeconds));
        Assert.InRange(parts.Sum(p => p.Seconds), 0.5 * first.TotalSeconds, first.TotalSeconds + 1e-6); // the phases cover the write
        Assert.True(first.SeriesInsertSeconds > 0 && first.CreateSeconds > 0, "creating 2 000 series is timed");

        await s.WriteAsync(new MetricBatch(Now, points.Select(p => p with { Timestamp = Now }).ToArray()), default);
        var second = s.LastWrite!;
        Assert.Equal((2000L, 0, 0.0), (second.Points, second.SeriesCreated, second.CreateSeconds));
        Assert.InRange(second.SeriesInsertSeconds, 0, 0.05); // nothing to insert
        Assert.Matches(@"^lock_wait \d+\.\d\d s, lookup \d+\.\d\d s, .*total \d+\.\d\d s, 0 series created, \d+ gen2 GCs$", s.DescribeLastWrite()!);
    }
}
