using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Observe.Checks;
using Observe.Host.Config;

namespace Observe.Host.WebConsole;

/// <summary>
/// The public status page (Cachet's job): each configured component's status from its checks, its 90-day uptime bars
/// and incidents (<see cref="StatusHistory"/>), with no auth and no internal detail — the JSON carries component names,
/// descriptions, statuses, days and times only, never hosts, check names or plugin output, so it is safe to expose.
/// </summary>
internal static class StatusPage
{
    public const string Operational = "operational", Degraded = "degraded", Outage = "outage", Maintenance = "maintenance";

    // Worst first when components are combined; maintenance is below the failures (a planned outage elsewhere still
    // leaves a real one visible) and above operational.
    private static int Rank(string s) => s switch { Outage => 3, Degraded => 2, Maintenance => 1, _ => 0 };

    /// <summary>
    /// One check as customers see it: in downtime → maintenance; HARD WARNING → degraded; HARD CRITICAL or UNKNOWN →
    /// outage; OK or SOFT (not confirmed yet) → operational. A check that is not (yet) known counts as operational.
    /// </summary>
    internal static string Of(CheckStatus? c) => c switch
    {
        null => Operational,
        { InDowntime: true } when c.State != CheckState.Ok => Maintenance,
        { State: CheckState.Ok } or { StateType: StateType.Soft } => Operational,
        { State: CheckState.Warning } => Degraded,
        _ => Outage,
    };

    internal static object Snapshot(StatusPageOptions options, ICheckStates? states, StatusHistory history, DateTimeOffset now)
    {
        var components = options.Components.Select(comp =>
        {
            var status = Operational;
            foreach (var key in comp.Checks)
            {
                var slash = key.IndexOf('/');
                var s = Of(slash > 0 ? states?.Get(key[..slash], key[(slash + 1)..]) : null);
                if (Rank(s) > Rank(status)) status = s;
            }
            return new { name = comp.Name, description = comp.Description, status };
        }).ToList();
        var overall = components.Select(c => c.status).DefaultIfEmpty(Operational).MaxBy(Rank)!;
        var past = history.Get(now);
        return new { title = options.Title, status = overall, updatedAt = now, components, uptime = past.Uptime, incidents = past.Incidents };
    }

    public static void MapStatusPage(this IEndpointRouteBuilder app, ObserveConfig config, Func<string, HttpContext, IResult> serveAsset)
    {
        app.MapGet("/status", (HttpContext ctx) => serveAsset("status.html", ctx)).AllowAnonymous();
        // Built at the first request: resolving its sources builds the checks and alerting stages, which start after HTTP listens.
        var sp = app.ServiceProvider;
        var history = new Lazy<StatusHistory>(() => new StatusHistory(config.Console.Status, sp.GetService<ICheckAvailability>(), sp.GetService<Observe.Alerting.IAlertTimeline>()));
        app.MapGet("/status.json", (HttpContext ctx) =>
        {
            var time = ctx.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;
            ctx.Response.Headers.CacheControl = "no-cache";
            ctx.Response.Headers.XContentTypeOptions = "nosniff";
            return Results.Json(Snapshot(config.Console.Status, ctx.RequestServices.GetService<ICheckStates>(), history.Value, time.GetUtcNow()));
        }).AllowAnonymous();
    }
}
