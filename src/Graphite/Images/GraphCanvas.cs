using System.Globalization;
using System.Text;
using System.Xml;
using SkiaSharp;

namespace Observe.Storage.Graphite.Images;

/// <summary>What the graph renderer draws on: a PNG raster (Skia) or an SVG document. Coordinates in pixels, y down.</summary>
internal interface IGraphCanvas
{
    void FillRect(float x, float y, float w, float h, SKColor color);
    void Line(float x1, float y1, float x2, float y2, SKColor color, float width);
    /// <summary>One series: its polylines stroked (a null point breaks the line), or filled when <paramref name="fill"/>.</summary>
    void Path(SKPath path, SKColor color, float width, float? dash, bool fill);
    void Text(string text, float x, float y, SKColor color, SKTextAlign align, float size, bool vertical = false);
    void ClipTo(float x, float y, float w, float h);
    void ResetClip();
    byte[] Finish();
}

/// <summary>Text measuring shared by both canvases. Without fontconfig (the NoDependencies natives) Skia's default face
/// has no glyphs, so a DejaVu/Liberation face on disk is used when present; without one, labels are drawn blank.</summary>
internal static class GraphFonts
{
    public static readonly SKTypeface Face = Load();

    private static SKTypeface Load()
    {
        var d = SKTypeface.Default;
        if (d.GlyphCount > 0) return d;
        string[] candidates =
        [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
            "/usr/share/fonts/TTF/DejaVuSans.ttf", "/Library/Fonts/Arial.ttf", "C:\\Windows\\Fonts\\arial.ttf",
        ];
        foreach (var path in candidates)
            if (File.Exists(path) && SKTypeface.FromFile(path) is { } t) return t;
        return d;
    }

    public static float Measure(string text, float size)
    {
        using var font = new SKFont(Face, size);
        return font.MeasureText(text);
    }

    public static (float Ascent, float Descent) Metrics(float size)
    {
        using var font = new SKFont(Face, size);
        var m = font.Metrics;
        // a face without glyphs reports zeros: fall back to typical proportions so the layout stays the same
        return m.Ascent == 0 ? (size * 0.93f, size * 0.24f) : (-m.Ascent, m.Descent);
    }
}

internal sealed class SkiaGraphCanvas : IGraphCanvas
{
    private readonly SKSurface _surface;
    private readonly SKCanvas _c;

    public SkiaGraphCanvas(int width, int height)
    {
        _surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
                   ?? throw new GraphiteInputException($"cannot allocate a {width}x{height} image");
        _c = _surface.Canvas;
    }

    public void FillRect(float x, float y, float w, float h, SKColor color)
    {
        using var p = new SKPaint { Color = color, Style = SKPaintStyle.Fill };
        _c.DrawRect(x, y, w, h, p);
    }

    public void Line(float x1, float y1, float x2, float y2, SKColor color, float width)
    {
        using var p = new SKPaint { Color = color, StrokeWidth = width, Style = SKPaintStyle.Stroke };
        _c.DrawLine(x1, y1, x2, y2, p);
    }

    public void Path(SKPath path, SKColor color, float width, float? dash, bool fill)
    {
        using var p = new SKPaint
        {
            Color = color, IsAntialias = true, StrokeWidth = width, Style = fill ? SKPaintStyle.Fill : SKPaintStyle.Stroke,
            StrokeJoin = SKStrokeJoin.Miter, StrokeCap = SKStrokeCap.Butt,
        };
        if (dash is { } d && !fill) p.PathEffect = SKPathEffect.CreateDash([d, d], 0);
        _c.DrawPath(path, p);
    }

    public void Text(string text, float x, float y, SKColor color, SKTextAlign align, float size, bool vertical)
    {
        using var font = new SKFont(GraphFonts.Face, size);
        using var p = new SKPaint { Color = color, IsAntialias = true };
        if (vertical)
        {
            _c.Save();
            _c.RotateDegrees(-90, x, y);
            _c.DrawText(text, x, y, align, font, p);
            _c.Restore();
        }
        else _c.DrawText(text, x, y, align, font, p);
    }

    public void ClipTo(float x, float y, float w, float h) { _c.Save(); _c.ClipRect(new SKRect(x, y, x + w, y + h)); }
    public void ResetClip() => _c.Restore();

    public byte[] Finish()
    {
        using var image = _surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        _surface.Dispose();
        return data.ToArray();
    }
}

/// <summary>SVG written with an XmlWriter, so titles and legend names are escaped; one &lt;path&gt; per series (class "series").</summary>
internal sealed class SvgGraphCanvas : IGraphCanvas
{
    private readonly StringBuilder _sb = new();
    private readonly XmlWriter _w;
    private int _clips;
    private bool _clipped;

    public SvgGraphCanvas(int width, int height)
    {
        _w = XmlWriter.Create(_sb, new XmlWriterSettings { OmitXmlDeclaration = false, Indent = false });
        _w.WriteStartElement("svg", "http://www.w3.org/2000/svg");
        _w.WriteAttributeString("width", I(width));
        _w.WriteAttributeString("height", I(height));
        _w.WriteAttributeString("viewBox", $"0 0 {I(width)} {I(height)}");
    }

    private static string I(float v) => v.ToString("0.##", CultureInfo.InvariantCulture);
    private static string Rgb(SKColor c) => $"#{c.Red:x2}{c.Green:x2}{c.Blue:x2}";

    private void Paint(string attr, SKColor c)
    {
        _w.WriteAttributeString(attr, Rgb(c));
        if (c.Alpha != 255) _w.WriteAttributeString(attr + "-opacity", I(c.Alpha / 255f));
    }

    public void FillRect(float x, float y, float w, float h, SKColor color)
    {
        _w.WriteStartElement("rect");
        _w.WriteAttributeString("x", I(x)); _w.WriteAttributeString("y", I(y));
        _w.WriteAttributeString("width", I(w)); _w.WriteAttributeString("height", I(h));
        Paint("fill", color);
        _w.WriteEndElement();
    }

    public void Line(float x1, float y1, float x2, float y2, SKColor color, float width)
    {
        _w.WriteStartElement("line");
        _w.WriteAttributeString("x1", I(x1)); _w.WriteAttributeString("y1", I(y1));
        _w.WriteAttributeString("x2", I(x2)); _w.WriteAttributeString("y2", I(y2));
        Paint("stroke", color);
        _w.WriteAttributeString("stroke-width", I(width));
        _w.WriteEndElement();
    }

    public void Path(SKPath path, SKColor color, float width, float? dash, bool fill)
    {
        _w.WriteStartElement("path");
        _w.WriteAttributeString("class", fill ? "area" : "series");
        _w.WriteAttributeString("d", path.ToSvgPathData());
        if (fill) { Paint("fill", color); _w.WriteAttributeString("stroke", "none"); }
        else
        {
            _w.WriteAttributeString("fill", "none");
            Paint("stroke", color);
            _w.WriteAttributeString("stroke-width", I(width));
            if (dash is { } d) _w.WriteAttributeString("stroke-dasharray", $"{I(d)},{I(d)}");
        }
        _w.WriteEndElement();
    }

    public void Text(string text, float x, float y, SKColor color, SKTextAlign align, float size, bool vertical)
    {
        _w.WriteStartElement("text");
        _w.WriteAttributeString("x", I(x)); _w.WriteAttributeString("y", I(y));
        _w.WriteAttributeString("font-family", "sans-serif");
        _w.WriteAttributeString("font-size", I(size));
        _w.WriteAttributeString("text-anchor", align switch { SKTextAlign.Center => "middle", SKTextAlign.Right => "end", _ => "start" });
        if (vertical) _w.WriteAttributeString("transform", $"rotate(-90 {I(x)} {I(y)})");
        Paint("fill", color);
        // XmlWriter escapes markup; characters XML cannot carry at all (control characters) are dropped
        _w.WriteString(new string(text.Where(XmlConvert.IsXmlChar).ToArray()));
        _w.WriteEndElement();
    }

    public void ClipTo(float x, float y, float w, float h)
    {
        var id = "clip" + _clips++.ToString(CultureInfo.InvariantCulture);
        _w.WriteStartElement("clipPath");
        _w.WriteAttributeString("id", id);
        FillRect(x, y, w, h, SKColors.Black);
        _w.WriteEndElement();
        _w.WriteStartElement("g");
        _w.WriteAttributeString("clip-path", $"url(#{id})");
        _clipped = true;
    }

    public void ResetClip()
    {
        if (!_clipped) return;
        _w.WriteEndElement();
        _clipped = false;
    }

    public byte[] Finish()
    {
        ResetClip();
        _w.WriteEndElement();
        _w.Flush();
        return Encoding.UTF8.GetBytes(_sb.ToString().Replace("encoding=\"utf-16\"", "encoding=\"utf-8\""));
    }
}
