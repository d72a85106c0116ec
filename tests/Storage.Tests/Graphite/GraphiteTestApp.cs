using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Observe.Storage.Graphite;
using Observe.TestSupport;

namespace Observe.Storage.Tests.Graphite;

/// <summary>The Graphite API served in-process on a free 127.0.0.1 port over a memory store, with a client pointed at it.</summary>
internal sealed class GraphiteTestApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    public GraphiteEventStore Events { get; }
    public StorageLimitHits Hits { get; }
    public HttpClient Http { get; }

    private GraphiteTestApp(WebApplication app, GraphiteEventStore events, StorageLimitHits hits, string url)
    {
        _app = app; Events = events; Hits = hits;
        Http = new HttpClient { BaseAddress = new Uri(url) };
    }

    public static async Task<GraphiteTestApp> StartAsync(ISeriesReader reader, long now, RenderLimitOptions? limits = null)
    {
        var port = FreePort.Get();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var events = GraphiteEventStore.InMemory();
        var hits = new StorageLimitHits();
        app.MapGraphiteApi(reader, events, () => now, limits, hits);
        await app.StartAsync();
        return new GraphiteTestApp(app, events, hits, $"http://127.0.0.1:{port}");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        Events.Dispose();
        Http.Dispose();
    }
}
