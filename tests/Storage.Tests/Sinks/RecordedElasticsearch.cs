using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Observe.TestSupport;

namespace Observe.Storage.Tests.Sinks;

/// <summary>
/// An in-test HTTP endpoint standing in for Elasticsearch 8: it answers each request with the next
/// recorded response (status + a body file from ElasticsearchResponses/, see its README) and records
/// what it was sent.
/// </summary>
internal sealed class RecordedElasticsearch : IAsyncDisposable
{
    public sealed record Request(string Method, string PathAndQuery, string ContentType, string? Authorization, string Body);

    private static readonly string Fixtures = Path.Combine(Repo.Root, "tests", "Storage.Tests", "Sinks", "ElasticsearchResponses");
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(int Status, string File)> _replies = new();
    public ConcurrentQueue<Request> Requests { get; } = new();

    private RecordedElasticsearch(WebApplication app) => _app = app;

    public string Url => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    public static async Task<RecordedElasticsearch> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var es = new RecordedElasticsearch(app);
        app.Run(async ctx =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            var body = await reader.ReadToEndAsync();
            es.Requests.Enqueue(new Request(ctx.Request.Method, ctx.Request.Path + ctx.Request.QueryString, ctx.Request.ContentType ?? "",
                ctx.Request.Headers.Authorization.FirstOrDefault(), body));
            if (!es._replies.TryDequeue(out var reply)) { ctx.Response.StatusCode = 599; return; }
            ctx.Response.StatusCode = reply.Status;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(await File.ReadAllTextAsync(Path.Combine(Fixtures, reply.File)));
        });
        await app.StartAsync();
        return es;
    }

    public void Reply(int status, string file) => _replies.Enqueue((status, file));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
