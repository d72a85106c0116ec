using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Observe.Storage.Graphite;

/// <summary>/render: the request, evaluating its targets, the formats (graphite-web render/views.py).</summary>
public static partial class GraphiteApi
{
    internal sealed record RenderRequest(List<string> Targets, long From, long Until, long Now, string? Format,
        int? MaxDataPoints, bool NoNullPoints, double XFilesFactor, string? Jsonp);

    internal static RenderRequest ParseRenderRequest(Params p, long clockNow)
    {
        var targets = p.GetList("target").Count > 0 ? p.GetList("target").ToList() : p.GetList("target[]").ToList();
        var now = p.Get("now") is { } n ? AtTime.Parse(n, clockNow) : clockNow;
        var until = p.Get("until") is { } u ? AtTime.Parse(u, now) : now;
        var from = p.Get("from") is { } f ? AtTime.Parse(f, now) : AtTime.Parse("-1d", now);
        var start = Math.Min(from, until);
        var end = Math.Max(from, until);
        if (start == end) throw new GraphiteInputException("Invalid empty time range");
        int? mdp = p.Get("maxDataPoints") is { } m && m.Length > 0 && m.All(char.IsAsciiDigit) && int.TryParse(m, out var mv) && mv > 0 ? mv : null;
        var xff = p.Get("xFilesFactor") is { } x ? double.Parse(x, CultureInfo.InvariantCulture) : 0.0;
        string? format = p.Has("pickle") ? "pickle" : null;
        if (p.Has("rawData")) format = "raw";
        if (p.Has("format")) format = p.Get("format");
        return new RenderRequest(targets, start, end, now, format, mdp, p.Has("noNullPoints"), xff, p.Has("format") ? p.Get("jsonp") : null);
    }

    internal static List<TimeSeries> Evaluate(RenderRequest req, ISeriesReader reader, GraphiteEventStore? events, RenderLimitOptions? limits = null)
    {
        if (limits != null && req.Targets.Count > limits.MaxTargets)
            throw new GraphiteLimitException("storage.render.maxTargets", $"{req.Targets.Count} targets in one request; at most {limits.MaxTargets} (storage.render.maxTargets)");
        limits ??= new RenderLimitOptions();
        var targets = req.Targets.Where(t => !string.IsNullOrWhiteSpace(t)).ToList();
        var nodes = targets.Select(t => TargetParser.Parse(t, limits.MaxDepth)).ToList();
        var ctx = new RenderContext(req.From, req.Until, req.Now, req.XFilesFactor, reader, events, Evaluator.PathExpressions(nodes),
            new RenderBudget(limits));
        var data = new List<TimeSeries>();
        // Only GraphiteInputException (and the request-value exceptions Guard lists) is the caller's error; anything else a
        // function throws is Observe's bug and goes on to Guard's 500.
        foreach (var node in nodes) data.AddRange(Evaluator.EvaluateTarget(ctx, node));
        return data;
    }

    private static IResult Render(Params p, ISeriesReader reader, GraphiteEventStore events, long clockNow, RenderLimitOptions limits)
    {
        var req = ParseRenderRequest(p, clockNow);
        var image = Images.GraphImages.Prepare(req.Format, p.Get, limits);
        var data = Evaluate(req, reader, events, limits);
        switch (req.Format)
        {
            case "png" or "svg": return image!.Result(data, req.From, req.Until);
            case "csv": return Results.Text(RenderCsv(data), "text/csv");
            case "json":
            case null:
                if (req.Jsonp == null && req.MaxDataPoints == null && !req.NoNullPoints) return new RenderedJson(data);
                if (req.Jsonp == null) return Results.Bytes(RenderJsonUtf8(data, req), "application/json");
                var json = RenderJson(data, req);
                return Results.Text($"{req.Jsonp}({json})", "text/javascript");
            default: throw new GraphiteInputException($"Unsupported format '{req.Format}': Observe renders json, csv, png and svg");
        }
    }
}
