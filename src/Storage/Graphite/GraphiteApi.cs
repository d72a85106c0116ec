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
public static class GraphiteApi
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
        }, limitHits);
        Map(app, "/metrics/find", getPost, p => Find(p, reader), limitHits);
        Map(app, "/metrics/expand", getPost, p => Expand(p, reader, maxFindResults), limitHits);
        Map(app, "/metrics/index.json", getPost, p => Json(Index(reader)), limitHits);
        MapAsync(app, "/events", ["GET"], (http, p) => Events(http, p, events, clock()), limitHits);
        // Posting an event is a write: the host's "ingest" policy (a bearer token when auth is configured).
        // The body is the event's JSON whatever the Content-Type says (curl -d sends a form type), as graphite-web reads it.
        MapAsync(app, "/events", ["POST"], (http, p) => Events(http, p, events, clock()), limitHits, bodyIsJson: true).RequireAuthorization("ingest");
        Map(app, "/events/get_data", ["GET"], p => Json(FetchEvents(p, events, clock())), limitHits);
        // Tag expressions carry user regexes matched against every tagged series: the request's time budget applies.
        Map(app, "/tags", ["GET"], p => Json(TagList(p, reader)), limitHits);
        Map(app, "/tags/findSeries", getPost, p => Json(FindSeries(p, reader, new RenderBudget(limits))), limitHits);
        Map(app, "/tags/autoComplete/tags", getPost, p => Json(AutoCompleteTags(p, reader, new RenderBudget(limits))), limitHits);
        Map(app, "/tags/autoComplete/values", getPost, p => Json(AutoCompleteValues(p, reader, new RenderBudget(limits))), limitHits);
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

    private static void Map(IEndpointRouteBuilder app, string path, string[] methods, Func<Params, IResult> handler, StorageLimitHits hits) =>
        MapAsync(app, path, methods, Sync(handler), hits);

    private static Func<HttpContext, Params, Task<IResult>> Sync(Func<Params, IResult> handler) => (_, p) => Task.FromResult(handler(p));

    private static IEndpointConventionBuilder MapAsync(IEndpointRouteBuilder app, string path, string[] methods, Func<HttpContext, Params, Task<IResult>> handler,
        StorageLimitHits hits, bool bodyIsJson = false) =>
        app.MapMethods(path, methods, (RequestDelegate)(http => Guard(http, handler, hits, bodyIsJson)));

    /// <param name="bodyIsJson">the handler reads the body itself: only the query string becomes parameters.</param>
    private static async Task Guard(HttpContext http, Func<HttpContext, Params, Task<IResult>> handler, StorageLimitHits hits, bool bodyIsJson)
    {
        IResult result;
        try
        {
            var p = bodyIsJson ? QueryParams(http) : await ReadParams(http);
            result = await handler(http, p);
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

    private static IResult Json(object? value) => Results.Text(JsonSerializer.Serialize(value), "application/json");

    // ---------------- /render ----------------

    internal sealed record RenderRequest(List<string> Targets, long From, long Until, long Now, string? Format,
        int? MaxDataPoints, bool NoNullPoints, double XFilesFactor, string? Jsonp);

    internal static RenderRequest ParseRenderRequest(Params p, long clockNow)
    {
        var targets = p.GetList("target").Count > 0 ? p.GetList("target").ToList() : p.GetList("target[]").ToList();
        var now = p.Get("now") is { } n ? AtTime.Parse(n, clockNow) : clockNow;
        var until = p.Get("until") is { } u ? AtTime.Parse(u, now) : now;
        var from = p.Get("from") is { } f ? AtTime.Parse(f, now) : AtTime.Parse("-1d", now);
        var start = Math.Min(from, until);
        var end = Math.Max(from, until);
        if (start == end) throw new GraphiteInputException("Invalid empty time range");
        int? mdp = p.Get("maxDataPoints") is { } m && m.Length > 0 && m.All(char.IsAsciiDigit) && int.TryParse(m, out var mv) && mv > 0 ? mv : null;
        var xff = p.Get("xFilesFactor") is { } x ? double.Parse(x, CultureInfo.InvariantCulture) : 0.0;
        string? format = p.Has("pickle") ? "pickle" : null;
        if (p.Has("rawData")) format = "raw";
        if (p.Has("format")) format = p.Get("format");
        return new RenderRequest(targets, start, end, now, format, mdp, p.Has("noNullPoints"), xff, p.Has("format") ? p.Get("jsonp") : null);
    }

    internal static List<TimeSeries> Evaluate(RenderRequest req, ISeriesReader reader, GraphiteEventStore? events, RenderLimitOptions? limits = null)
    {
        if (limits != null && req.Targets.Count > limits.MaxTargets)
            throw new GraphiteLimitException("storage.render.maxTargets", $"{req.Targets.Count} targets in one request; at most {limits.MaxTargets} (storage.render.maxTargets)");
        limits ??= new RenderLimitOptions();
        var targets = req.Targets.Where(t => !string.IsNullOrWhiteSpace(t)).ToList();
        var nodes = targets.Select(t => TargetParser.Parse(t, limits.MaxDepth)).ToList();
        var ctx = new RenderContext(req.From, req.Until, req.Now, req.XFilesFactor, reader, events, Evaluator.PathExpressions(nodes),
            new RenderBudget(limits));
        var data = new List<TimeSeries>();
        // Only GraphiteInputException (and the request-value exceptions Guard lists) is the caller's error; anything else a
        // function throws is Observe's bug and goes on to Guard's 500.
        foreach (var node in nodes) data.AddRange(Evaluator.EvaluateTarget(ctx, node));
        return data;
    }

    private static IResult Render(Params p, ISeriesReader reader, GraphiteEventStore events, long clockNow, RenderLimitOptions limits)
    {
        var req = ParseRenderRequest(p, clockNow);
        var image = Images.GraphImages.Prepare(req.Format, p.Get, limits);
        var data = Evaluate(req, reader, events, limits);
        switch (req.Format)
        {
            case "png" or "svg": return image!.Result(data, req.From, req.Until);
            case "csv": return Results.Text(RenderCsv(data), "text/csv");
            case "json":
            case null:
                if (req.Jsonp == null && req.MaxDataPoints == null && !req.NoNullPoints) return new RenderedJson(data);
                if (req.Jsonp == null) return Results.Bytes(RenderJsonUtf8(data, req), "application/json");
                var json = RenderJson(data, req);
                return Results.Text($"{req.Jsonp}({json})", "text/javascript");
            default: throw new GraphiteInputException($"Unsupported format '{req.Format}': Observe renders json, csv, png and svg");
        }
    }

    /// <summary>renderViewJson, including maxDataPoints consolidation and noNullPoints.</summary>
    internal static string RenderJson(List<TimeSeries> data, RenderRequest req)
    {
        var sb = new StringBuilder("[", 64 + data.Sum(s => s.Values.Count) * 24);
        var first = true;
        if (data.Any(s => s.Values.Count > 0))
        {
            var startTime = data.Min(s => s.Start);
            var endTime = data.Max(s => s.End);
            var timeRange = endTime - startTime;
            foreach (var series in data)
            {
                if (req.MaxDataPoints is { } maxDataPoints)
                {
                    if (maxDataPoints == 1) series.Consolidate(Math.Max(1, series.Values.Count));
                    else
                    {
                        var numberOfDataPoints = (double)timeRange / series.Step;
                        if (maxDataPoints < numberOfDataPoints)
                        {
                            var valuesPerPoint = (int)Math.Ceiling(numberOfDataPoints / maxDataPoints);
                            var secondsPerPoint = valuesPerPoint * series.Step;
                            var nudge = secondsPerPoint + Py.Mod(series.Start, series.Step) - Py.Mod(series.Start, secondsPerPoint);
                            series.Start += nudge;
                            var valuesToLose = (int)(nudge / series.Step);
                            for (var r = 1; r < valuesToLose && series.Values.Count > 0; r++) series.Values.RemoveAt(0);
                            series.Consolidate(valuesPerPoint);
                        }
                    }
                }
                if (!first && !req.NoNullPoints) sb.Append(", ");
                if (!req.NoNullPoints)
                {
                    // Same output as the general path below, without building the datapoint list.
                    first = false;
                    sb.Append("{\"target\": ").Append(PyJson.String(series.Name));
                    sb.Append(", \"tags\": ").Append(PyJson.Object(series.Tags));
                    sb.Append(", \"datapoints\": [");
                    var pts = series.Points();
                    var pstep = series.Step * series.ValuesPerPoint;
                    var j = 0;
                    for (var ts = series.Start; ts < series.End + 1 && j < pts.Count; ts += pstep, j++)
                    {
                        if (j > 0) sb.Append(", ");
                        sb.Append('[');
                        AppendJsonNumber(sb, pts[j]);
                        sb.Append(", ");
                        sb.Append(CultureInfo.InvariantCulture, $"{ts}");
                        sb.Append(']');
                    }
                    sb.Append("]}");
                    continue;
                }
                var dps = series.Datapoints();
                if (req.NoNullPoints)
                {
                    dps = dps.Where(d => d.Value is { } v && !double.IsNaN(v)).ToList();
                    if (dps.Count == 0) continue;
                }
                if (!first) sb.Append(", ");
                first = false;
                sb.Append("{\"target\": ").Append(PyJson.String(series.Name));
                sb.Append(", \"tags\": ").Append(PyJson.Object(series.Tags));
                sb.Append(", \"datapoints\": [");
                for (var i = 0; i < dps.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    sb.Append('[');
                    AppendJsonNumber(sb, dps[i].Value);
                    sb.Append(", ");
                    sb.Append(CultureInfo.InvariantCulture, $"{dps[i].Timestamp}");
                    sb.Append(']');
                }
                sb.Append("]}");
            }
        }
        return sb.Append(']').ToString();
    }

    /// <summary>Answers with at least this many values are formatted series by series on every core.</summary>
    private const int ParallelJsonValues = 20_000;

    /// <summary>
    /// The bytes of <see cref="RenderJsonUtf8"/> for an answer without maxDataPoints/noNullPoints/jsonp, formatted series
    /// by series (on every core when big) and written with a Content-Length: a client that knows the length reads
    /// into one buffer, where a chunked answer of a few MB cost HttpClient ~7 ms more on loopback (measured).
    /// </summary>
    internal sealed class RenderedJson(List<TimeSeries> data) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            http.Response.ContentType = "application/json";
            if (!data.Any(s => s.Values.Count > 0))
            {
                http.Response.ContentLength = 2;
                await http.Response.Body.WriteAsync("[]"u8.ToArray());
                return;
            }
            var parts = FormatSeries(data);
            try
            {
                http.Response.ContentLength = 2 + parts.Sum(x => (long)x.Length);
                var writer = http.Response.BodyWriter;
                writer.Write("["u8);
                foreach (var part in parts) writer.Write(part.Span);
                writer.Write("]"u8);
            }
            finally
            {
                foreach (var part in parts) JsonBuffers.Return(part.Buffer);
            }
            await http.Response.BodyWriter.FlushAsync();
        }
    }

    // Render buffers are reused: a 4 MB answer formatted into fresh arrays cost a gen1 collection per request on a heap
    // holding the chunk cache (measured in the render bench: 20 gen1 GCs in 21 requests).
    private static readonly ArrayPool<byte> JsonBuffers = ArrayPool<byte>.Create(maxArrayLength: 64 << 20, maxArraysPerBucket: 16);

    /// <summary>Formatted JSON of a run of consecutive series, in a buffer of <see cref="JsonBuffers"/>.</summary>
    private readonly record struct JsonPart(byte[] Buffer, int Length)
    {
        public ReadOnlySpan<byte> Span => Buffer.AsSpan(0, Length);
    }

    private static JsonPart[] FormatSeries(List<TimeSeries> data)
    {
        // Formatting doubles is most of the cost and series are independent: big answers are cut into runs of
        // consecutive series, one per worker, formatted on every core and joined in order.
        long values = data.Sum(s => (long)s.Values.Count);
        int runs = values >= ParallelJsonValues ? Math.Min(data.Count, Environment.ProcessorCount * 2) : 1;
        var parts = new JsonPart[runs];
        if (runs == 1) parts[0] = FormatRun(data, 0, data.Count);
        else Parallel.For(0, runs, r => parts[r] = FormatRun(data, (int)((long)data.Count * r / runs), (int)((long)data.Count * (r + 1) / runs)));
        return parts;
    }

    /// <summary>Series [from, to) as <c>{"target": …, "tags": …, "datapoints": [...]}</c>, each but the very first preceded by ", ".</summary>
    private static JsonPart FormatRun(List<TimeSeries> data, int from, int to)
    {
        var heads = new string[to - from];
        long bound = 0;
        for (int i = from; i < to; i++)
        {
            var s = data[i];
            heads[i - from] = (i > 0 ? ", " : "") + "{\"target\": " + PyJson.String(s.Name) + ", \"tags\": " + PyJson.Object(s.Tags) + ", \"datapoints\": [";
            // Per point at most ", [" + a number + ", " + a timestamp + "]".
            bound += Encoding.UTF8.GetMaxByteCount(heads[i - from].Length) + 4 + (long)s.Values.Count * (8 + PyFloat.MaxLength + 20);
        }
        var buffer = JsonBuffers.Rent((int)bound);
        var span = buffer.AsSpan();
        int p = 0;
        for (int i = from; i < to; i++)
        {
            var series = data[i];
            p += Encoding.UTF8.GetBytes(heads[i - from], span[p..]);
            var pts = series.Points();
            var pstep = series.Step * series.ValuesPerPoint;
            var j = 0;
            for (var ts = series.Start; ts < series.End + 1 && j < pts.Count; ts += pstep, j++)
            {
                if (j > 0) { span[p++] = (byte)','; span[p++] = (byte)' '; }
                span[p++] = (byte)'[';
                p += WriteJsonNumber(pts[j], span[p..]);
                span[p++] = (byte)','; span[p++] = (byte)' ';
                ts.TryFormat(span[p..], out var n, default, CultureInfo.InvariantCulture);
                p += n;
                span[p++] = (byte)']';
            }
            span[p++] = (byte)']'; span[p++] = (byte)'}';
        }
        return new JsonPart(buffer, p);
    }

    /// <summary>
    /// UTF-8 bytes of <see cref="RenderJson"/>, written directly (no intermediate string) when there is no
    /// maxDataPoints/noNullPoints processing; otherwise the encoded string.
    /// </summary>
    internal static byte[] RenderJsonUtf8(List<TimeSeries> data, RenderRequest req)
    {
        if (req.MaxDataPoints != null || req.NoNullPoints) return Encoding.UTF8.GetBytes(RenderJson(data, req));
        if (!data.Any(s => s.Values.Count > 0)) return "[]"u8.ToArray();
        var parts = FormatSeries(data);
        var result = new byte[2 + parts.Sum(x => x.Length)];
        result[0] = (byte)'[';
        int at = 1;
        foreach (var x in parts) { x.Span.CopyTo(result.AsSpan(at)); at += x.Length; JsonBuffers.Return(x.Buffer); }
        result[at] = (byte)']';
        return result;
    }

    /// <summary><see cref="JsonNumber"/> as UTF-8 without allocating; <paramref name="dst"/> needs <see cref="PyFloat.MaxLength"/> bytes.</summary>
    private static int WriteJsonNumber(double? v, Span<byte> dst)
    {
        if (v is not { } d || double.IsNaN(d)) { "null"u8.CopyTo(dst); return 4; }
        if (double.IsInfinity(d)) { var inf = d > 0 ? "1e9999"u8 : "-1e9999"u8; inf.CopyTo(dst); return inf.Length; }
        return PyFloat.WriteRepr(d, dst);
    }

    /// <summary><see cref="JsonNumber"/> appended without building a string.</summary>
    internal static void AppendJsonNumber(StringBuilder sb, double? v)
    {
        Span<byte> buf = stackalloc byte[PyFloat.MaxLength];
        int n = WriteJsonNumber(v, buf);
        Span<char> chars = stackalloc char[PyFloat.MaxLength];
        for (int i = 0; i < n; i++) chars[i] = (char)buf[i];
        sb.Append(chars[..n]);
    }

    internal static string JsonNumber(double? v) => v switch
    {
        null => "null",
        { } d when double.IsNaN(d) => "null",
        { } d when double.IsPositiveInfinity(d) => "1e9999",
        { } d when double.IsNegativeInfinity(d) => "-1e9999",
        { } d => Py.Repr(d),
    };

    internal static string RenderCsv(List<TimeSeries> data)
    {
        var sb = new StringBuilder();
        foreach (var s in data)
        {
            var pts = s.Points();
            for (var i = 0; i < pts.Count; i++)
            {
                var ts = DateTime.UnixEpoch.AddSeconds(s.Start + i * s.Step).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
                sb.Append(CsvField(s.Name)).Append(',').Append(ts).Append(',').Append(pts[i] is { } v ? Py.Repr(v) : "").Append("\r\n");
            }
        }
        return sb.ToString();
    }

    private static string CsvField(string f) =>
        f.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + f.Replace("\"", "\"\"") + "\"" : f;

    // ---------------- /metrics ----------------

    private static string NodeName(string path) { var i = path.LastIndexOf('.'); return i < 0 ? path : path[(i + 1)..]; }

    private static IResult Find(Params p, ISeriesReader reader)
    {
        var format = p.Get("format") ?? "treejson";
        var wildcards = ParamInt(p, "wildcards", 0) != 0;
        var leavesOnly = ParamInt(p, "leavesOnly", 0) != 0;
        var query = p.Get("query") ?? throw new GraphiteInputException("Missing required parameter 'query'");
        if (query.Length == 0) throw new GraphiteInputException("Required parameter 'query' is empty");
        var basePath = query.Contains('.') ? query[..(query.LastIndexOf('.') + 1)] : "";
        if (format == "completer")
        {
            query = query.Replace("..", "*.");
            if (!query.EndsWith('*')) query += "*";
        }
        var matches = reader.Find(query).Where(n => !leavesOnly || n.IsLeaf)
            .OrderBy(n => NodeName(n.Path), StringComparer.Ordinal).ToList();
        switch (format)
        {
            case "treejson":
                {
                    var results = new List<Dictionary<string, object>>();
                    if (matches.Count > 1 && wildcards)
                    {
                        var w = new Dictionary<string, object> { ["text"] = "*", ["id"] = basePath + "*" };
                        var branch = matches.Any(n => !n.IsLeaf);
                        w["allowChildren"] = branch ? 1 : 0; w["expandable"] = branch ? 1 : 0; w["leaf"] = branch ? 0 : 1;
                        results.Add(w);
                    }
                    var found = new HashSet<string>();
                    var leaves = new List<Dictionary<string, object>>();
                    var branches = new List<Dictionary<string, object>>();
                    foreach (var n in matches)
                    {
                        var name = NodeName(n.Path);
                        if (!found.Add(name)) continue;
                        var node = new Dictionary<string, object>
                        {
                            ["text"] = Uri.UnescapeDataString(name.Replace('+', ' ')),
                            ["id"] = basePath + name,
                            ["allowChildren"] = n.IsLeaf ? 0 : 1,
                            ["expandable"] = n.IsLeaf ? 0 : 1,
                            ["leaf"] = n.IsLeaf ? 1 : 0,
                        };
                        (n.IsLeaf ? leaves : branches).Add(node);
                    }
                    results.AddRange(branches);
                    results.AddRange(leaves);
                    return JsonP(p, results);
                }
            case "completer":
                {
                    var results = new List<Dictionary<string, string>>();
                    foreach (var n in matches)
                        results.Add(new() { ["path"] = n.IsLeaf ? n.Path : n.Path + ".", ["name"] = NodeName(n.Path), ["is_leaf"] = n.IsLeaf ? "1" : "0" });
                    if (results.Count > 1 && wildcards) results.Add(new() { ["name"] = "*" });
                    return JsonP(p, new Dictionary<string, object> { ["metrics"] = results });
                }
            case "nodelist":
                {
                    var pos = ParamInt(p, "position", -1);
                    var found = new SortedSet<string>(StringComparer.Ordinal);
                    foreach (var n in matches)
                    {
                        var parts = n.Path.Split('.');
                        var k = pos < 0 ? parts.Length + pos : pos;
                        if (k < 0 || k >= parts.Length) throw new GraphiteInputException("position out of range");
                        found.Add(parts[k]);
                    }
                    return JsonP(p, new Dictionary<string, object> { ["nodes"] = found.ToList() });
                }
            case "json":
                return JsonP(p, matches.Select(n => new Dictionary<string, object> { ["path"] = n.Path, ["is_leaf"] = n.IsLeaf }).ToList());
            default:
                throw new GraphiteInputException("Invalid value for 'format' parameter");
        }
    }

    private static IResult JsonP(Params p, object value)
    {
        var json = JsonSerializer.Serialize(value);
        return p.Get("jsonp") is { Length: > 0 } cb ? Results.Text($"{cb}({json})", "text/javascript") : Results.Text(json, "application/json");
    }

    private static int ParamInt(Params p, string name, int dflt)
    {
        var v = p.Get(name);
        if (v == null) return dflt;
        return int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) ? i
            : throw new GraphiteInputException($"Invalid int value '{v}' for param {name}");
    }

    private static IResult Expand(Params p, ISeriesReader reader, int maxFindResults)
    {
        var groupByExpr = ParamInt(p, "groupByExpr", 0) != 0;
        var leavesOnly = ParamInt(p, "leavesOnly", 0) != 0;
        var results = new Dictionary<string, SortedSet<string>>();
        long total = 0;
        foreach (var q in p.GetList("query"))
        {
            results[q] = new SortedSet<string>(reader.Find(q).Where(n => n.IsLeaf || !leavesOnly).Select(n => n.Path), StringComparer.Ordinal);
            // Each pattern is bounded by the store; many patterns in one request are bounded together.
            if ((total += results[q].Count) > maxFindResults)
                throw new GraphiteLimitException("storage.maxFindResults",
                    $"the patterns of this request match more than {maxFindResults} paths together (storage.maxFindResults)");
        }
        object body = groupByExpr
            ? results.ToDictionary(r => r.Key, r => r.Value.ToList())
            : results.Values.SelectMany(s => s).Distinct().OrderBy(x => x, StringComparer.Ordinal).ToList();
        return JsonP(p, new Dictionary<string, object> { ["results"] = body });
    }

    internal static List<string> Index(ISeriesReader reader)
    {
        var leaves = new List<string>();
        var queue = new Queue<string>();
        queue.Enqueue("*");
        var seen = new HashSet<string>();
        while (queue.Count > 0)
        {
            foreach (var n in reader.Find(queue.Dequeue()))
            {
                if (n.IsLeaf) leaves.Add(n.Path);
                else if (seen.Add(n.Path)) queue.Enqueue(n.Path + ".*");
            }
        }
        leaves.Sort(StringComparer.Ordinal);
        return leaves.Distinct().ToList();
    }

    // ---------------- /events ----------------

    private static async Task<IResult> Events(HttpContext http, Params p, GraphiteEventStore events, long now)
    {
        if (HttpMethods.IsGet(http.Request.Method)) return Json(FetchEvents(p, events, now));
        using var doc = await JsonDocument.ParseAsync(http.Request.Body);
        var e = doc.RootElement;
        if (e.ValueKind != JsonValueKind.Object) throw new GraphiteInputException("event must be a JSON object");
        List<string>? tags = null;
        if (e.TryGetProperty("tags", out var t) && t.ValueKind != JsonValueKind.Null)
        {
            if (t.ValueKind == JsonValueKind.Array) tags = t.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : x.GetRawText()).ToList();
            else if (t.ValueKind == JsonValueKind.String) tags = [t.GetString()!];
            else return Results.Text("{\"error\": \"\\\"tags\\\" must be an array or space-separated string\"}", "application/json", statusCode: 400);
        }
        long? when = null;
        if (e.TryGetProperty("when", out var w) && w.ValueKind != JsonValueKind.Null)
            when = w.ValueKind == JsonValueKind.Number ? (long)Math.Floor(w.GetDouble()) : throw new GraphiteInputException("\"when\" must be a number (unix seconds)");
        var what = e.TryGetProperty("what", out var wh) && wh.ValueKind == JsonValueKind.String ? wh.GetString()! : throw new GraphiteInputException("\"what\" is required");
        var data = e.TryGetProperty("data", out var dt) ? (dt.ValueKind == JsonValueKind.String ? dt.GetString() : dt.GetRawText()) : "";
        events.Add(what, tags, data, when ?? now);
        return Results.Ok();
    }

    internal static List<Dictionary<string, object>> FetchEvents(Params p, GraphiteEventStore events, long now)
    {
        var from = p.Get("from") is { } f ? AtTime.Parse(f, now) : 0;
        var until = p.Get("until") is { } u ? AtTime.Parse(u, now) : now;
        var tags = p.Get("tags")?.Split(' ');
        return events.Find(from, until, tags, p.Get("set")).Select(e => new Dictionary<string, object>
        {
            ["when"] = e.When, ["what"] = e.What, ["data"] = e.Data, ["tags"] = e.Tags, ["id"] = e.Id,
        }).ToList();
    }

    // ---------------- /tags ----------------

    private static IEnumerable<Dictionary<string, string>> AllTags(ISeriesReader reader) =>
        reader.TaggedSeries().Select(TagQuery.Parse).Where(t => t != null)!;

    internal static List<Dictionary<string, object>> TagList(Params p, ISeriesReader reader)
    {
        var filter = p.Get("filter");
        System.Text.RegularExpressions.Regex? re = null;
        // A user's regex: bounded like those of grep/exclude (a match past the timeout is a 400).
        if (!string.IsNullOrEmpty(filter))
            re = new(filter.StartsWith('^') ? filter : "^(" + filter + ")", System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        var tags = AllTags(reader).SelectMany(t => t.Keys).Distinct().Where(t => re == null || re.IsMatch(t)).OrderBy(t => t, StringComparer.Ordinal);
        var limit = p.Get("limit") is { } l ? int.Parse(l, CultureInfo.InvariantCulture) : int.MaxValue;
        return tags.Take(limit).Select(t => new Dictionary<string, object> { ["tag"] = t }).ToList();
    }

    private static List<string> Exprs(Params p) => p.GetList("expr").Count > 0 ? [.. p.GetList("expr")] : [.. p.GetList("expr[]")];

    private static List<string> FindSeries(Params p, ISeriesReader reader, RenderBudget budget)
    {
        var exprs = Exprs(p);
        if (exprs.Count == 0) throw new GraphiteInputException("no tag expressions specified");
        return TagQuery.FindSeries(reader.TaggedSeries(), exprs, budget);
    }

    private static List<string> AutoCompleteTags(Params p, ISeriesReader reader, RenderBudget budget)
    {
        var exprs = Exprs(p);
        var prefix = p.Get("tagPrefix");
        var limit = p.Get("limit") is { } l ? int.Parse(l, CultureInfo.InvariantCulture) : 100;
        IEnumerable<string> tags;
        if (exprs.Count == 0) tags = AllTags(reader).SelectMany(t => t.Keys);
        else
        {
            var searched = exprs.Select(e => TagQuery.ParseTagSpec(e).Tag).ToHashSet();
            tags = TagQuery.FindSeries(reader.TaggedSeries(), exprs, budget).Select(TagQuery.Parse).Where(t => t != null).SelectMany(t => t!.Keys).Where(t => !searched.Contains(t));
        }
        return tags.Where(t => string.IsNullOrEmpty(prefix) || t.StartsWith(prefix, StringComparison.Ordinal))
            .Distinct().OrderBy(t => t, StringComparer.Ordinal).Take(limit).ToList();
    }

    private static List<string> AutoCompleteValues(Params p, ISeriesReader reader, RenderBudget budget)
    {
        var exprs = Exprs(p);
        var tag = p.Get("tag");
        if (string.IsNullOrEmpty(tag)) throw new GraphiteInputException("no tag specified");
        var prefix = p.Get("valuePrefix");
        var limit = p.Get("limit") is { } l ? int.Parse(l, CultureInfo.InvariantCulture) : 100;
        var series = exprs.Count == 0 ? AllTags(reader) : TagQuery.FindSeries(reader.TaggedSeries(), exprs, budget).Select(TagQuery.Parse).Where(t => t != null)!;
        return series.Select(t => t!.GetValueOrDefault(tag)).Where(v => v != null && (string.IsNullOrEmpty(prefix) || v.StartsWith(prefix, StringComparison.Ordinal)))
            .Select(v => v!).Distinct().OrderBy(v => v, StringComparer.Ordinal).Take(limit).ToList();
    }
}
