namespace Observe.Observe.Tests;

/// <summary>The issue-15 bounds bind from YAML with their documented defaults, and out-of-range values are problems naming the key.</summary>
public class LimitsConfigTests
{
    [Fact]
    public void Query_and_store_bounds_bind_with_defaults_and_bad_values_name_their_key()
    {
        var (defaults, none) = ConfigTests.LoadText("http: {port: 8080}\n");
        Assert.Empty(none);
        Assert.Equal(64, defaults.Storage.Render.MaxDepth);
        Assert.Equal((2500, 2000), (defaults.Storage.Render.MaxImageWidth, defaults.Storage.Render.MaxImageHeight));
        Assert.Equal(20_000_000, defaults.Storage.Render.MaxPointsProduced);
        Assert.Equal((2_000_000, 100_000_000), (defaults.Storage.Render.MaxPoints, defaults.Storage.Render.MaxPointsRead));
        Assert.Equal(30, defaults.Storage.Render.TimeoutSeconds);
        Assert.Equal(500_000, defaults.Storage.MaxSeries);
        Assert.Equal(100_000, defaults.Storage.MaxFindResults);
        Assert.Equal(256L << 20, defaults.Storage.ChunkCacheBytes);

        var (c, problems) = ConfigTests.LoadText("""
            storage:
              maxSeries: 0
              maxFindResults: 10
              chunkCacheBytes: -1
              render: {maxDepth: 5000, maxPointsProduced: 0, maxPointsRead: 0, timeoutSeconds: 5, maxImageWidth: 0, maxImageHeight: 800}
            """);
        Assert.Equal(10, c.Storage.MaxFindResults);
        Assert.Equal(5, c.Storage.Render.TimeoutSeconds);
        Assert.Equal(800, c.Storage.Render.MaxImageHeight);
        Assert.Equal(["storage.chunkCacheBytes", "storage.maxSeries", "storage.render.maxDepth", "storage.render.maxImageWidth", "storage.render.maxPointsProduced",
                "storage.render.maxPointsRead"],
            problems.Select(p => p.KeyPath).Order(StringComparer.Ordinal));
        Assert.Contains(problems, p => p.KeyPath == "storage.render.maxDepth" && p.Message.Contains("between 1 and 1000"));
        Assert.Equal(0, ConfigTests.LoadText("storage: {chunkCacheBytes: 0}\n").Item1.Storage.ChunkCacheBytes);
    }

    /// <summary>
    /// Durations that become .NET timers and waits (the render wait for an opening store, the compaction timer) fail at run
    /// time past about 24 days; config check passed them, and the store refused to open (or a read during its open
    /// failed) with an ArgumentOutOfRangeException. Each is bounded and named instead.
    /// </summary>
    [Theory]
    [InlineData("storage: {render: {timeoutSeconds: 5000000}}", "storage.render.timeoutSeconds")]
    [InlineData("storage: {render: {timeoutSeconds: 100d}}", "storage.render.timeoutSeconds")]
    [InlineData("storage: {compactionIntervalSeconds: 5000000}", "storage.compactionIntervalSeconds")]
    public void A_duration_too_long_to_wait_for_is_a_problem_naming_its_key(string yaml, string key)
    {
        var problems = ConfigTests.LoadText(yaml + "\n").Item2;
        Assert.Contains(problems, p => p.KeyPath == key && p.Message.Contains("at most"));
        Assert.Empty(ConfigTests.LoadText("storage: {compactionIntervalSeconds: 1d, render: {timeoutSeconds: 1d}}\n").Item2);
    }
}
