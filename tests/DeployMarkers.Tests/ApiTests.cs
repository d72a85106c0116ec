using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Observe.Alerting;
using Observe.Storage;
using Observe.TestSupport;

namespace Observe.DeployMarkers.Tests;

/// <summary>/api/deploys and /api/locks over real HTTP, hosted in a bare WebApplication.</summary>
public class ApiTests
{
    private static async Task<(WebApplication App, HttpClient Http)> Start(string dataDir)
    {
        var port = FreePort.Get();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IAlertSink>(new RecordingAlertSink());
        builder.Services.AddObserveDeploys(new DeploysOptions { Services = [new DeployServiceOptions { Name = "shop" }] }, dataDir, TimeSpan.FromSeconds(10));
        // The host supplies the scope policies (bearer tokens); here the deploy scope is open, as with no tokens configured.
        builder.Services.AddAuthorization(o => o.AddPolicy("deploy", p => p.RequireAssertion(_ => true)));
        var app = builder.Build();
        app.UseAuthorization();
        app.MapDeploysApi();
        await app.StartAsync();
        return (app, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") });
    }

    [Fact]
    public async Task Markers_locks_and_errors_over_http()
    {
        var (app, http) = await Start(Repo.TempDir("deploys-api"));
        await using var _ = app;
        using var __ = http;

        var r = await http.PostAsJsonAsync("/api/deploys", new { service = "shop", env = "staging", version = "6957bb87", branch = "intlrelease", by = "Matt", id = "ci-1" });
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var d = await r.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("ci-1", d.GetProperty("id").GetString());
        Assert.Equal("started", d.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsJsonAsync("/api/deploys", new { service = "shop", env = "staging", version = "6957bb87", by = "Matt", id = "ci-1" })).StatusCode);

        r = await http.PostAsJsonAsync("/api/deploys", new { @event = "finish", id = "ci-1" });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var got = await http.GetFromJsonAsync<JsonElement>("/api/deploys/ci-1");
        Assert.Equal("finished", got.GetProperty("state").GetString());
        Assert.Equal("pending", got.GetProperty("verification").GetProperty("verdict").GetString());
        Assert.Equal(1, (await http.GetFromJsonAsync<JsonElement>("/api/deploys?service=shop&env=staging")).GetArrayLength());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/deploys/nope")).StatusCode);

        // 400 names the field
        async Task Bad(HttpContent body, string field)
        {
            var resp = await http.PostAsync("/api/deploys", body);
            Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
            var e = await resp.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(field, e.GetProperty("field").GetString());
            Assert.StartsWith(field + ":", e.GetProperty("error").GetString());
        }
        await Bad(JsonContent.Create(new { env = "staging", version = "1", by = "x" }), "service");
        await Bad(JsonContent.Create(new { service = "shop", env = "staging", version = "1" }), "by");
        await Bad(JsonContent.Create(new { service = "shop", env = "sta ging", version = "1", by = "x" }), "env");
        await Bad(new StringContent("{\"service\": \"shop\", ", Encoding.UTF8, "application/json"), "body");
        await Bad(new StringContent("{\"service\": 42}", Encoding.UTF8, "application/json"), "body");
        await Bad(new StringContent("service=shop", Encoding.UTF8, "application/x-www-form-urlencoded"), "body");

        // locks
        r = await http.PostAsJsonAsync("/api/locks", new { env = "staging", by = "alice", reason = "testing payments" });
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var locks = await http.GetFromJsonAsync<JsonElement>("/api/locks");
        Assert.Equal("alice", locks[0].GetProperty("by").GetString());
        r = await http.PostAsJsonAsync("/api/deploys", new { service = "shop", env = "staging", version = "2", by = "bob" });
        Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
        var conflict = await r.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("staging is locked by alice: testing payments", conflict.GetProperty("error").GetString());
        Assert.Equal("alice", conflict.GetProperty("lock").GetProperty("by").GetString());
        Assert.Equal("testing payments", conflict.GetProperty("lock").GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await http.DeleteAsync("/api/locks/staging?by=bob")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.DeleteAsync("/api/locks/staging?by=bob&force=true")).StatusCode);
        Assert.Equal(0, (await http.GetFromJsonAsync<JsonElement>("/api/locks")).GetArrayLength());
    }

    [Fact]
    public async Task Cli_prints_one_line_and_exits_with_script_codes()
    {
        var (app, http) = await Start(Repo.TempDir("deploys-cli"));
        await using var _ = app;
        using var __ = http;
        var url = http.BaseAddress!;
        var o = new StringWriter();
        Assert.Equal(0, await DeployCli.MarkAsync(url, null, new DeployCliMarker("start", null, "shop", "qa", "v1", "main", null, "ci", null, null, false, null), null, o, default));
        Assert.Matches(@"^deploy \S+: shop/main \(v1\) to qa: started\n$", o.ToString().Replace("\r", ""));
        o = new StringWriter();
        Assert.Equal(0, await DeployCli.LockAsync(url, null, "qa", "alice", "payments", false, o, default));
        Assert.Equal("qa locked by alice: payments", o.ToString().Trim());
        o = new StringWriter();
        Assert.Equal(2, await DeployCli.MarkAsync(url, null, new DeployCliMarker("start", null, "shop", "qa", "v2", null, null, "bob", null, null, false, null), null, o, default));
        Assert.Equal("refused (409): qa is locked by alice: payments", o.ToString().Trim());
        o = new StringWriter();
        Assert.Equal(2, await DeployCli.MarkAsync(url, null, new DeployCliMarker("start", null, "shop", "q a", "v2", null, null, "bob", null, null, false, null), null, o, default));
        Assert.StartsWith("refused (400): env:", o.ToString());
        o = new StringWriter();
        Assert.Equal(3, await DeployCli.MarkAsync(new Uri("http://127.0.0.1:1/"), null, new DeployCliMarker("start", null, "shop", "qa", "v2", null, null, "bob", null, null, false, null), null, o, default));
        Assert.StartsWith("cannot reach Observe", o.ToString());
    }

    [Fact]
    public async Task Cli_carries_the_deploy_id_from_start_to_finish_in_the_id_file()
    {
        var dir = Repo.TempDir("deploys-idfile");
        var (app, http) = await Start(dir);
        await using var _ = app;
        using var __ = http;
        var url = http.BaseAddress!;
        var idFile = Path.Combine(dir, "deploy.id");
        var o = new StringWriter();
        Assert.Equal(0, await DeployCli.MarkAsync(url, null, new DeployCliMarker("start", null, "shop", "qa", "v1", null, null, "ci", null, null, false, null, idFile), null, o, default));
        var id = File.ReadAllText(idFile).Trim();
        Assert.Contains($"deploy {id}:", o.ToString());
        // someone else starts another deploy of the same service meanwhile: a finish without an id would have to guess
        Assert.Equal(0, await DeployCli.MarkAsync(url, null, new DeployCliMarker("start", "other-1", "shop", "qa", "v1", null, null, "eve", null, null, false, null), null, new StringWriter(), default));
        o = new StringWriter();
        Assert.Equal(0, await DeployCli.MarkAsync(url, null, new DeployCliMarker("finish", null, "shop", "qa", "v1", null, null, "ci", null, null, false, null, idFile), null, o, default));
        Assert.StartsWith($"deploy {id}: shop (v1) to qa: finished", o.ToString());
    }
}
