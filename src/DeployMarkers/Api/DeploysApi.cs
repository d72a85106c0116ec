using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Observe.Common;

namespace Observe.DeployMarkers.Api;

internal sealed record LockRequest(string? Env, string? By, string? Reason, bool Force = false);

/// <summary>
/// <c>POST /api/deploys</c> (markers), <c>GET /api/deploys[?service=&amp;env=&amp;limit=]</c>, <c>GET /api/deploys/{id}</c>,
/// <c>POST /api/deploys/{id}/resolve?by=</c> (ends the deploy's alert),
/// <c>GET /api/locks</c>, <c>POST /api/locks</c>, <c>DELETE /api/locks/{env}?by=&amp;force=</c>. Writes need the "deploy" scope.
/// </summary>
internal static class DeploysApi
{
    /// <param name="deploys">Resolved at each request: the service is built with the stages, after HTTP listens.</param>
    public static void Map(IEndpointRouteBuilder app, Func<DeployService> deploys)
    {
        app.MapPost("/api/deploys", async (HttpContext ctx) =>
        {
            var (req, error) = await Read<MarkerRequest>(ctx);
            if (req == null) return BadBody(deploys(), error);
            try
            {
                var r = await deploys().MarkAsync(req, RequestAuthor.Who(ctx, req.By), ctx.RequestAborted);
                return Answer(r, r.Deploy);
            }
            catch (DeployNotSavedException e) { return NotSaved(e); }
        }).RequireAuthorization("deploy");
        app.MapGet("/api/deploys", (HttpContext ctx) =>
        {
            var q = ctx.Request.Query;
            var limit = int.TryParse(q["limit"], out var l) && l > 0 ? Math.Min(l, 1000) : 50;
            return Results.Json(deploys().List(NullIfEmpty(q["service"]), NullIfEmpty(q["env"]), limit), DeployJson.Options);
        });
        app.MapGet("/api/deploys/{id}", (string id) =>
            deploys().Get(id) is { } d ? Results.Json(d, DeployJson.Options) : Results.Json(new { error = $"no deploy {id}" }, DeployJson.Options, statusCode: 404));

        app.MapPost("/api/deploys/{id}/resolve", async (string id, HttpContext ctx) =>
        {
            try
            {
                var r = await deploys().ResolveAsync(id, RequestAuthor.Who(ctx, NullIfEmpty(ctx.Request.Query["by"])), ctx.RequestAborted);
                return Answer(r, r.Deploy);
            }
            catch (DeployNotSavedException e) { return NotSaved(e); }
        }).RequireAuthorization("deploy");

        app.MapGet("/api/locks", () => Results.Json(deploys().Locks(), DeployJson.Options));
        app.MapPost("/api/locks", async (HttpContext ctx) =>
        {
            var (req, error) = await Read<LockRequest>(ctx);
            if (req == null) return BadBody(deploys(), error);
            try
            {
                var r = await deploys().LockAsync(req.Env, RequestAuthor.Who(ctx, req.By), req.Reason, req.Force, ctx.RequestAborted);
                return Answer(r, r.Lock);
            }
            catch (DeployNotSavedException e) { return NotSaved(e); }
        }).RequireAuthorization("deploy");
        app.MapDelete("/api/locks/{env}", async (string env, HttpContext ctx) =>
        {
            var q = ctx.Request.Query;
            try
            {
                var r = await deploys().UnlockAsync(env, RequestAuthor.Who(ctx, NullIfEmpty(q["by"])), q["force"].ToString() is "1" or "true", ctx.RequestAborted);
                return Answer(r, r.Lock);
            }
            catch (DeployNotSavedException e) { return NotSaved(e); }
        }).RequireAuthorization("deploy");
    }

    private static IResult Answer(MarkResult r, object? body) => r.Error == null
        ? Results.Json(body, DeployJson.Options, statusCode: r.Status)
        : Results.Json(new { error = r.Error, field = r.Field, @lock = r.Lock }, DeployJson.Options, statusCode: r.Status);

    /// <summary>Not written, so not made: the client may retry once the disk has room.</summary>
    private static IResult NotSaved(DeployNotSavedException e) =>
        Results.Json(new { error = e.Message }, DeployJson.Options, statusCode: StatusCodes.Status503ServiceUnavailable);

    private static IResult BadBody(DeployService deploys, string error)
    {
        deploys.CountRejected(error);
        return Results.Json(new { error = $"body: {error}", field = "body" }, DeployJson.Options, statusCode: 400);
    }

    private static async Task<(T? Value, string Error)> Read<T>(HttpContext ctx) where T : class
    {
        try
        {
            var v = await ctx.Request.ReadFromJsonAsync<T>(DeployJson.Options, ctx.RequestAborted);
            return (v, v == null ? "expected a JSON object" : "");
        }
        catch (JsonException e) { return (null, $"not valid JSON{(e.Path is { Length: > 1 } p ? $" at {p}" : "")}: {e.Message.Split(". Path")[0]}"); }
        catch (InvalidOperationException) { return (null, "expected Content-Type: application/json"); }
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
