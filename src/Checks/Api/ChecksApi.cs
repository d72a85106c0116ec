using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Observe.Checks.Scheduling;
using Observe.Common;

namespace Observe.Checks.Api;

internal sealed record AckRequest(string? Author, string? Comment, bool Sticky = false);
internal sealed record ResultRequest(int? Status, string? Output);
internal sealed record DowntimeRequest(string? Author, string? Comment, DateTimeOffset? Start, DateTimeOffset? End, string? Duration, bool Fixed = true);

internal static class ChecksApi
{
    internal static readonly JsonSerializerOptions Json = JsonDefaults.Api;

    public static void Map(IEndpointRouteBuilder app)
    {
        AvailabilityApi.Map(app);
        var g = app.MapGroup("/api/checks");
        g.MapGet("", (HttpContext ctx, CheckEngine engine) =>
        {
            var problems = ctx.Request.Query.TryGetValue("problems", out var p) && p.ToString() is "" or "1" or "true";
            var list = engine.Current().Where(s => !problems || ChecksCli.IsProblem(s))
                .OrderBy(s => s.Host, StringComparer.Ordinal).ThenBy(s => s.Check, StringComparer.Ordinal);
            return Results.Json(list, Json);
        });
        g.MapGet("/{host}/{check}", (string host, string check, CheckEngine engine) =>
            engine.Find(host, check) is { } e ? Results.Json(CheckEngine.Status(e), Json) : NotFound(host, check));
        g.MapGet("/{host}/{check}/events", (string host, string check, CheckEngine engine) =>
        {
            if (engine.Find(host, check) is not { } e) return NotFound(host, check);
            lock (e.Gate) return Results.Json(e.History.ToList(), Json);
        });
        g.MapPost("/{host}/{check}/result", async (string host, string check, HttpContext ctx, CheckEngine engine) =>
        {
            if (engine.Find(host, check) is not { } e) return NotFound(host, check);
            if (!ctx.Request.HasJsonContentType()) return Problem("expected Content-Type: application/json and a body {status: 0-3, output}");
            var req = await Read<ResultRequest>(ctx);
            if (req == null) return Problem("expected a JSON body {status: 0-3, output}");
            if (req.Status is not (>= 0 and <= 3)) return Problem("status must be 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 (UNKNOWN)");
            await engine.SubmitAsync(e, (CheckState)req.Status.Value, req.Output ?? "", ctx.RequestAborted);
            return Results.Json(CheckEngine.Status(e), Json, statusCode: 202);
        }).RequireAuthorization("ingest");
        g.MapPost("/{host}/{check}/ack", async (string host, string check, HttpContext ctx, CheckEngine engine) =>
        {
            if (engine.Find(host, check) is not { } e) return NotFound(host, check);
            var req = await Read<AckRequest>(ctx);
            if (req == null) return Problem("expected a JSON body {author, comment, sticky}");
            if (RequestAuthor.Who(ctx, req.Author) is not { } who) return Problem("author is required");
            return await engine.AcknowledgeAsync(e, who, RequestAuthor.Clean(req.Comment ?? ""), req.Sticky, ctx.RequestAborted)
                ? Results.Json(CheckEngine.Status(e), Json)
                : Results.Json(new { error = $"{host}/{check} is OK: there is no problem to acknowledge" }, Json, statusCode: 409);
        }).RequireAuthorization("alerts");
        g.MapDelete("/{host}/{check}/ack", async (string host, string check, HttpContext ctx, CheckEngine engine) =>
        {
            if (engine.Find(host, check) is not { } e) return NotFound(host, check);
            await engine.RemoveAcknowledgementAsync(e, ctx.RequestAborted);
            return Results.Json(CheckEngine.Status(e), Json);
        }).RequireAuthorization("alerts");
        g.MapPost("/{host}/{check}/downtime", async (string host, string check, HttpContext ctx, CheckEngine engine) =>
        {
            if (engine.Find(host, check) is not { } e) return NotFound(host, check);
            var req = await Read<DowntimeRequest>(ctx);
            if (req == null) return Problem("expected a JSON body {author, comment, start, end, duration, fixed}");
            if (RequestAuthor.Who(ctx, req.Author) is not { } who) return Problem("author is required");
            var now = (ctx.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow();
            var start = req.Start ?? now;
            TimeSpan duration = default;
            if (req.Duration != null && !DurationSyntax.TryParse(req.Duration, out duration)) return Problem($"duration '{req.Duration}' is not a duration (e.g. 30m)");
            var end = req.End ?? (duration > TimeSpan.Zero ? start + duration : (DateTimeOffset?)null);
            if (end == null) return Problem("end or duration is required");
            if (end <= start) return Problem("end must be after start");
            if (!req.Fixed && duration <= TimeSpan.Zero) return Problem("a flexible downtime needs a duration");
            var d = await engine.ScheduleDowntimeAsync(e, start, end.Value, req.Fixed, duration, who, RequestAuthor.Clean(req.Comment ?? ""), ctx.RequestAborted);
            return Results.Json(new { id = d.Id, status = CheckEngine.Status(e) }, Json, statusCode: 201);
        }).RequireAuthorization("alerts");
        g.MapPost("/{host}/{check}/recheck", async (string host, string check, HttpContext ctx, CheckEngine engine) =>
        {
            if (engine.Find(host, check) is not { } e) return NotFound(host, check);
            if (e.IsPassive) return Results.Json(new { error = $"{host}/{check} is passive: it is not run, submit a result instead" }, Json, statusCode: 409);
            return await engine.RecheckNowAsync(e, ctx.RequestAborted)
                ? Results.Json(CheckEngine.Status(e), Json, statusCode: 202)
                : Results.Json(new { error = $"{host}/{check} is not scheduled (yet)" }, Json, statusCode: 409);
        }).RequireAuthorization("alerts");
        g.MapDelete("/{host}/{check}/downtime/{id:int}", async (string host, string check, int id, HttpContext ctx, CheckEngine engine) =>
        {
            if (engine.Find(host, check) is not { } e) return NotFound(host, check);
            return await engine.CancelDowntimeAsync(e, id, ctx.RequestAborted) ? Results.NoContent() : Results.NotFound();
        }).RequireAuthorization("alerts");
    }

    private static async Task<T?> Read<T>(HttpContext ctx) where T : class
    {
        try { return await ctx.Request.ReadFromJsonAsync<T>(Json, ctx.RequestAborted); }
        catch (JsonException) { return null; }
        catch (InvalidOperationException) { return null; } // not JSON content
    }


    private static IResult NotFound(string host, string check) => Results.Json(new { error = $"no check {host}/{check}" }, Json, statusCode: 404);
    private static IResult Problem(string message) => Results.Json(new { error = message }, Json, statusCode: 400);
}
