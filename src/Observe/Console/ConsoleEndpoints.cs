using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Observe.Host.Auth;
using Observe.Host.Config;

namespace Observe.Host.WebConsole;

/// <summary>
/// The operator console: static files embedded in the binary (so the single-file publish and offline use keep working),
/// served at <c>/</c> and <c>/console/*</c>. The page only calls the public HTTP API with the bearer token the operator
/// typed (kept in sessionStorage): no cookies, so no ambient credential a foreign page could ride (no CSRF).
/// </summary>
internal static class ConsoleEndpoints
{
    private const string ResourcePrefix = "Observe.Console.";

    // No inline script or style, nothing from elsewhere, never framed: a string that slipped into markup still runs nothing.
    internal const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private sealed record Asset(byte[] Body, string ContentType, string ETag);

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".txt"] = "text/plain; charset=utf-8",
    }.ToFrozenDictionary();

    /// <summary>Every embedded file by its name (index.html, app.js …), read once at start.</summary>
    private static FrozenDictionary<string, Asset> LoadAssets()
    {
        var asm = typeof(ConsoleEndpoints).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in asm.GetManifestResourceNames())
        {
            if (!name.StartsWith(ResourcePrefix, StringComparison.Ordinal)) continue;
            var file = name[ResourcePrefix.Length..];
            using var s = asm.GetManifestResourceStream(name)!;
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            var body = ms.ToArray();
            var type = ContentTypes.GetValueOrDefault(Path.GetExtension(file), "application/octet-stream");
            assets[file] = new Asset(body, type, "\"" + Convert.ToHexString(SHA256.HashData(body), 0, 8) + "\"");
        }
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public static void MapConsole(this IEndpointRouteBuilder app, ObserveConfig config)
    {
        var assets = LoadAssets();
        app.MapGet("/", (HttpContext ctx) => Serve(ctx, assets, "index.html")).AllowAnonymous();
        app.MapGet("/console/{file}", (string file, HttpContext ctx) => Serve(ctx, assets, file)).AllowAnonymous();
        app.MapStatusPage(config, (file, ctx) => Serve(ctx, assets, file));
        // What the page needs before its first data request: whether it must ask for a token, what the token may do,
        // and which stages are on (so it never requests an endpoint that is not mapped).
        app.MapGet("/api/whoami", (HttpContext ctx, ApiTokens tokens) =>
        {
            var authenticated = ctx.User.Identity?.IsAuthenticated == true;
            var scopes = !tokens.Enabled ? ApiScopes.All
                : authenticated ? ctx.User.FindAll("scope").Select(c => c.Value).ToArray() : [];
            if (scopes.Contains(ApiScopes.Admin)) scopes = ApiScopes.All;
            return Results.Json(new
            {
                name = authenticated ? ctx.User.Identity!.Name : null,
                authenticated,
                authEnabled = tokens.Enabled,
                readRequiresToken = tokens.ReadRequiresToken,
                scopes,
                // where a check's perfdata series live (<prefix>.<host>.<check>.<label>), for the check page's graphs
                checksMetricPrefix = config.Checks.MetricPrefix,
                features = new
                {
                    checks = config.Checks.Enabled,
                    alerting = config.Alerting.Enabled,
                    deploys = config.Deploys.Enabled,
                    logs = config.Logs.Enabled && config.Logs.Store.Enabled,
                },
            });
        }).AllowAnonymous();
    }

    private static IResult Serve(HttpContext ctx, FrozenDictionary<string, Asset> assets, string file)
    {
        if (!assets.TryGetValue(file, out var a)) return Results.NotFound();
        var h = ctx.Response.Headers;
        h.ContentSecurityPolicy = ContentSecurityPolicy;
        h.XContentTypeOptions = "nosniff";
        h.XFrameOptions = "DENY";
        h["Referrer-Policy"] = "no-referrer";
        h.CacheControl = "no-cache";
        h.ETag = a.ETag;
        if (ctx.Request.Headers.IfNoneMatch == a.ETag) return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(a.Body, a.ContentType);
    }
}
