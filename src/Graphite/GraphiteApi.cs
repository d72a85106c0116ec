using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace Observe.Storage.Graphite;

/// <summary>
/// The Graphite HTTP API (graphite-web 1.1.8 compatible) on ASP.NET Core minimal APIs:
/// <c>/render</c>, <c>/metrics/find</c>, <c>/metrics/expand</c>, <c>/metrics/index.json</c>, <c>/events/</c>,
/// <c>/events/get_data</c>, <c>/tags</c>, <c>/tags/findSeries</c>, <c>/tags/autoComplete/{tags,values}</c>,
/// <c>/functions</c> and <c>/version</c>. See docs/grafana.md.
/// </summary>
public static partial class GraphiteApi
{
    /// <summary>Maps the Graphite API onto <paramref name="app"/>, reading series from <paramref name="reader"/>.</summary>
    public static IEndpointRouteBuilder MapGraphiteApi(this IEndpointRouteBuilder app, ISeriesReader reader, GraphiteEventStore events,
        RenderLimitOptions? limits = null, StorageLimitHits? hits = null, int maxFindResults = 100_000) =>
        MapGraphiteApi(app, reader, events, () => DateTimeOffset.UtcNow.ToUnixTimeSeconds(), limits, hits, maxFindResults);

    internal static IEndpointRouteBuilder MapGraphiteApi(this IEndpointRouteBuilder app, ISeriesReader reader, GraphiteEventStore events, Func<long> clock,
        RenderLimitOptions? limits = null, StorageLimitHits? hits = null, int maxFindResults = 100_000)
    {
        limits ??= new RenderLimitOptions();
        var limitHits = hits ?? new StorageLimitHits();
        var renderSlots = new SemaphoreSlim(limits.MaxConcurrent, limits.MaxConcurrent);
        // Endpoints that read series wait for the store's open (listening starts before it ends), at most the render timeout.
        var store = new StoreWait(reader.Opened, TimeSpan.FromSeconds(limits.TimeoutSeconds));
        // ASP.NET routing matches a trailing slash too: "/events" also serves "/events/".
        string[] getPost = ["GET", "POST"];
        Map(app, "/render", getPost, p =>
        {
            // Beyond the limit, answer at once rather than queue: a queue of renders would hold their memory too.
            if (!renderSlots.Wait(0))
            {
                limitHits.Hit("storage.render.maxConcurrent");
                return Results.Text($"too many render requests at once (storage.render.maxConcurrent = {limits.MaxConcurrent}); retry shortly",
                    "text/plain", statusCode: 429);
            }
            try { return Render(p, reader, events, clock(), limits); }
            finally { renderSlots.Release(); }
        }, limitHits, store);
        Map(app, "/metrics/find", getPost, p => Find(p, reader), limitHits, store);
        Map(app, "/metrics/expand", getPost, p => Expand(p, reader, maxFindResults), limitHits, store);
        Map(app, "/metrics/index.json", getPost, p => Json(Index(reader)), limitHits, store);
        MapAsync(app, "/events", ["GET"], (http, p) => Events(http, p, events, clock()), limitHits);
        // Posting an event is a write: the host's "ingest" policy (a bearer token when auth is configured).
        // The body is the event's JSON whatever the Content-Type says (curl -d sends a form type), as graphite-web reads it.
        MapAsync(app, "/events", ["POST"], (http, p) => Events(http, p, events, clock()), limitHits, bodyIsJson: true).RequireAuthorization("ingest");
        Map(app, "/events/get_data", ["GET"], p => Json(FetchEvents(p, events, clock())), limitHits);
        // Tag expressions carry user regexes matched against every tagged series: the request's time budget applies.
        Map(app, "/tags", ["GET"], p => Json(TagList(p, reader)), limitHits, store);
        Map(app, "/tags/findSeries", getPost, p => Json(FindSeries(p, reader, new RenderBudget(limits))), limitHits, store);
        Map(app, "/tags/autoComplete/tags", getPost, p => Json(AutoCompleteTags(p, reader, new RenderBudget(limits))), limitHits, store);
        Map(app, "/tags/autoComplete/values", getPost, p => Json(AutoCompleteValues(p, reader, new RenderBudget(limits))), limitHits, store);
        Map(app, "/functions", ["GET"], FunctionsEndpoint.List, limitHits);
        MapAsync(app, "/functions/{*name}", ["GET"], (http, p) => Task.FromResult(http.Request.RouteValues["name"] is string { Length: > 0 } name
            ? FunctionsEndpoint.Details(name, p) : FunctionsEndpoint.List(p)), limitHits);
        Map(app, "/version", ["GET"], _ => Results.Text("1.1.8", "text/plain"), limitHits);
        return app;
    }

    // ---------------- plumbing ----------------

    /// <summary>GET and POST parameters merged (lists appended), as Django's QueryDict.update.</summary>
    internal sealed class Params(Dictionary<string, List<string>> values)
    {
        public string? Get(string key) => values.TryGetValue(key, out var l) && l.Count > 0 ? l[^1] : null;
        public IReadOnlyList<string> GetList(string key) => values.TryGetValue(key, out var l) ? l : [];
        public bool Has(string key) => values.ContainsKey(key);
    }

    private static async Task<Params> ReadParams(HttpContext http)
    {
        var d = QueryDictionary(http);
        if (HttpMethods.IsPost(http.Request.Method) && http.Request.HasFormContentType)
        {
            var form = await http.Request.ReadFormAsync();
            foreach (var (k, v) in form) Add(d, k, v);
        }
        return new Params(d);
    }

    private static Params QueryParams(HttpContext http) => new(QueryDictionary(http));

    private static Dictionary<string, List<string>> QueryDictionary(HttpContext http)
    {
        var d = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (k, v) in http.Request.Query) Add(d, k, v);
        return d;
    }

    private static void Add(Dictionary<string, List<string>> d, string k, StringValues vs)
    {
        if (!d.TryGetValue(k, out var l)) d[k] = l = [];
        foreach (var v in vs) l.Add(v ?? "");
    }

    private static void Map(IEndpointRouteBuilder app, string path, string[] methods, Func<Params, IResult> handler, StorageLimitHits hits,
        StoreWait? store = null) =>
        MapAsync(app, path, methods, Sync(handler), hits, store: store);

    /// <summary>The reader's open to wait for before a request reads series, and for how long at most.</summary>
    private sealed record StoreWait(Task Opened, TimeSpan Timeout);

    private static Func<HttpContext, Params, Task<IResult>> Sync(Func<Params, IResult> handler) => (_, p) => Task.FromResult(handler(p));

    private static IEndpointConventionBuilder MapAsync(IEndpointRouteBuilder app, string path, string[] methods, Func<HttpContext, Params, Task<IResult>> handler,
        StorageLimitHits hits, bool bodyIsJson = false, StoreWait? store = null) =>
        app.MapMethods(path, methods, (RequestDelegate)(http => Guard(http, handler, hits, bodyIsJson, store)));

    /// <param name="bodyIsJson">the handler reads the body itself: only the query string becomes parameters.</param>
    private static async Task Guard(HttpContext http, Func<HttpContext, Params, Task<IResult>> handler, StorageLimitHits hits, bool bodyIsJson, StoreWait? store)
    {
        IResult result;
        try
        {
            var p = bodyIsJson ? QueryParams(http) : await ReadParams(http);
            if (store is { Opened.IsCompleted: false } && !await OpenedWithin(store, http.RequestAborted))
            {
                hits.Hit("storage.render.timeoutSeconds");
                http.Response.Headers.RetryAfter = "1";
                result = Results.Text($"the store is still opening after {store.Timeout.TotalSeconds:F0} s (storage.render.timeoutSeconds); retry shortly",
                    "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable);
            }
            else result = await handler(http, p);
        }
        catch (GraphiteInputException e)
        {
            if (e is GraphiteLimitException limit) hits.Hit(limit.Key);
            result = Results.Text(e.Message, "text/plain", statusCode: 400);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's request limits (body size: 413) met while reading the form.
            result = Results.Text(e.Message, "text/plain", statusCode: e.StatusCode);
        }
        catch (InvalidDataException e)
        {
            // Form limits (value count, key or value length).
            result = Results.Text("Invalid form: " + e.Message, "text/plain", statusCode: 400);
        }
        catch (JsonException e)
        {
            result = Results.Text("Invalid JSON: " + e.Message, "text/plain", statusCode: 400);
        }
        // Request values that do not parse (limit=abc, xFilesFactor=1e999) and a user regex that runs out of time. An
        // InvalidOperationException or IndexOutOfRangeException is Observe's bug, not the caller's: a 500 below.
        catch (Exception e) when (e is FormatException or ArithmeticException or ArgumentException
                                      or System.Text.RegularExpressions.RegexMatchTimeoutException)
        {
            result = Results.Text("Invalid request: " + e.Message, "text/plain", statusCode: 400);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            result = Results.Text($"Internal error: {e.GetType().Name}: {e.Message}", "text/plain", statusCode: 500);
        }
        await result.ExecuteAsync(http);
    }

    /// <summary>False when the store did not open within the wait; a failed open throws its error (a 500 below).</summary>
    private static async Task<bool> OpenedWithin(StoreWait store, CancellationToken aborted)
    {
        try { await store.Opened.WaitAsync(store.Timeout, aborted); }
        catch (TimeoutException) { return false; }
        return true;
    }

    private static IResult Json(object? value) => Results.Text(JsonSerializer.Serialize(value), "application/json");
}
