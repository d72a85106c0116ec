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

    internal static List<TimeSeries> Evaluate(RenderRequest req, ISeriesReader reader, GraphiteEventStore? events, RenderLimitOptions? limits = null) =>
        Evaluator.EvaluateTargets(req.Targets, req.From, req.Until, req.Now, req.XFilesFactor, reader, events, limits);

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
