using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Observe.Alerting.Notifiers;
using Observe.Alerting.Pipeline;
using Observe.Common;

namespace Observe.Alerting.Api;

internal sealed record AckRequest(string? Key, string? Author, string? Comment);
internal sealed record SilenceRequest(List<string>? Matchers, string? Duration, DateTimeOffset? StartsAt, DateTimeOffset? EndsAt, string? Author, string? Comment);

internal static class AlertingApi
{
    internal static readonly JsonSerializerOptions Json = JsonDefaults.Api;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/alerts", (AlertingService s) => Results.Json(s.Pipeline.Active(), Json));
        app.MapGet("/api/alerts/history", (HttpContext ctx, AlertingService s) =>
        {
            var q = ctx.Request.Query;
            var limit = int.TryParse(q["limit"], out var l) ? Math.Clamp(l, 1, 10_000) : 200;
            return Results.Json(s.Pipeline.History.Query(NullIfEmpty(q["key"]), NullIfEmpty(q["event"]), limit), Json);
        });
        app.MapGet("/api/alerts/receivers", (AlertingService s) => Results.Json(new
        {
            receivers = s.Delivery.Stats(),
            irc = s.Irc is { } irc ? new { connected = irc.Registered, queued = irc.QueueDepth, sent = Interlocked.Read(ref irc.LinesSent), dropped = Interlocked.Read(ref irc.Dropped), connects = Interlocked.Read(ref irc.Connects) } : null,
            pipeline = s.Pipeline.Counters,
        }, Json));
        app.MapPost("/api/alerts/ack", async (HttpContext ctx, AlertingService s) =>
        {
            var req = await Read<AckRequest>(ctx);
            if (req?.Key is not { Length: > 0 } key) return Problem("expected a JSON body {key, comment, author}");
            if (RequestAuthor.Who(ctx, req.Author) is not { } who) return Problem("author is required");
            var comment = NotificationText.OneLine(req.Comment);
            var result = s.Pipeline.Acknowledge(key, who, comment);
            if (result == AckResult.Acknowledged)
                foreach (var listener in ctx.RequestServices.GetServices<IAlertAckListener>())
                    await listener.OnAcknowledgedAsync(key, who, comment, ctx.RequestAborted);
            return result switch
            {
                AckResult.Acknowledged => Results.Json(s.Pipeline.Active().First(a => a.Alert.Key == key), Json),
                AckResult.NotFound => Results.Json(new { error = $"no alert '{key}'" }, Json, statusCode: 404),
                _ => Results.Json(new { error = $"'{key}' is resolved: there is nothing to acknowledge" }, Json, statusCode: 409),
            };
        }).RequireAuthorization("alerts");
        app.MapGet("/api/silences", (AlertingService s, TimeProvider? time) =>
        {
            var now = (time ?? TimeProvider.System).GetUtcNow();
            return Results.Json(s.Pipeline.ListSilences().Select(x => new { x.Id, x.Matchers, x.StartsAt, x.EndsAt, x.CreatedBy, x.Comment, x.CreatedAt, state = x.State(now) }), Json);
        });
        app.MapPost("/api/silences", async (HttpContext ctx, AlertingService s) =>
        {
            var req = await Read<SilenceRequest>(ctx);
            if (req == null) return Problem("expected a JSON body {matchers, duration | endsAt, startsAt, comment, author}");
            if (req.Matchers is not { Count: > 0 }) return Problem("matchers: give at least one, e.g. [\"host=web1\"]");
            foreach (var m in req.Matchers)
                if (!LabelMatcher.TryParse(m, out _, out var err)) return Problem($"matchers: {err}");
            if (RequestAuthor.Who(ctx, req.Author) is not { } who) return Problem("author is required");
            if (string.IsNullOrWhiteSpace(req.Comment)) return Problem("comment (the reason) is required");
            var now = (ctx.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow();
            var start = req.StartsAt ?? now;
            TimeSpan duration = default;
            if (req.Duration != null && !DurationSyntax.TryParse(req.Duration, out duration)) return Problem($"duration '{req.Duration}' is not a duration (e.g. 2h)");
            var end = req.EndsAt ?? (duration > TimeSpan.Zero ? start + duration : null);
            if (end == null) return Problem("endsAt or duration is required");
            if (end <= start || end <= now) return Problem("the silence must end after it starts and in the future");
            Silence silence;
            try { silence = s.Pipeline.AddSilence(req.Matchers, start, end.Value, who, NotificationText.OneLine(req.Comment)); }
            catch (SilenceNotSavedException e) { return NotSaved(e); }
            return Results.Json(new { silence.Id, silence.Matchers, silence.StartsAt, silence.EndsAt, silence.CreatedBy, silence.Comment, state = silence.State(now) }, Json, statusCode: 201);
        }).RequireAuthorization("alerts");
        app.MapDelete("/api/silences/{id}", (string id, HttpContext ctx, AlertingService s) =>
        {
            try
            {
                return s.Pipeline.ExpireSilence(id, RequestAuthor.Who(ctx, ctx.Request.Query["author"]) ?? "anonymous")
                    ? Results.Json(new { id, state = "expired" }, Json)
                    : Results.Json(new { error = $"no active or pending silence '{id}'" }, Json, statusCode: 404);
            }
            catch (SilenceNotSavedException e) { return NotSaved(e); }
        }).RequireAuthorization("alerts");
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    /// <summary>The change was not made because it could not be saved: the client may retry later.</summary>
    private static IResult NotSaved(SilenceNotSavedException e) => Results.Json(new { error = e.Message }, Json, statusCode: 503);

    private static IResult Problem(string message) => Results.Json(new { error = message }, Json, statusCode: 400);

    private static async Task<T?> Read<T>(HttpContext ctx) where T : class
    {
        try { return await ctx.Request.ReadFromJsonAsync<T>(Json, ctx.RequestAborted); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { return null; }
    }
}
