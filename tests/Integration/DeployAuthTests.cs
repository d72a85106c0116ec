using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Observe.Host.Config;

namespace Observe.Integration;

/// <summary>Deploy markers and locks through the whole host with bearer tokens: the "deploy" scope, and who is the token.</summary>
public class DeployAuthTests
{
    private const string DeploySecret = "deploy-secret-0123456789";
    private const string IngestSecret = "ingest-secret-0123456789";

    [Fact]
    public async Task Deploy_writes_need_the_deploy_scope_and_record_the_token_name()
    {
        await using var app = await ObserveApp.StartAsync(c =>
        {
            c.Collector.Statsd.Enabled = false;
            c.Auth.Tokens.Add(new ApiTokenOptions { Name = "ci-deployer", Token = DeploySecret, Scopes = ["deploy"] });
            c.Auth.Tokens.Add(new ApiTokenOptions { Name = "ci-ingest", Token = IngestSecret, Scopes = ["ingest"] });
        });
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        async Task<HttpResponseMessage> Send(HttpMethod method, string path, object? body, string? secret)
        {
            var req = new HttpRequestMessage(method, path) { Content = body == null ? null : JsonContent.Create(body) };
            if (secret != null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            return await http.SendAsync(req);
        }
        var marker = new { service = "shop", env = "prod", version = "v1", by = "mallory" };
        var lockBody = new { env = "staging", by = "mallory", reason = "payments" };
        foreach (var (method, path, body) in new[] { (HttpMethod.Post, "/api/deploys", (object?)marker), (HttpMethod.Post, "/api/locks", lockBody) })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Send(method, path, body, null)).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await Send(method, path, body, IngestSecret)).StatusCode);
        }
        var created = await Send(HttpMethod.Post, "/api/deploys", marker, DeploySecret);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("ci-deployer", (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("by").GetString());
        var locked = await Send(HttpMethod.Post, "/api/locks", lockBody, DeploySecret);
        Assert.Equal(HttpStatusCode.Created, locked.StatusCode);
        Assert.Equal("ci-deployer", (await locked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("by").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(HttpMethod.Delete, "/api/locks/staging", null, null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Delete, "/api/locks/staging", null, DeploySecret)).StatusCode);
        // reads stay open
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/deploys")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/locks")).StatusCode);
    }
}
