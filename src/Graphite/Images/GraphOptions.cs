using System.Globalization;

namespace Observe.Storage.Graphite.Images;

/// <summary>The graph parameters of graphite-web's /render (glyph.py LineGraph), with its defaults.</summary>
internal sealed record GraphOptions
{
    public int Width { get; init; } = 330;
    public int Height { get; init; } = 250;
    public int Margin { get; init; } = 10;
    public string Background { get; init; } = "black";
    public string Foreground { get; init; } = "white";
    public string MajorGridLineColor { get; init; } = "white";
    public string MinorGridLineColor { get; init; } = "grey";
    public string[] ColorList { get; init; } = GraphColor.DefaultColorList.Split(',');
    public float FontSize { get; init; } = 10;
    public string? Title { get; init; }
    public string? VTitle { get; init; }
    public double? YMin { get; init; }
    public double? YMax { get; init; }
    public string AreaMode { get; init; } = "none";
    public double? AreaAlpha { get; init; }
    public string LineMode { get; init; } = "slope";
    public double LineWidth { get; init; } = 1.2;
    public bool? HideLegend { get; init; }
    public bool HideAxes { get; init; }
    public bool HideGrid { get; init; }
    public bool GraphOnly { get; init; }
    public bool DrawNullAsZero { get; init; }

    /// <summary>graphite's LEGEND_MAX_ITEMS: more series than this hide the legend unless hideLegend=false.</summary>
    public const int LegendMaxItems = 10;

    /// <summary>Reads the graph parameters; width and height are bounded by <paramref name="limits"/> (a 400 naming the key past them).</summary>
    public static GraphOptions Parse(Func<string, string?> get, RenderLimitOptions limits)
    {
        var o = new GraphOptions();
        int Size(string name, int dflt, int max, string key)
        {
            if (get(name) is not { } s) return dflt;
            var v = (int)Math.Truncate(Number(name, s));
            if (v < 1) throw new GraphiteInputException($"{name} must be at least 1");
            if (v > max) throw new GraphiteLimitException(key, $"{name}={v} is more than {max} pixels ({key})");
            return v;
        }
        var graphOnly = Bool(get("graphOnly"));
        o = o with
        {
            Width = Size("width", o.Width, limits.MaxImageWidth, "storage.render.maxImageWidth"),
            Height = Size("height", o.Height, limits.MaxImageHeight, "storage.render.maxImageHeight"),
            Background = Color(get("bgcolor")) ?? o.Background,
            Foreground = Color(get("fgcolor")) ?? o.Foreground,
            MajorGridLineColor = Color(get("majorGridLineColor")) ?? o.MajorGridLineColor,
            MinorGridLineColor = Color(get("minorGridLineColor")) ?? o.MinorGridLineColor,
            ColorList = get("colorList") is { Length: > 0 } cl ? Uri.UnescapeDataString(cl).Split(',').Select(c => Color(c)!).ToArray() : o.ColorList,
            FontSize = get("fontSize") is { } fs ? (float)Math.Clamp(Number("fontSize", fs), 1, 100) : o.FontSize,
            Title = graphOnly ? null : get("title"),
            VTitle = graphOnly ? null : get("vtitle"),
            YMin = get("yMin") is { } y0 ? Number("yMin", y0) : get("min") is { } m0 ? Number("min", m0) : null,
            YMax = get("yMax") is { } y1 ? Number("yMax", y1) : get("max") is { } m1 ? Number("max", m1) : null,
            AreaMode = OneOf("areaMode", get("areaMode") ?? "none", "none", "first", "all", "stacked"),
            AreaAlpha = get("areaAlpha") is { } aa ? double.TryParse(aa, NumberStyles.Float, CultureInfo.InvariantCulture, out var av) ? av : 0.5 : null,
            LineMode = OneOf("lineMode", get("lineMode") ?? "slope", "slope", "staircase", "connected"),
            LineWidth = get("lineWidth") is { } lw ? Number("lineWidth", lw) : get("thickness") is { } th ? Number("thickness", th) : o.LineWidth,
            HideLegend = graphOnly ? true : get("hideLegend") is { } hl ? Bool(hl) : null,
            HideAxes = graphOnly || Bool(get("hideAxes")),
            HideGrid = graphOnly || Bool(get("hideGrid")),
            GraphOnly = graphOnly,
            Margin = graphOnly ? 0 : get("margin") is { } mg && int.TryParse(mg, out var mv) && mv >= 0 ? Math.Min(mv, 1000) : o.Margin,
            DrawNullAsZero = Bool(get("drawNullAsZero")),
        };
        if (o.LineWidth is < 0 or > 100 || double.IsNaN(o.LineWidth)) throw new GraphiteInputException("lineWidth must be between 0 and 100");
        return o;
    }

    private static string? Color(string? value)
    {
        if (value == null) return null;
        GraphColor.Parse(value);
        return value;
    }

    /// <summary>Django's boolean parameters as graphite reads them: "false", "0" and empty are false.</summary>
    private static bool Bool(string? v) => v != null && v.ToLowerInvariant() is not ("false" or "0" or "");

    private static double Number(string name, string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v
            : throw new GraphiteInputException($"{name} must be a number, not '{(s.Length > 40 ? s[..40] + "…" : s)}'");

    private static string OneOf(string name, string value, params string[] allowed)
    {
        var v = value.ToLowerInvariant();
        return allowed.Contains(v) ? v : throw new GraphiteInputException($"Invalid {name}: one of {string.Join(", ", allowed)}");
    }
}
