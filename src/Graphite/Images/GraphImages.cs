using Microsoft.AspNetCore.Http;

namespace Observe.Storage.Graphite.Images;

/// <summary>
/// /render?format=png|svg: the evaluated series drawn server-side (SkiaSharp), as graphite-web's glyph.py does.
/// Prepared before evaluation, so a bad size, colour or time zone is refused before any point is read, and the
/// drawing shares the request's timeout with the evaluation.
/// </summary>
internal sealed class GraphImages
{
    private readonly GraphOptions _options;
    private readonly TimeZoneInfo _tz;
    private readonly bool _svg;
    private readonly RenderBudget _budget;

    private GraphImages(GraphOptions options, TimeZoneInfo tz, bool svg, RenderBudget budget)
    {
        _options = options; _tz = tz; _svg = svg; _budget = budget;
    }

    /// <summary>The image request for a png/svg <paramref name="format"/>; null for any other format.</summary>
    public static GraphImages? Prepare(string? format, Func<string, string?> get, RenderLimitOptions limits)
    {
        if (format is not ("png" or "svg")) return null;
        return new GraphImages(GraphOptions.Parse(get, limits), TimeZone(get("tz")), format == "svg", new RenderBudget(limits));
    }

    public IResult Result(List<TimeSeries> data, long from, long until) =>
        Results.Bytes(Png(data, from, until), _svg ? "image/svg+xml" : "image/png");

    /// <summary>The image's bytes (SVG text when prepared for svg).</summary>
    public byte[] Png(List<TimeSeries> data, long from, long until) => GraphRenderer.Render(data, from, until, _options, _svg, _budget, _tz);

    /// <summary>graphite's <c>tz</c> parameter (an IANA name); absent, the graph is in UTC.</summary>
    private static TimeZoneInfo TimeZone(string? tz)
    {
        if (string.IsNullOrEmpty(tz)) return TimeZoneInfo.Utc;
        try { return TimeZoneInfo.FindSystemTimeZoneById(tz); }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            throw new GraphiteInputException($"Unknown time zone '{(tz.Length > 40 ? tz[..40] + "…" : tz)}'");
        }
    }
}
