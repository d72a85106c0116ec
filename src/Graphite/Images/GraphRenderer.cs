using System.Globalization;
using SkiaSharp;

namespace Observe.Storage.Graphite.Images;

/// <summary>
/// Draws a line graph the way graphite-web's glyph.py LineGraph lays it out: title on top, legend below, y labels on
/// the left (and right for secondYAxis series), time labels under the plot, grid behind the data, stacked areas before
/// lines. Written from glyph.py's parameter semantics, not its code: tick choices and fonts differ in detail.
/// </summary>
internal sealed class GraphRenderer
{
    private readonly GraphOptions _o;
    private readonly IGraphCanvas _c;
    private readonly RenderBudget? _budget;
    private readonly TimeZoneInfo _tz;
    private float _xmin, _xmax, _ymin, _ymax;

    private GraphRenderer(GraphOptions o, IGraphCanvas canvas, RenderBudget? budget, TimeZoneInfo tz)
    {
        _o = o; _c = canvas; _budget = budget; _tz = tz;
    }

    /// <summary>The image bytes of <paramref name="data"/> over [from, until]: PNG or SVG.</summary>
    public static byte[] Render(List<TimeSeries> data, long from, long until, GraphOptions o, bool svg, RenderBudget? budget = null, TimeZoneInfo? tz = null)
    {
        IGraphCanvas canvas = svg ? new SvgGraphCanvas(o.Width, o.Height) : new SkiaGraphCanvas(o.Width, o.Height);
        new GraphRenderer(o, canvas, budget, tz ?? TimeZoneInfo.Utc).Draw(data, from, until);
        return canvas.Finish();
    }

    private static SKColor Color(string c, double? alpha = null)
    {
        var (r, g, b, a) = GraphColor.Parse(c);
        return new SKColor(r, g, b, alpha is { } x ? (byte)Math.Clamp(x * 255, 0, 255) : a);
    }

    private sealed record Plot(TimeSeries Series, SKColor Color, List<double?> Values, bool Stacked, bool Right, bool Infinite,
        float Width, float? Dash, double? Alpha);

    private void Draw(List<TimeSeries> data, long from, long until)
    {
        var fg = Color(_o.Foreground);
        _c.FillRect(0, 0, _o.Width, _o.Height, Color(_o.Background));
        _xmin = _o.GraphOnly ? 0 : _o.Margin + 10; _xmax = _o.Width - _o.Margin;
        _ymin = _o.Margin; _ymax = _o.Height - _o.Margin;

        var colors = _o.ColorList;
        var plots = new List<Plot>(data.Count);
        var (ascent, descent) = GraphFonts.Metrics(_o.FontSize);
        var lineHeight = ascent + descent;
        for (var i = 0; i < data.Count; i++)
        {
            var s = data[i];
            var style = s.Style;
            var color = style?.Color ?? colors[i % colors.Length];
            var stacked = s.Tags.ContainsKey("stacked") || _o.AreaMode is "all" or "stacked" || (_o.AreaMode == "first" && i == 0);
            var infinite = s.Tags.ContainsKey("drawAsInfinite");
            float? dash = s.Tags.TryGetValue("dashed", out var d) ? double.TryParse(d, NumberStyles.Float, CultureInfo.InvariantCulture, out var dl) && dl > 0 ? (float)dl : 5f : null;
            plots.Add(new Plot(s, Color(color), [], stacked && !infinite, s.Tags.ContainsKey("secondYAxis"), infinite,
                (float)(style?.LineWidth ?? _o.LineWidth), dash, style?.Alpha));
        }

        if (_o.Title is { Length: > 0 } title)
        {
            var size = _o.FontSize + (float)Math.Floor(Math.Log(_o.FontSize));
            var (ta, td) = GraphFonts.Metrics(size);
            var y = _ymin;
            foreach (var line in title.Split('\n'))
            {
                _c.Text(line, _o.Width / 2f, y + ta, fg, SKTextAlign.Center, size);
                y += ta + td;
            }
            _ymin = y + _o.Margin;
        }
        if (_o.VTitle is { Length: > 0 } vtitle)
        {
            _c.Text(vtitle, _xmin + ascent, (_ymin + _ymax) / 2, fg, SKTextAlign.Center, _o.FontSize, vertical: true);
            _xmin += lineHeight + _o.Margin / 2f;
        }
        if (!(_o.HideLegend ?? plots.Count > GraphOptions.LegendMaxItems))
            DrawLegend(plots.Where(p => p.Series.Name.Length > 0).ToList(), fg, ascent, lineHeight);

        // values as drawn: pixel-consolidated (at most one point per pixel, as graphite's minXStep=1), stacked
        var plotWidth = Math.Max(1, (int)(_xmax - _xmin));
        List<double>? totals = null;
        foreach (var p in plots)
        {
            var s = p.Series;
            if (s.Values.Count > plotWidth) s.Consolidate((s.Values.Count + plotWidth - 1) / plotWidth);
            var pts = s.Points();
            var stackSum = p.Stacked && (_o.AreaMode == "stacked" || s.Tags.ContainsKey("stacked")) && !p.Right;
            if (stackSum && s.Tags.ContainsKey("stacked") && _o.AreaMode != "stacked") stackSum = false; // stacked() already summed
            if (stackSum) totals ??= [];
            for (var i = 0; i < pts.Count; i++)
            {
                var v = pts[i] is { } x && !double.IsNaN(x) ? x : _o.DrawNullAsZero ? 0 : (double?)null;
                if (stackSum && v is { } sv)
                {
                    while (totals!.Count <= i) totals.Add(0);
                    totals[i] += sv;
                    v = totals[i];
                }
                p.Values.Add(v);
            }
            _budget?.CheckTime();
        }

        var left = Scale(plots.Where(p => !p.Right && !p.Infinite), _o.YMin, _o.YMax);
        var right = plots.Any(p => p.Right) ? Scale(plots.Where(p => p.Right && !p.Infinite), null, null) : null;
        var xTicks = XTicks(from, until);
        if (!_o.HideAxes)
        {
            _ymax -= ascent * 2;
            var leftWidth = left.Ticks.Max(t => GraphFonts.Measure(Label(t), _o.FontSize));
            _xmin += leftWidth + 4;
            if (right != null) _xmax -= right.Ticks.Max(t => GraphFonts.Measure(Label(t), _o.FontSize)) + 4;
        }
        if (_xmax - _xmin < 1 || _ymax - _ymin < 1)
        {
            // no room left for the plot (a tiny image): graphite draws what fits; so do we, the background and labels
            _xmax = Math.Max(_xmax, _xmin + 1); _ymax = Math.Max(_ymax, _ymin + 1);
        }
        if (!_o.HideAxes) DrawAxes(left, right, xTicks, from, until, fg, ascent);
        if (!_o.HideGrid && !_o.HideAxes) DrawGrid(left, xTicks, from, until);

        _c.ClipTo(_xmin, _ymin, _xmax - _xmin, _ymax - _ymin);
        // stacked areas first, the last drawn first so that each lower area stays in front (graphite clips each away)
        for (var i = plots.Count - 1; i >= 0; i--)
            if (plots[i].Stacked) DrawSeries(plots[i], plots[i].Right ? right! : left, from, until, fill: true);
        foreach (var p in plots)
            if (!p.Stacked || _o.AreaAlpha != null) DrawSeries(p, p.Right ? right! : left, from, until, fill: false);
        _c.ResetClip();
    }

    private void DrawLegend(List<Plot> items, SKColor fg, float ascent, float lineHeight)
    {
        if (items.Count == 0) return;
        const float padding = 5;
        var boxSize = lineHeight - 1;
        var labelWidth = items.Max(p => GraphFonts.Measure(p.Series.Name, _o.FontSize)) + 2 * (boxSize + padding);
        var columns = Math.Max(1, (int)Math.Floor((_o.Width - _xmin) / labelWidth));
        var lines = (items.Count + columns - 1) / columns;
        var legendHeight = lines * (lineHeight + 1) + padding;
        _ymax -= legendHeight;
        var x = _xmin; var y = _ymax + 2 * padding;
        var n = 0;
        foreach (var p in items)
        {
            _c.FillRect(x, y, boxSize, boxSize, p.Color);
            _c.Text(p.Series.Name, x + boxSize + padding, y + ascent - 1, fg, SKTextAlign.Left, _o.FontSize);
            if (++n % columns == 0) { x = _xmin; y += lineHeight + 1; }
            else x += labelWidth;
        }
        _ymax -= padding;
    }

    // ---------------- scales and ticks ----------------

    private sealed record YScale(double Bottom, double Top, List<double> Ticks);

    /// <summary>glyph.py's _LinearAxisTics: data limits widened when flat, the 1/2/5 step whose 4–6 divisions leave the least slop.</summary>
    private static YScale Scale(IEnumerable<Plot> plots, double? yMin, double? yMax)
    {
        const double eps = 1e-7;
        double? lo = null, hi = null;
        foreach (var p in plots)
            foreach (var v in p.Values)
                if (v is { } x && double.IsFinite(x)) { lo = lo is { } l ? Math.Min(l, x) : x; hi = hi is { } h ? Math.Max(h, x) : x; }
        if (plots.Any(p => p.Stacked) && lo > 0) lo = 0;
        double min = yMin ?? lo ?? 0, max = yMax ?? hi ?? 1;
        if (max < min) { if (yMax == null) max = min; else min = max; }
        if (min == max)
        {
            if (min == 0) max = 1;
            else if (min < 0) { min *= 1.1; max *= 0.9; }
            else { min *= 0.9; max *= 1.1; }
        }
        var variance = max - min;
        double? bestSlop = null; var step = 1.0;
        var minStep = variance / 6;
        for (var exp = Math.Floor(Math.Log10(minStep) - eps); exp < 400; exp++)
        {
            var done = false;
            foreach (var m in (double[])[1, 2, 5])
            {
                var candidate = m * Math.Pow(10, exp);
                if (candidate < minStep * (1 - eps)) continue;
                if (bestSlop is { } b && candidate * 4 >= 2 * b + variance) { done = true; break; }
                foreach (var divisor in (int[])[4, 5, 6])
                {
                    var bottom0 = candidate * Math.Floor(min / candidate + eps);
                    var top0 = bottom0 + candidate * divisor;
                    if (top0 < max - eps * candidate) continue;
                    var slop = Math.Max(top0 - max, min - bottom0);
                    if (bestSlop == null || slop < bestSlop) { bestSlop = slop; step = candidate; }
                }
            }
            if (done) break;
        }
        var bottom = yMin ?? step * Math.Floor(min / step + eps);
        var top = yMax ?? step * Math.Ceiling(max / step - eps);
        if (top <= bottom) top = bottom + 1;
        var ticks = new List<double>();
        for (var t = step * Math.Ceiling(bottom / step - eps); t <= top + step * eps && ticks.Count < 50; t += step) ticks.Add(Math.Abs(t) < step * eps ? 0 : t);
        if (ticks.Count == 0) ticks.Add(bottom);
        return new YScale(bottom, top, ticks);
    }

    /// <summary>A y label with graphite's default SI unit system: 1.5K, 2M, 0.25.</summary>
    private static string Label(double v)
    {
        var a = Math.Abs(v);
        foreach (var (size, prefix) in ((double, string)[])[(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")])
            if (a >= size) return Py.G(Math.Round(v / size, 2)) + prefix;
        return Py.G(Math.Round(v, a < 1 ? 6 : 2));
    }

    private static readonly long[] XSteps = [10, 30, 60, 300, 600, 1800, 3600, 7200, 4 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 365 * 86400];

    private List<long> XTicks(long from, long until)
    {
        var span = until - from;
        var labelWidth = GraphFonts.Measure(XFormat(0, span), _o.FontSize) + 10;
        var maxLabels = Math.Max(1, (int)((_xmax - _xmin - 40) / labelWidth));
        var step = XSteps.FirstOrDefault(s => span / s <= maxLabels, XSteps[^1]);
        while (span / step > maxLabels) step *= 2;
        var offset = (long)_tz.GetUtcOffset(DateTimeOffset.FromUnixTimeSeconds(from)).TotalSeconds;
        var first = ((from + offset + step - 1) / step) * step - offset;
        var ticks = new List<long>();
        for (var t = first; t <= until && ticks.Count < 1000; t += step) ticks.Add(t);
        return ticks;
    }

    private string XFormat(long t, long span)
    {
        var local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeSeconds(t), _tz);
        var fmt = span <= 86400 ? "HH:mm" : span <= 7 * 86400 ? "ddd HH:mm" : "MM/dd";
        return local.ToString(fmt, CultureInfo.InvariantCulture);
    }

    private float X(double t, long from, long until) => (float)(_xmin + (t - from) / (until - from) * (_xmax - _xmin));
    private float Y(double v, YScale s) => (float)(_ymax - (v - s.Bottom) / (s.Top - s.Bottom) * (_ymax - _ymin));

    private void DrawAxes(YScale left, YScale? right, List<long> xTicks, long from, long until, SKColor fg, float ascent)
    {
        foreach (var t in left.Ticks)
            _c.Text(Label(t), _xmin - 4, Y(t, left) + ascent / 2 - 1, fg, SKTextAlign.Right, _o.FontSize);
        if (right != null)
            foreach (var t in right.Ticks)
                _c.Text(Label(t), _xmax + 4, Y(t, right) + ascent / 2 - 1, fg, SKTextAlign.Left, _o.FontSize);
        foreach (var t in xTicks)
        {
            var label = XFormat(t, until - from);
            var x = X(t, from, until);
            // a label that would run off the image is left out rather than cut
            if (x + GraphFonts.Measure(label, _o.FontSize) / 2 <= _o.Width) _c.Text(label, x, _ymax + ascent + 2, fg, SKTextAlign.Center, _o.FontSize);
        }
    }

    private void DrawGrid(YScale left, List<long> xTicks, long from, long until)
    {
        var major = Color(_o.MajorGridLineColor);
        var minor = Color(_o.MinorGridLineColor);
        for (var i = 0; i + 1 < left.Ticks.Count; i++)
        {
            var mid = Y((left.Ticks[i] + left.Ticks[i + 1]) / 2, left);
            _c.Line(_xmin, mid, _xmax, mid, minor, 1);
        }
        foreach (var t in left.Ticks) { var y = Y(t, left); _c.Line(_xmin, y, _xmax, y, major, 1); }
        foreach (var t in xTicks) { var x = X(t, from, until); _c.Line(x, _ymin, x, _ymax, minor, 1); }
    }

    // ---------------- series ----------------

    private void DrawSeries(Plot p, YScale scale, long from, long until, bool fill)
    {
        var s = p.Series;
        var step = (double)s.Step * s.ValuesPerPoint;
        var alpha = fill ? p.Alpha ?? _o.AreaAlpha : p.Alpha;
        var color = alpha is { } a ? p.Color.WithAlpha((byte)Math.Clamp(a * 255, 0, 255)) : p.Color;
        using var path = new SKPathBuilder();
        if (p.Infinite)
        {
            for (var i = 0; i < p.Values.Count; i++)
                if (p.Values[i] is > 0)
                {
                    var x = X(s.Start + i * step, from, until);
                    path.MoveTo(x, _ymin); path.LineTo(x, _ymax);
                }
            using var lines = path.Detach();
            _c.Path(lines, color, p.Width, p.Dash, fill: false);
            return;
        }
        var baseY = _ymax;
        var runStart = -1f;
        var drawing = false;
        float lastX = 0, lastY = 0;
        var staircase = _o.LineMode == "staircase";
        for (var i = 0; i < p.Values.Count; i++)
        {
            var x = X(s.Start + i * step, from, until);
            if (p.Values[i] is not { } v)
            {
                if (_o.LineMode == "connected") continue;
                if (drawing && staircase) { path.LineTo(x, lastY); lastX = x; }
                if (drawing && fill) { path.LineTo(lastX, baseY); path.LineTo(runStart, baseY); path.Close(); }
                drawing = false;
                continue;
            }
            var y = Math.Clamp(Y(v, scale), -1e6f, 1e6f);
            if (!drawing)
            {
                if (fill) { path.MoveTo(x, baseY); path.LineTo(x, y); }
                else path.MoveTo(x, y);
                runStart = x; drawing = true;
            }
            else if (staircase) { path.LineTo(x, lastY); path.LineTo(x, y); }
            else path.LineTo(x, y);
            lastX = x; lastY = y;
            if (staircase || i == p.Values.Count - 1 && p.Values.Count == 1) { var x2 = X(s.Start + (i + 1) * step, from, until); path.LineTo(x2, y); lastX = x2; }
        }
        if (drawing && fill) { path.LineTo(lastX, baseY); path.LineTo(runStart, baseY); path.Close(); }
        using var built = path.Detach();
        _c.Path(built, color, p.Width, p.Dash, fill);
        _budget?.CheckTime();
    }
}
