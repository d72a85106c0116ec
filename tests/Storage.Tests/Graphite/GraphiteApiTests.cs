using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Observe.Storage.Graphite;
using Observe.TestSupport;

namespace Observe.Storage.Tests.Graphite;

/// <summary>The HTTP surface in-process, over the in-memory reader (no real graphite needed).</summary>
public sealed class GraphiteApiTests : IAsyncLifetime
{
    private const long Now = 1_800_000_000;
    private readonly MemorySeriesStore _store = new("10s:1d", () => Now);
    private readonly GraphiteEventStore _events = GraphiteEventStore.InMemory();
    private readonly HttpClient _http = new();
    private WebApplication? _app;
    private string _url = "";

    public async Task InitializeAsync()
    {
        for (var i = 0; i < 30; i++)
        {
            _store.Write("svc.a.requests", i, Now - 600 + i * 10);
            _store.Write("svc.b.requests", 2 * i, Now - 600 + i * 10);
            _store.Write("svc.b.deep.leaf", 1, Now - 600 + i * 10);
            _store.Write("cpu;host=h1;dc=east", i % 3, Now - 600 + i * 10);
        }
        (_app, _url) = await StartAsync(_store);
    }

    private async Task<(WebApplication App, string Url)> StartAsync(ISeriesReader reader)
    {
        var port = FreePort.Get();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        // The host supplies the scope policies (bearer tokens); here POST /events/'s "ingest" is open, as with no tokens.
        builder.Services.AddAuthorization(o => o.AddPolicy("ingest", p => p.RequireAssertion(_ => true)));
        var app = builder.Build();
        app.UseAuthorization();
        app.MapGraphiteApi(reader, _events, () => Now);
        await app.StartAsync();
        return (app, $"http://127.0.0.1:{port}");
    }

    /// <summary>A reader with a bug: what it throws is Observe's fault, so the answer is a 500, never a 400 blaming the caller.</summary>
    private sealed class BrokenReader(Exception bug) : ISeriesReader
    {
        public IReadOnlyList<MetricNode> Find(string pattern) => throw bug;
        public IReadOnlyList<string> TaggedSeries() => throw bug;
        public SeriesWindow? Fetch(string series, long from, long until) => throw bug;
    }

    [Theory]
    [InlineData(typeof(InvalidOperationException))]
    [InlineData(typeof(IndexOutOfRangeException))]
    [InlineData(typeof(InvalidCastException))]
    public async Task An_internal_error_is_a_500_not_a_client_error(Type bug)
    {
        var (app, url) = await StartAsync(new BrokenReader((Exception)Activator.CreateInstance(bug, "the bug")!));
        await using var _ = app;
        foreach (var q in new[] { "/metrics/find?query=svc.*", "/render?target=svc.a.requests&format=json" })
        {
            var r = await _http.GetAsync(url + q);
            var body = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.InternalServerError, $"{q}: {(int)r.StatusCode} {body}");
            Assert.Contains(bug.Name, body);
        }
    }

    public async Task DisposeAsync()
    {
        if (_app != null) await _app.DisposeAsync();
        _events.Dispose();
        _http.Dispose();
    }

    private async Task<(HttpStatusCode Status, string Body)> Get(string q)
    {
        var r = await _http.GetAsync(_url + q);
        return (r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Render_json_by_get_and_post()
    {
        var (status, body) = await Get("/render?target=sumSeries(svc.*.requests)&from=-5min&until=now&format=json");
        Assert.Equal(HttpStatusCode.OK, status);
        using var doc = JsonDocument.Parse(body);
        var s = doc.RootElement[0];
        Assert.Equal("sumSeries(svc.*.requests)", s.GetProperty("target").GetString());
        Assert.Equal(30, s.GetProperty("datapoints").GetArrayLength());
        var post = await _http.PostAsync(_url + "/render", new FormUrlEncodedContent([new("target", "svc.a.requests"), new("target", "svc.b.requests"), new("from", "-10min"), new("format", "json"), new("maxDataPoints", "10")]));
        using var pd = JsonDocument.Parse(await post.Content.ReadAsStringAsync());
        Assert.Equal(2, pd.RootElement.GetArrayLength());
        Assert.True(pd.RootElement[0].GetProperty("datapoints").GetArrayLength() <= 10);
    }

    [Theory]
    [InlineData("nosuch(svc.a.requests)", "nosuch")]
    [InlineData("sumSeries(svc.a.requests", "position")]
    [InlineData("scale(svc.a.requests, 'x')", "factor")]
    [InlineData("summarize(svc.a.requests, '1h', 'nosuchagg')", "nosuchagg")]
    public async Task Bad_targets_are_400(string target, string mention)
    {
        var (status, body) = await Get("/render?format=json&target=" + Uri.EscapeDataString(target));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(mention, body);
    }

    [Theory]
    [InlineData("/render?format=json&target=summarize(constantLine(1),'1min')&from=-1s")]
    [InlineData("/render?format=json&target=constantLine(1)&from=-1s&maxDataPoints=2")]
    [InlineData("/render?format=json&target=svc.a.requests&maxDataPoints=0")]
    [InlineData("/render?format=json&target=svc.a.requests&from=now&until=now")]
    [InlineData("/render?format=json&target=hitcount(svc.a.requests,'0s')")]
    [InlineData("/render?format=json&target=aliasSub(svc.a.requests,'(','x')")]
    [InlineData("/render?format=json&target=movingAverage(svc.a.requests,'-0s')")]
    public async Task Degenerate_requests_never_500_or_hang(string q)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var r = await _http.GetAsync(_url + q, cts.Token);
        Assert.True((int)r.StatusCode is 200 or 400, $"{q}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task Bad_times_are_400() =>
        Assert.Equal(HttpStatusCode.BadRequest, (await Get("/render?format=json&target=svc.a.requests&from=-1fortnight")).Status);

    [Fact]
    public async Task Csv()
    {
        var (_, body) = await Get($"/render?target=svc.a.requests&from={Now - 30}&until={Now}&format=csv");
        Assert.StartsWith("svc.a.requests,2027-01-15 07:59:40,", body); // 1800000000 - 30 → first slot 07:59:40 UTC
        Assert.Contains("\r\n", body);
    }

    [Fact]
    public async Task Find_treejson_and_completer()
    {
        var (_, tree) = await Get("/metrics/find?query=svc.*");
        Assert.Equal("""[{"text":"a","id":"svc.a","allowChildren":1,"expandable":1,"leaf":0},{"text":"b","id":"svc.b","allowChildren":1,"expandable":1,"leaf":0}]""", tree);
        var (_, leaves) = await Get("/metrics/find?query=svc.b.*");
        Assert.Equal("""[{"text":"deep","id":"svc.b.deep","allowChildren":1,"expandable":1,"leaf":0},{"text":"requests","id":"svc.b.requests","allowChildren":0,"expandable":0,"leaf":1}]""", leaves);
        var (_, completer) = await Get("/metrics/find?query=svc.b.&format=completer");
        Assert.Contains("\"path\":\"svc.b.deep.\"", completer);
        var (_, index) = await Get("/metrics/index.json");
        Assert.Equal("""["svc.a.requests","svc.b.deep.leaf","svc.b.requests"]""", index);
        var (_, expand) = await Get("/metrics/expand?query=svc.*");
        Assert.Equal("""{"results":["svc.a","svc.b"]}""", expand);
    }

    [Fact]
    public async Task Events_post_and_get_data()
    {
        var r = await _http.PostAsync(_url + "/events/", new StringContent("""{"what":"deploy","tags":"deploy api","when":1799999000,"data":"v1"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        r = await _http.PostAsync(_url + "/events/", new StringContent("""{"what":"x","tags":{"a":1}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var (_, data) = await Get("/events/get_data?from=-1h&tags=api");
        Assert.Equal("""[{"when":1799999000,"what":"deploy","data":"v1","tags":["deploy","api"],"id":1}]""", data);
        var (_, none) = await Get("/events/get_data?from=-1h&tags=api%20web");
        Assert.Equal("[]", none);
        var (_, union) = await Get("/events/get_data?from=-1h&tags=api%20web&set=union");
        Assert.Contains("deploy", union);
    }

    /// <summary>The /functions views in-process (the field-by-field comparison with graphite-web is in tests/Integration).</summary>
    [Fact]
    public async Task Functions_detail_grouped_pretty_and_unknown()
    {
        var (status, body) = await Get("/functions/keepLastValue");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("""{"name": "keepLastValue", "function": "keepLastValue(seriesList, limit=inf)", "description": """, body);
        Assert.EndsWith("""
            "module": "graphite.render.functions", "group": "Transform", "params": [{"name": "seriesList", "type": "seriesList", "required": true}, {"name": "limit", "type": "intOrInf", "default": 1e9999}]}
            """, body);
        using (var grouped = JsonDocument.Parse((await Get("/functions?grouped=true")).Body))
            Assert.Equal(["Alias", "Calculate", "Combine", "Filter Data", "Filter Series", "Graph", "Sorting", "Special", "Transform"],
                grouped.RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        var pretty = (await Get("/functions/sortByName?pretty=1")).Body;
        Assert.Contains("\n  \"function\": \"sortByName(seriesList, natural=False, reverse=False)\",\n  \"group\": \"Sorting\",", pretty);
        Assert.Equal((HttpStatusCode.NotFound, """{"error": "Function not found: nope"}"""), await Get("/functions/nope"));
    }

    [Fact]
    public async Task Tags_version_and_functions()
    {
        Assert.Equal("""[{"tag":"dc"},{"tag":"host"},{"tag":"name"}]""", (await Get("/tags")).Body);
        Assert.Equal("""["dc","host"]""", (await Get("/tags/autoComplete/tags?expr=name%3Dcpu")).Body);
        Assert.Equal("""["east"]""", (await Get("/tags/autoComplete/values?tag=dc")).Body);
        Assert.Equal("""["cpu;dc=east;host=h1"]""", (await Get("/tags/findSeries?expr=host%3Dh1")).Body);
        Assert.Equal("1.1.8", (await Get("/version")).Body);
        using var f = JsonDocument.Parse((await Get("/functions")).Body);
        foreach (var name in new[] { "sumSeries", "summarize", "seriesByTag", "groupByTags", "events", "movingAverage" })
            Assert.True(f.RootElement.TryGetProperty(name, out _), name);
    }
}
