using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Observe.Common;

namespace Observe.Host.Auth;

/// <summary>
/// Scopes a bearer token can carry. Each is also the name of an authorization policy, so a stage marks a
/// write endpoint with <c>.RequireAuthorization("deploy")</c> without referencing this project.
/// Endpoints without a policy fall back to <see cref="Read"/>. <see cref="Admin"/> satisfies every scope.
/// </summary>
internal static class ApiScopes
{
    public const string Read = "read";
    public const string Ingest = "ingest";
    public const string Alerts = "alerts";
    public const string Deploy = "deploy";
    public const string Admin = "admin";
    public static readonly string[] All = [Read, Ingest, Alerts, Deploy, Admin];
}

/// <summary>A configured token; only the digest of its secret is kept.</summary>
internal sealed record ApiToken(string Name, byte[] SecretHash, IReadOnlySet<string> Scopes);

/// <summary>The resolved token table; empty means auth is off (every request allowed, as before tokens were configured).</summary>
internal sealed class ApiTokens(IReadOnlyList<ApiToken> tokens, bool readRequiresToken)
{
    public bool Enabled => tokens.Count > 0;
    public bool ReadRequiresToken => readRequiresToken && Enabled;

    /// <summary>Finds the token whose secret equals <paramref name="presented"/>. Compares SHA-256 digests in constant
    /// time and always walks the whole table, so neither the length nor the position of a match leaks through timing.</summary>
    public ApiToken? Match(ReadOnlySpan<char> presented)
    {
        Span<byte> digest = stackalloc byte[32];
        var bytes = Encoding.UTF8.GetBytes(presented.ToArray());
        SHA256.HashData(bytes, digest);
        ApiToken? found = null;
        foreach (var t in tokens)
            if (CryptographicOperations.FixedTimeEquals(digest, t.SecretHash)) found ??= t;
        return found;
    }

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private readonly LogRateLimit _failureLog = new(1, TimeSpan.FromSeconds(10));
    private long _failures;

    /// <summary>Requests refused for a bad or unknown token since start.</summary>
    public long FailureCount => Interlocked.Read(ref _failures);

    /// <summary>Counts a refused token and logs the first of every 10 s with how many were not logged: a token-guessing
    /// client must not be able to flood the log (it used to cost two lines per request).</summary>
    public void Refused(ILogger log, string reason, string? remote)
    {
        Interlocked.Increment(ref _failures);
        if (_failureLog.TryLog(out var more))
            log.LogWarning("auth: refused a request from {Remote}: {Reason} ({More} more refused since the last such line)", remote ?? "?", reason, more);
    }
}

/// <summary>Reads <c>Authorization: Bearer …</c>; a known token becomes a principal named after the token, with its scopes.</summary>
/// <remarks>The base class would log every failure at Information (two lines per request); it gets no logger, and
/// <see cref="ApiTokens.Refused"/> counts and logs failures at most once per 10 s.</remarks>
internal sealed class ApiTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiTokens tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, encoder)
{
    private readonly ILogger _log = logger.CreateLogger("Observe.Auth");

    public const string SchemeName = "Bearer";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!tokens.Enabled) return Task.FromResult(AuthenticateResult.NoResult());
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header)) return Task.FromResult(AuthenticateResult.NoResult());
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return Fail("the Authorization header is not 'Bearer <token>'");
        var token = tokens.Match(header.AsSpan(7).Trim());
        if (token == null) return Fail("unknown bearer token");
        var claims = new List<Claim> { new(ClaimTypes.Name, token.Name) };
        claims.AddRange(token.Scopes.Select(s => new Claim("scope", s)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }

    private Task<AuthenticateResult> Fail(string reason)
    {
        // Authentication runs again when the 401 is written (JsonAuthorizationResultHandler): count a request once.
        if (Context.Items.TryAdd(typeof(ApiTokenAuthenticationHandler), reason)) tokens.Refused(_log, reason, Context.Connection.RemoteIpAddress?.ToString());
        return Task.FromResult(AuthenticateResult.Fail(reason));
    }
}

internal sealed record ScopeRequirement(string Scope) : IAuthorizationRequirement;

internal sealed class ScopeRequirementHandler(ApiTokens tokens) : AuthorizationHandler<ScopeRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        if (!tokens.Enabled || (requirement.Scope == ApiScopes.Read && !tokens.ReadRequiresToken))
            context.Succeed(requirement);
        else if (context.User.Identity?.IsAuthenticated == true
                 && (requirement.Scope == ApiScopes.Read || context.User.HasClaim("scope", requirement.Scope) || context.User.HasClaim("scope", ApiScopes.Admin)))
            context.Succeed(requirement);
        return Task.CompletedTask;
    }
}

/// <summary>401 (no or unknown token) and 403 (token lacks the scope) as JSON with the reason, instead of empty bodies.</summary>
internal sealed class JsonAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult result)
    {
        if (result.Succeeded) { await _default.HandleAsync(next, context, policy, result); return; }
        var scope = policy.Requirements.OfType<ScopeRequirement>().FirstOrDefault()?.Scope ?? ApiScopes.Read;
        var authenticated = context.User.Identity?.IsAuthenticated == true;
        string reason;
        if (!authenticated)
        {
            var failure = (await context.AuthenticateAsync(ApiTokenAuthenticationHandler.SchemeName)).Failure?.Message;
            reason = failure ?? "this endpoint needs 'Authorization: Bearer <token>'";
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }
        else
        {
            reason = $"token '{context.User.Identity!.Name}' lacks the '{scope}' scope";
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
        }
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { error = reason, scope }));
    }
}

internal static class ApiAuthHosting
{
    /// <summary>Bearer-token auth with one policy per scope; endpoints without a policy need <see cref="ApiScopes.Read"/>.</summary>
    public static IServiceCollection AddObserveAuth(this IServiceCollection services, ApiTokens tokens)
    {
        services.AddSingleton(tokens);
        services.AddAuthentication(ApiTokenAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiTokenAuthenticationHandler>(ApiTokenAuthenticationHandler.SchemeName, null);
        services.AddSingleton<IAuthorizationHandler, ScopeRequirementHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, JsonAuthorizationResultHandler>();
        services.AddAuthorization(o =>
        {
            foreach (var scope in ApiScopes.All)
                o.AddPolicy(scope, p => p.AddRequirements(new ScopeRequirement(scope)));
            o.FallbackPolicy = new AuthorizationPolicyBuilder().AddRequirements(new ScopeRequirement(ApiScopes.Read)).Build();
        });
        return services;
    }
}

internal static class ApiTokenResolver
{
    public static ApiTokens Resolve(Config.AuthOptions auth) => new(
        auth.Tokens.Select(t => new ApiToken(t.Name, ApiTokens.Hash(t.Token ?? throw new InvalidOperationException($"token '{t.Name}' has no secret")),
            t.Scopes.ToHashSet(StringComparer.Ordinal))).ToList(),
        auth.ReadRequiresToken);
}
