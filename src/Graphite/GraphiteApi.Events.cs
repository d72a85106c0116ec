using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Observe.Storage.Graphite;

/// <summary>/events and /events/get_data (graphite-web events/views.py).</summary>
public static partial class GraphiteApi
{
    private static async Task<IResult> Events(HttpContext http, Params p, GraphiteEventStore events, long now)
    {
        if (HttpMethods.IsGet(http.Request.Method)) return Json(FetchEvents(p, events, now));
        using var doc = await JsonDocument.ParseAsync(http.Request.Body);
        var e = doc.RootElement;
        if (e.ValueKind != JsonValueKind.Object) throw new GraphiteInputException("event must be a JSON object");
        List<string>? tags = null;
        if (e.TryGetProperty("tags", out var t) && t.ValueKind != JsonValueKind.Null)
        {
            if (t.ValueKind == JsonValueKind.Array) tags = t.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : x.GetRawText()).ToList();
            else if (t.ValueKind == JsonValueKind.String) tags = [t.GetString()!];
            else return Results.Text("{\"error\": \"\\\"tags\\\" must be an array or space-separated string\"}", "application/json", statusCode: 400);
        }
        long? when = null;
        if (e.TryGetProperty("when", out var w) && w.ValueKind != JsonValueKind.Null)
            when = w.ValueKind == JsonValueKind.Number ? (long)Math.Floor(w.GetDouble()) : throw new GraphiteInputException("\"when\" must be a number (unix seconds)");
        var what = e.TryGetProperty("what", out var wh) && wh.ValueKind == JsonValueKind.String ? wh.GetString()! : throw new GraphiteInputException("\"what\" is required");
        var data = e.TryGetProperty("data", out var dt) ? (dt.ValueKind == JsonValueKind.String ? dt.GetString() : dt.GetRawText()) : "";
        events.Add(what, tags, data, when ?? now);
        return Results.Ok();
    }

    internal static List<Dictionary<string, object>> FetchEvents(Params p, GraphiteEventStore events, long now)
    {
        var from = p.Get("from") is { } f ? AtTime.Parse(f, now) : 0;
        var until = p.Get("until") is { } u ? AtTime.Parse(u, now) : now;
        var tags = p.Get("tags")?.Split(' ');
        return events.Find(from, until, tags, p.Get("set")).Select(e => new Dictionary<string, object>
        {
            ["when"] = e.When, ["what"] = e.What, ["data"] = e.Data, ["tags"] = e.Tags, ["id"] = e.Id,
        }).ToList();
    }
}
