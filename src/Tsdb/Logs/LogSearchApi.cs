using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Observe.Storage.Graphite;

namespace Observe.Storage.Logs;

/// <summary>
/// <c>GET /api/logs?q=&amp;service=&amp;level=&amp;host=&amp;from=&amp;until=&amp;limit=</c>: newest first, as
/// <c>{"count": n, "logs": [{timestamp, level, host, service, message, fields}]}</c>. <c>q</c> is an FTS5 query over
/// message and fields; <c>level</c> a comma-separated list; <c>from</c>/<c>until</c> as Graphite takes them
/// (<c>-1h</c>, <c>now</c>, <c>HH:MM_YYYYMMDD</c>, epoch seconds) or ISO-8601. Bad input is a 400 naming the parameter.
/// </summary>
internal static class LogSearchApi
{
    public const int DefaultLimit = 100;

    public static void Map(IEndpointRouteBuilder app, LogStore store, LogStoreOptions options, TimeProvider time)
    {
        app.MapGet("/api/logs", async (HttpContext ctx) =>
        {
            LogQuery query;
            try { query = ParseQuery(ctx.Request.Query, options.MaxLimit, time.GetUtcNow()); }
            catch (LogQueryException e) { return Results.Json(new { error = e.Message }, statusCode: 400); }
            List<Collector.LogEvent> logs;
            try { logs = store.Search(query); }
            catch (LogQueryException e) { return Results.Json(new { error = e.Message }, statusCode: 400); }
            ctx.Response.ContentType = "application/json";
            await using var w = new Utf8JsonWriter(ctx.Response.Body);
            w.WriteStartObject();
            w.WriteNumber("count", logs.Count);
            w.WriteStartArray("logs");
            foreach (var e in logs)
            {
                w.WriteStartObject();
                w.WriteString("timestamp", e.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                w.WriteString("level", e.Level);
                w.WriteString("host", e.Host);
                w.WriteString("service", e.Service);
                w.WriteString("message", e.Message);
                w.WriteStartObject("fields");
                foreach (var (k, v) in e.Fields) w.WriteString(k, v);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            await w.FlushAsync(ctx.RequestAborted);
            return Results.Empty;
        });
    }

    internal static LogQuery ParseQuery(IQueryCollection p, int maxLimit, DateTimeOffset now)
    {
        static string? One(IQueryCollection p, string key) => p.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v.ToString()) ? v.ToString() : null;
        var limit = DefaultLimit;
        if (One(p, "limit") is { } l && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > maxLimit))
            throw new LogQueryException($"limit: '{l}' is not a whole number from 1 to {maxLimit}");
        var levels = One(p, "level")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(x => x.ToLowerInvariant()).ToList();
        return new LogQuery(One(p, "q"), One(p, "service"), levels, One(p, "host"),
            One(p, "from") is { } f ? ParseTime("from", f, now) : null,
            One(p, "until") is { } u ? ParseTime("until", u, now) : null, limit);
    }

    /// <summary>ISO-8601 (no offset = UTC) or anything Graphite's from/until take; unix milliseconds.</summary>
    internal static long ParseTime(string name, string value, DateTimeOffset now)
    {
        var v = value.Trim();
        if (v.Length >= 10 && char.IsAsciiDigit(v[0]) && v[4] == '-' &&
            DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var iso))
            return iso.ToUnixTimeMilliseconds();
        // "now" keeps its milliseconds, so that until=now includes a log written this second.
        if (v.Equals("now", StringComparison.OrdinalIgnoreCase)) return now.ToUnixTimeMilliseconds() + 1;
        try
        {
            return AtTime.Parse(v, now.ToUnixTimeSeconds()) * 1000;
        }
        catch (Exception e) when (e is GraphiteInputException or FormatException or OverflowException or ArgumentException)
        {
            throw new LogQueryException($"{name}: '{value}' is not a time (-1h, now, 12:00_20261123, epoch seconds or ISO-8601): {e.Message}");
        }
    }
}
