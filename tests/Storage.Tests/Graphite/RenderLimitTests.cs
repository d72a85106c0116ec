using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Observe.Storage.Graphite;
using Observe.TestSupport;

namespace Observe.Storage.Tests.Graphite;

/// <summary>Concurrent renders beyond storage.render.maxConcurrent are answered 429 at once; the slot frees when a render ends.</summary>
public sealed class RenderLimitTests
{
    private const long Now = 1_800_000_000;

    /// <summary>Holds every fetch of <c>slow.series</c> until released, so a render can be kept in flight.</summary>
    private sealed class GatedReader(MemorySeriesStore inner) : ISeriesReader
    {
        public readonly SemaphoreSlim Entered = new(0);
        public readonly ManualResetEventSlim Release = new(false);
        public IReadOnlyList<MetricNode> Find(string pattern) => inner.Find(pattern);
        public IReadOnlyList<string> TaggedSeries() => inner.TaggedSeries();
        public SeriesWindow? Fetch(string series, long from, long until)
        {
            if (series == "slow.series") { Entered.Release(); Release.Wait(TimeSpan.FromSeconds(30)); }
            return inner.Fetch(series, from, until);
        }
    }

    [Fact]
    public async Task A_render_beyond_the_concurrency_limit_gets_429_and_serving_resumes_when_one_ends()
    {
        var store = new MemorySeriesStore("10s:1d", () => Now);
        store.Write("slow.series", 1, Now - 60);
        store.Write("fast.series", 2, Now - 60);
        var reader = new GatedReader(store);
        using var events = GraphiteEventStore.InMemory();
        var port = FreePort.Get();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        await using var app = builder.Build();
        var hits = new StorageLimitHits();
        app.MapGraphiteApi(reader, events, () => Now, new RenderLimitOptions { MaxConcurrent = 1 }, hits);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        var slow = http.GetAsync("/render?target=slow.series&from=-5min&format=json");
        Assert.True(await reader.Entered.WaitAsync(TimeSpan.FromSeconds(10)), "the slow render started");
        using (var busy = await http.GetAsync("/render?target=fast.series&from=-5min&format=json"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, busy.StatusCode);
            Assert.Contains("storage.render.maxConcurrent", await busy.Content.ReadAsStringAsync());
        }
        Assert.Equal(1, hits.Snapshot()["storage.render.maxConcurrent"]); // counted (docs/limits.md)
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/metrics/find?query=*")).StatusCode); // other endpoints are not limited
        reader.Release.Set();
        using (var done = await slow) Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        using (var again = await http.GetAsync("/render?target=fast.series&from=-5min&format=json"))
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }
}
