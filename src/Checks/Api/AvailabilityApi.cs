using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Observe.Checks.Scheduling;
using Observe.Checks.State;
using Observe.Common;

namespace Observe.Checks.Api;

/// <summary>
/// <c>GET /api/checks/{host}/{check}/availability</c>, <c>GET /api/checks/{host}/availability</c> and
/// <c>GET /api/checks/availability</c> with <c>?from=&amp;until=</c> (default the last 30 days until now): from the
/// stored timeline, so they need <c>checks.state.persist</c>.
/// </summary>
internal static class AvailabilityApi
{
    /// <summary>Longest window one request may ask for (the timeline is kept 400 days by default).</summary>
    internal static readonly TimeSpan MaxWindow = TimeSpan.FromDays(3660);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/checks/availability", (HttpContext ctx, CheckEngine engine) => Answer(ctx, engine, _ => true, "*", "*"));
        app.MapGet("/api/checks/{host}/availability", (string host, HttpContext ctx, CheckEngine engine) =>
            engine.Entries.Any(e => e.Host == host) ? Answer(ctx, engine, e => e.Host == host, host, "*")
                : Results.Json(new { error = $"no host {host}" }, ChecksApi.Json, statusCode: 404));
        app.MapGet("/api/checks/{host}/{check}/availability", (string host, string check, HttpContext ctx, CheckEngine engine) =>
            engine.Find(host, check) is { } one ? Answer(ctx, engine, e => e == one, host, check, single: true)
                : Results.Json(new { error = $"no check {host}/{check}" }, ChecksApi.Json, statusCode: 404));
    }

    private static IResult Answer(HttpContext ctx, CheckEngine engine, Func<CheckEntry, bool> which, string host, string check, bool single = false)
    {
        if (engine.Persistence?.Store is not { } store)
            return Results.Json(new { error = "availability needs the stored timeline (checks.state.persist: true)" }, ChecksApi.Json, statusCode: 409);
        var now = (ctx.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow();
        if (!TryTime(ctx.Request.Query["from"], now, now - TimeSpan.FromDays(30), out var from)) return Bad($"from '{ctx.Request.Query["from"]}' is not a time (-30d, now, ISO-8601, unix seconds)");
        if (!TryTime(ctx.Request.Query["until"], now, now, out var until)) return Bad($"until '{ctx.Request.Query["until"]}' is not a time (-1d, now, ISO-8601, unix seconds)");
        if (until <= from) return Bad("until must be after from");
        if (until - from > MaxWindow) return Bad($"the window may be at most {MaxWindow.TotalDays:0} days");
        var uptime = LiveUptime(store, from, until, now);
        var reports = new List<AvailabilityReport>();
        foreach (var e in engine.Entries.Where(which).OrderBy(e => e.Host, StringComparer.Ordinal).ThenBy(e => e.Name, StringComparer.Ordinal))
        {
            var timeline = store.Timeline(e.Key, from, until);
            if (timeline.Count > State.Persistence.StoreRows.MaxTimelineSteps)
            {
                return Bad($"{e.Key} changed state more than {State.Persistence.StoreRows.MaxTimelineSteps:N0} times in the window; ask for a shorter one");
            }
            reports.Add(Availability.Compute(e.Host, e.Name, from, until, timeline, uptime));
        }
        if (single) return Results.Json(reports[0], ChecksApi.Json);
        return Results.Json(new { total = Availability.Sum(host, check, from, until, reports), checks = reports }, ChecksApi.Json);
    }

    /// <summary>Observe's run records in the window; the live run is monitored up to now, not only up to its last heartbeat.</summary>
    internal static List<(DateTimeOffset Start, DateTimeOffset End)> LiveUptime(State.Persistence.ICheckStateStore store, DateTimeOffset from, DateTimeOffset until, DateTimeOffset now) =>
        store.Uptime(from, until).Select(u => u.Start == store.RunStarted ? (u.Start, now > u.End ? now : u.End) : u).ToList();

    /// <summary><c>now</c>, <c>-30d</c> / <c>-12h</c> (relative to now), ISO-8601 (UTC unless it says otherwise) or unix seconds.</summary>
    internal static bool TryTime(string? text, DateTimeOffset now, DateTimeOffset fallback, out DateTimeOffset value)
    {
        value = fallback;
        var s = (text ?? "").Trim();
        if (s.Length == 0) return true;
        if (s.Equals("now", StringComparison.OrdinalIgnoreCase)) { value = now; return true; }
        if (s[0] == '-' && DurationSyntax.TryParse(s[1..], out var ago)) { value = now - ago; return true; }
        if (long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var unix) && unix < 1L << 40) { value = DateTimeOffset.FromUnixTimeSeconds(unix); return true; }
        return DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value);
    }

    /// <summary>Requests refused (400: a time that does not parse, a window over <see cref="MaxWindow"/>, a timeline over
    /// <see cref="State.Persistence.StoreRows.MaxTimelineSteps"/>), for the self-metrics.</summary>
    internal static long Refused;

    private static IResult Bad(string message)
    {
        Interlocked.Increment(ref Refused);
        return Results.Json(new { error = message }, ChecksApi.Json, statusCode: 400);
    }
}
