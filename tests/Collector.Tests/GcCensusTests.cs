using Observe.Collector.Pipeline;

namespace Observe.Collector.Tests;

/// <summary>The slow-flush line tells which collections ran during a flush, and why (issue 21: 6 gen2s, 19 s paused).</summary>
public class GcCensusTests
{
    [Fact]
    public void An_induced_blocking_gen2_is_counted_as_blocking_with_its_reason()
    {
        var census = GcCensus.Instance;
        var start = census.Snapshot();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        GcCensus.Counts now;
        do
        {
            // The runtime's events reach the listener asynchronously: collect until one has been seen.
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);
            Thread.Sleep(10); // the poll's interval (the deadline bounds it), so as not to spin forced collections
            now = census.Snapshot();
        } while (now.BlockingGen2 == start.BlockingGen2 && DateTime.UtcNow < deadline);
        Assert.True(now.BlockingGen2 > start.BlockingGen2, "no blocking gen2 seen after 30 s of induced collections");
        Assert.Contains("induced", now.Since(start), StringComparison.Ordinal);
        Assert.StartsWith("gen0 ", now.Since(start), StringComparison.Ordinal);
    }
}
