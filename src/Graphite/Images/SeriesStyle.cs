using System.Globalization;

namespace Observe.Storage.Graphite.Images;

/// <summary>
/// graphite-web's <c>series.color</c> and <c>series.options</c> set by color(), lineWidth() and alpha(): drawing
/// options that leave the JSON unchanged. The other presentation functions (dashed, secondYAxis, stacked,
/// drawAsInfinite) already mark their series in <see cref="TimeSeries.Tags"/>, which the renderer reads.
/// </summary>
internal sealed class SeriesStyle
{
    public string? Color { get; set; }
    public double? LineWidth { get; set; }
    public double? Alpha { get; set; }

    /// <summary>Called by the evaluator with a call's evaluated arguments, before the function runs.</summary>
    public static void Apply(string function, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        if (function is not ("color" or "lineWidth" or "alpha") || args.Count == 0) return;
        var value = args.Count > 1 ? args[1] : kwargs.TryGetValue(function == "color" ? "theColor" : function == "lineWidth" ? "width" : "alpha", out var k) ? k : null;
        value ??= kwargs.Values.FirstOrDefault();
        if (value == null) return;
        IEnumerable<TimeSeries> series = args[0] switch { List<TimeSeries> l => l, TimeSeries s => [s], _ => [] };
        foreach (var s in series)
        {
            var style = s.Style ??= new SeriesStyle();
            switch (function)
            {
                case "color":
                    var c = value as string ?? Convert.ToString(value, CultureInfo.InvariantCulture)!;
                    GraphColor.Parse(c); // a bad colour is a 400 here, as graphite fails to draw it
                    style.Color = c;
                    break;
                case "lineWidth": style.LineWidth = Convert.ToDouble(value, CultureInfo.InvariantCulture); break;
                default: style.Alpha = Convert.ToDouble(value, CultureInfo.InvariantCulture); break;
            }
        }
    }
}

/// <summary>graphite-web's colour names and html colours (glyph.py setColor): "red", "ff0000", "#ff000080", "%23ff0000".</summary>
internal static class GraphColor
{
    private static readonly Dictionary<string, (byte R, byte G, byte B)> Aliases = new(StringComparer.Ordinal)
    {
        ["black"] = (0, 0, 0), ["white"] = (255, 255, 255), ["blue"] = (100, 100, 255), ["green"] = (0, 200, 0),
        ["red"] = (200, 0, 50), ["yellow"] = (255, 255, 0), ["orange"] = (255, 165, 0), ["purple"] = (200, 100, 255),
        ["brown"] = (150, 100, 50), ["cyan"] = (0, 255, 255), ["aqua"] = (0, 150, 150), ["gray"] = (175, 175, 175),
        ["grey"] = (175, 175, 175), ["magenta"] = (255, 0, 255), ["pink"] = (255, 100, 100), ["gold"] = (200, 200, 0),
        ["rose"] = (200, 150, 200), ["darkblue"] = (0, 0, 255), ["darkgreen"] = (0, 255, 0), ["darkred"] = (255, 0, 0),
        ["darkgray"] = (111, 111, 111), ["darkgrey"] = (111, 111, 111),
    };

    public const string DefaultColorList = "blue,green,red,purple,brown,yellow,aqua,grey,magenta,pink,gold,rose";

    /// <summary>RGBA of a colour; a value graphite cannot read is a 400.</summary>
    public static (byte R, byte G, byte B, byte A) Parse(string value)
    {
        if (Aliases.TryGetValue(value, out var a)) return (a.R, a.G, a.B, 255);
        var s = value;
        if (s.StartsWith('#')) s = s[1..];
        if (s.StartsWith("%23", StringComparison.Ordinal)) s = s[3..];
        if (s.Length is 6 or 8 && s.All(char.IsAsciiHexDigit))
        {
            byte H(int i) => byte.Parse(s.AsSpan(i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            return (H(0), H(2), H(4), s.Length == 8 ? H(6) : (byte)255);
        }
        throw new GraphiteInputException($"Invalid color '{(value.Length > 40 ? value[..40] + "…" : value)}': a colour name (red, blue …) or RRGGBB[AA]");
    }
}
