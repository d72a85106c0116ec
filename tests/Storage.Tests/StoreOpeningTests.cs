using System.Net;
using Observe.Collector;
using Observe.Storage.Graphite;
using Observe.Storage.Tests.Graphite;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>
/// The store opens while the host starts (issue 21, <see cref="StoreOpening"/>): what arrives during the open waits for it
/// instead of failing, reads at most storage.render.timeoutSeconds, and a failed open reaches every caller.
/// </summary>
public sealed class StoreOpeningTests
{
    private const long Now = 1_000_200;

    /// <summary>A store with one point of <c>a.b</c> at Now − 60, opened through a gate the test releases.</summary>
    private static (StoreOpening Opening, ManualResetEventSlim Gate) GatedStore(int waitSeconds = 30)
    {
        var options = TestStore.Options();
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using (var s = TimeSeriesStore.Open(options, time)) TestStore.Write(s, Now - 60, ("a.b", 7, Now - 60));
        var gate = new ManualResetEventSlim(false);
        var opening = new StoreOpening(() =>
        {
            gate.Wait(TimeSpan.FromSeconds(60));
            return TimeSeriesStore.Open(options, time);
        }, TimeSpan.FromSeconds(waitSeconds));
        return (opening, gate);
    }

    [Fact]
    public async Task A_flush_written_while_the_store_opens_is_stored_once_it_has_opened()
    {
        var (opening, gate) = GatedStore();
        using var _ = opening;
        var write = opening.WriteAsync(new MetricBatch(Now - 10, [new MetricPoint("a.b", 8, Now - 10)]), default).AsTask();
        Assert.False(write.IsCompleted, "acknowledged before the store could store it");
        gate.Set();
        await write.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([7.0, null, null, null, null, 8.0], opening.Fetch("a.b", Now - 70, Now - 10)!.Values);
    }

    [Fact]
    public async Task A_render_during_the_open_waits_for_it_and_answers()
    {
        var (opening, gate) = GatedStore();
        using var _ = opening;
        await using var app = await GraphiteTestApp.StartAsync(opening, Now);
        var render = app.Http.GetAsync($"/render?target=a.b&from={Now - 120}&until={Now}&format=json");
        // Not answered while the store is closed (a failing answer would come at once).
        Assert.NotSame(render, await Task.WhenAny(render, Task.Delay(300)));
        gate.Set();
        using var r = await render.WaitAsync(TimeSpan.FromSeconds(30));
        var body = await r.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains($"[7.0, {Now - 60}]", body);
    }

    [Fact]
    public async Task A_render_waits_at_most_the_render_timeout_then_gets_503_and_the_wait_is_counted()
    {
        var (opening, gate) = GatedStore(waitSeconds: 1);
        try
        {
            await using var app = await GraphiteTestApp.StartAsync(opening, Now, new RenderLimitOptions { TimeoutSeconds = 1 });
            using var r = await app.Http.GetAsync($"/render?target=a.b&from={Now - 120}&format=json").WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.Contains("still opening", await r.Content.ReadAsStringAsync());
            Assert.Equal("1", r.Headers.RetryAfter?.ToString());
            Assert.Equal(1, app.Hits.Snapshot()["storage.render.timeoutSeconds"]);
            // A reader that is not the API (checks, deploy verification) gets the same bound as an exception.
            Assert.Throws<TimeoutException>(() => opening.Fetch("a.b", Now - 120, Now));
        }
        finally
        {
            gate.Set();
            opening.Dispose();
        }
    }

    [Fact]
    public async Task A_failed_open_is_what_readers_and_writers_get()
    {
        using var opening = new StoreOpening(() => throw new InvalidDataException("format 1, this build reads format 2"), TimeSpan.FromSeconds(5));
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => opening.Opened);
        Assert.Contains("format 1", e.Message);
        Assert.Throws<InvalidDataException>(() => opening.Find("*"));
        await Assert.ThrowsAsync<InvalidDataException>(() => opening.WriteAsync(new MetricBatch(Now, [new MetricPoint("a.b", 1, Now)]), default).AsTask());
        opening.Relieve(); // nothing to give back
    }
}
