using System.Globalization;

namespace Observe.Storage.Graphite;

/// <summary>Point-wise transforms and per-series statistics of graphite-web 1.1.8 (functions.py).</summary>
internal static partial class Evaluator
{
    private static void AddMathFunctions(Action<string, Func<Call, object?>> add)
    {
        add("invert", Invert);
        add("squareRoot", SquareRoot);
        add("exp", Exp);
        add("pow", Pow);
        add("offsetToZero", OffsetToZero);
        add("isNonNull", IsNonNull);
        add("round", Round);
        add("log", Log);
        add("changed", Changed);
        add("delay", Delay);
        add("add", Add);
        add("stdev", Stdev);
        add("exponentialMovingAverage", ExponentialMovingAverage);
        add("cumulative", Cumulative);
        add("movingMedian", MovingMedian);
        add("nPercentile", NPercentileFunction);
        add("removeAbovePercentile", RemoveAbovePercentile);
        add("removeBelowPercentile", RemoveBelowPercentile);
        add("threshold", Threshold);
    }

    private static object? Invert(Call c) =>
        MapSeries(c.Series(0), "invert", "1", s => $"invert({s})", v => SafePow(v, -1));

    private static object? SquareRoot(Call c) =>
        MapSeries(c.Series(0), "squareRoot", "1", s => $"squareRoot({s})", v => SafePow(v, 0.5));

    private static object? Exp(Call c) =>
        MapSeries(c.Series(0), "exp", "e", s => $"exp({s})", v => v is { } x ? Math.Exp(x) : null);

    private static object? Pow(Call c)
    {
        var f = c.Double(1, "factor");
        return MapSeries(c.Series(0), "pow", Py.Repr(f), s => $"pow({s},{Py.G(f)})", v => SafePow(v, f));
    }

    private static object? OffsetToZero(Call c)
    {
        var l = c.Series(0);
        foreach (var s in l)
        {
            var min = AggFuncs.SafeMin(s.Points());
            s.Tags["offsetToZero"] = min is { } m ? Py.Repr(m) : "None";
            s.Name = $"offsetToZero({s.Name})"; s.PathExpression = s.Name;
            s.MapInPlace(v => v - min);
        }
        return l;
    }

    private static object? IsNonNull(Call c) =>
        MapSeries(c.Series(0), "isNonNull", "1", s => $"isNonNull({s})", v => v == null ? 0 : 1);

    private static object? Round(Call c)
    {
        var has = c.Raw(1, "precision", false) != null;
        var p = c.Int(1, "precision", 0);
        return MapSeries(c.Series(0), "round", p.ToString(CultureInfo.InvariantCulture),
            s => has ? $"round({s},{p})" : $"round({s})", v => v is { } x ? PyRound(x, p) : null);
    }

    private static object? Log(Call c)
    {
        var b = c.Int(1, "base", 10);
        return c.Series(0).Select(s =>
        {
            s.Tags["log"] = b.ToString(CultureInfo.InvariantCulture);
            var vals = s.Points().Select(v => v is { } x && x > 0 ? Math.Log(x) / Math.Log(b) : (double?)null).ToList();
            return s.Copy(name: $"log({s.Name}, {b})", values: vals);
        }).ToList();
    }

    private static object? Changed(Call c)
    {
        var l = c.Series(0);
        foreach (var s in l)
        {
            s.Name = $"changed({s.Name})"; s.PathExpression = s.Name;
            double? previous = null;
            s.MapInPlace(v =>
            {
                if (previous == null) { previous = v; return 0; }
                if (v != null && previous != v) { previous = v; return 1; }
                return 0;
            });
        }
        return l;
    }

    private static object? Delay(Call c)
    {
        var steps = c.Int(1, "steps");
        return c.Series(0).Select(s =>
        {
            var raw = s.Values; var n = raw.Count;
            var k = (int)Math.Min(Math.Abs(steps), n);
            var vals = steps < 0
                ? raw.Skip(k).Concat(Enumerable.Repeat<double?>(null, k))
                : Enumerable.Repeat<double?>(null, k).Concat(steps == 0 ? [] : raw.Take(n - k)); // series[:-0] is empty in Python
            s.Tags["delay"] = steps.ToString(CultureInfo.InvariantCulture);
            return s.Copy(name: $"delay({s.Name},{steps})", values: vals.ToList());
        }).ToList();
    }

    private static object? Add(Call c)
    {
        var k = c.Double(1, "constant");
        return MapSeries(c.Series(0), "add", Py.Repr(k), s => $"add({s},{Py.D(k)})", v => v + k);
    }

    private static object? Cumulative(Call c) =>
        SetConsolidation(c.Series(0), "sum");

    private static object? MovingMedian(Call c) =>
        MovingWindow(c, "median", c.OptDouble(2, "xFilesFactor"));

    private static object? NPercentileFunction(Call c) =>
        NPercentile(c.Series(0), c.Double(1, "n"));

    private static object? RemoveAbovePercentile(Call c) =>
        RemovePercentile(c.Series(0), c.Double(1, "n"), above: true);

    private static object? RemoveBelowPercentile(Call c) =>
        RemovePercentile(c.Series(0), c.Double(1, "n"), above: false);

    private static object? Threshold(Call c)
    {
        var value = c.Double(0, "value");
        var label = c.Raw(1, "label", false) as string;
        var start = c.Ctx.StartTime; var end = c.Ctx.EndTime;
        // the tags keep constantLine's name: graphite renames after construction
        var s = new TimeSeries(Py.Repr(value), start, end, (long)((end - start) / 2.0), [value, value, value], c.Ctx.XFilesFactor)
        { PathExpression = $"constantLine({Py.Repr(value)})" };
        if (!string.IsNullOrEmpty(label)) s.Name = label;
        return new List<TimeSeries> { s };
    }

    private static List<TimeSeries> MapSeries(List<TimeSeries> l, string tag, string tagValue, Func<string, string> name, Func<double?, double?> f)
    {
        foreach (var s in l)
        {
            s.Tags[tag] = tagValue;
            s.Name = name(s.Name); s.PathExpression = s.Name;
            s.MapInPlace(f);
        }
        return l;
    }

    /// <summary>graphite's safePow: math.pow's ValueError (negative base, zero to a negative power) and OverflowError give None.</summary>
    private static double? SafePow(double? a, double b)
    {
        if (a is not { } x) return null;
        var r = Math.Pow(x, b);
        return double.IsNaN(r) || double.IsInfinity(r) && !double.IsInfinity(x) ? null : r;
    }

    /// <summary>
    /// Python's round(x, n) on floats: rounds the exact binary value (round(15.35, 1) is 15.3, as 15.35 is stored
    /// just below), halves to even only on exact ties; negative n rounds to tens, hundreds …
    /// </summary>
    internal static double PyRound(double x, long n)
    {
        if (double.IsNaN(x) || double.IsInfinity(x)) return x;
        if (n < 0)
        {
            var p = Math.Pow(10, -n);
            return Math.Round(x / p, MidpointRounding.ToEven) * p;
        }
        if (n > 300) return x;
        var digits = (int)n;
        // .NET formats the exact binary value; 40 more digits decide whether x is an exact tie
        var exact = x.ToString("F" + (digits + 40), CultureInfo.InvariantCulture);
        var tail = exact[(exact.IndexOf('.') + 1 + digits)..];
        if (tail[0] == '5' && tail.AsSpan(1).TrimEnd('0').IsEmpty) return Math.Round(x, Math.Min(digits, 15), MidpointRounding.ToEven);
        return double.Parse(x.ToString("F" + digits, CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    private static List<TimeSeries> SetConsolidation(List<TimeSeries> l, string f)
    {
        foreach (var s in l)
        {
            s.ConsolidationFunc = f; s.Tags["consolidateBy"] = f;
            s.Name = $"consolidateBy({s.Name},\"{f}\")"; s.PathExpression = s.Name;
        }
        return l;
    }

    private static List<TimeSeries> NPercentile(List<TimeSeries> l, double n)
    {
        if (n == 0) throw new GraphiteInputException("The requested percent is required to be greater than 0");
        var results = new List<TimeSeries>();
        foreach (var s in l)
        {
            var sorted = s.Points().Where(v => v.HasValue).OrderBy(v => v).ToList();
            if (sorted.Count == 0) continue;
            if (GetPercentile(sorted, n, false) is not { } perc) continue;
            // graphite's series.copy shares the tags dict: the input series is tagged too (removeAbovePercentile shows it)
            s.Tags["nPercentile"] = Py.Repr(n);
            results.Add(s.Copy(name: $"nPercentile({s.Name}, {Py.G(n)})", values: Enumerable.Repeat<double?>(perc, (int)((s.End - s.Start) / s.Step))));
        }
        return results;
    }

    private static List<TimeSeries> RemovePercentile(List<TimeSeries> l, double n, bool above)
    {
        foreach (var s in l)
        {
            s.Name = $"{(above ? "removeAbovePercentile" : "removeBelowPercentile")}({s.Name}, {Py.G(n)})"; s.PathExpression = s.Name;
            var pct = NPercentile([s], n);
            if (pct.Count == 0 || pct[0].Values.Count == 0) continue;
            var p = pct[0].Values[0];
            s.MapInPlace(v => above ? (v != null && v > p ? null : v) : (v == null || v < p ? null : v));
        }
        return l;
    }

    /// <summary>Moving standard deviation over <c>points</c> points, as running sums (graphite's stdev).</summary>
    private static List<TimeSeries> Stdev(Call c)
    {
        var points = c.Int(1, "points");
        var tolerance = c.Double(2, "windowTolerance", 0.1);
        var l = c.Series(0);
        for (var k = 0; k < l.Count; k++)
        {
            var s = l[k];
            s.Tags["stdev"] = points.ToString(CultureInfo.InvariantCulture);
            var vals = s.Points();
            var result = new List<double?>(vals.Count);
            int valid = 0; double sum = 0, sumSq = 0;
            for (var i = 0; i < vals.Count; i++)
            {
                // the dropped value reads the raw list, as graphite's series[index - points]
                var dropped = i >= points ? s.Values[(int)(i - points)] : null;
                if (dropped is { } d) { valid--; sum -= d; sumSq -= d * d; }
                if (vals[i] is { } v) { valid++; sum += v; sumSq += v * v; }
                if (valid > 0 && (double)valid / points >= tolerance)
                {
                    var radicand = valid * sumSq - sum * sum;
                    result.Add(radicand < 0 ? null : Math.Sqrt(radicand) / valid);
                }
                else result.Add(null);
            }
            l[k] = s.Copy(name: $"stdev({s.Name},{points})", values: result);
        }
        return l;
    }

    /// <summary>
    /// graphite's exponentialMovingAverage, quirks included: with an interval the smoothing constant is 2/(seconds+1),
    /// and the first output point is the mean of the preview window, so there is one point more than the window.
    /// </summary>
    private static List<TimeSeries> ExponentialMovingAverage(Call c)
    {
        var seriesList = c.Series(0);
        if (seriesList.Count == 0) return [];
        var windowRaw = c.Raw(1, "windowSize");
        long previewSeconds; double constant;
        if (windowRaw is string ws) { previewSeconds = Math.Abs(AtTime.ParseOffset(ws)); constant = 2.0 / (previewSeconds + 1); }
        else { var w = c.Int(1, "windowSize"); previewSeconds = seriesList.Max(s => s.Step) * w; constant = 2.0 / (w + 1); }
        var preview = EvaluateNode(c.Ctx.WithWindow(c.Ctx.StartTime - previewSeconds, c.Ctx.EndTime), c.Node.Args[0]);
        var result = new List<TimeSeries>();
        foreach (var s in preview)
        {
            var isInterval = windowRaw is string;
            var name = isInterval ? $"exponentialMovingAverage({s.Name},\"{windowRaw}\")" : $"exponentialMovingAverage({s.Name},{Py.Str(windowRaw)})";
            var windowPoints = (int)Math.Min(isInterval ? previewSeconds / s.Step : c.Int(1, "windowSize"), s.Values.Count);
            s.Tags["exponentialMovingAverage"] = Py.Str(windowRaw);
            var ema = AggFuncs.SafeAvg(s.Values.GetRange(0, windowPoints)) ?? 0;
            var vals = new List<double?>(s.Values.Count - windowPoints + 1) { PyRound(ema, 6) };
            for (var i = windowPoints; i < s.Values.Count; i++)
            {
                if (s.Values[i] is { } v) { ema = constant * v + (1 - constant) * ema; vals.Add(PyRound(ema, 6)); }
                else vals.Add(null);
            }
            result.Add(s.Copy(name: name, start: s.Start + previewSeconds, values: vals));
        }
        return result;
    }
}
