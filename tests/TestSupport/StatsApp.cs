using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Observe.TestSupport;

/// <summary>
/// A small service with a mochiprofiler-like <c>/stats</c> page (counters, timings per handler, Erlang-VM-style memory:
/// nested objects and arrays), on 127.0.0.1 and a free port, plus hostile pages for the scrape bounds:
/// <c>/big</c> (a body of <see cref="BigBytes"/>), <c>/slow</c> (answers only when the client gives up), <c>/deep</c>
/// (JSON nested 10 000 deep), <c>/fail</c> (500). Request headers of <c>/stats</c> are recorded.
/// </summary>
public sealed class StatsApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    public int Port { get; }
    public string Url(string path = "/stats") => $"http://127.0.0.1:{Port}{path}";
    /// <summary>The counter behind <c>counters.requests</c>; tests set it and see it scraped.</summary>
    public long Requests { get; set; } = 1027;
    public int BigBytes { get; set; } = 2 * 1024 * 1024;
    public ConcurrentQueue<IReadOnlyDictionary<string, string>> Headers { get; } = new();

    private StatsApp(WebApplication app, int port) { _app = app; Port = port; }

    public static async Task<StatsApp> StartAsync()
    {
        var port = FreePort.Get();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var s = new StatsApp(app, port);
        app.MapGet("/stats", (HttpContext ctx) =>
        {
            s.Headers.Enqueue(ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
            return Results.Text(s.Body(), "application/json");
        });
        app.MapGet("/big", () => Results.Text("[" + new string('1', s.BigBytes) + "]", "application/json"));
        app.MapGet("/slow", async (HttpContext ctx) =>
        {
            // Holds the request open until the scraper's timeout cancels it.
            try { await Task.Delay(Timeout.Infinite, ctx.RequestAborted); } catch (OperationCanceledException) { }
            return Results.Text("{}");
        });
        app.MapGet("/deep", () => Results.Text(new string('[', 10_000) + new string(']', 10_000), "application/json"));
        app.MapGet("/fail", () => Results.Text("boom", statusCode: 500));
        await app.StartAsync();
        return s;
    }

    /// <summary>The /stats document: what mochiprofiler-era services exposed.</summary>
    public string Body() => $$$"""
        {"service": "cart", "uptime_seconds": 86400, "healthy": true,
         "counters": {"requests": {{{Requests}}}, "errors": {"4xx": 12, "5xx": 2}, "cache hits": 880},
         "timings": [{"handler": "/cart", "count": 500, "mean_ms": 12.5, "p99_ms": 80},
                     {"handler": "/checkout", "count": 20, "mean_ms": 140.25, "p99_ms": 900}],
         "vm": {"memory": {"total": 104857600, "processes": 41943040, "binary": 8388608, "ets": 2097152},
                "process_count": 312, "run_queue": 0, "schedulers": [0.25, 0.5]}}
        """;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
