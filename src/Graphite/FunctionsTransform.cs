using System.Text.RegularExpressions;

namespace Observe.Storage.Graphite;

/// <summary>graphite-web 1.1.8's core per-series functions: aliases, arithmetic transforms, derivatives, value filters, top-n and sorting.</summary>
internal static partial class Evaluator
{
    private static object? Alias(Call c)
    {
        var l = c.Series(0); var n = c.Str(1, "newName");
        foreach (var s in l) s.Name = n;
        return l;
    }

    private static object? AliasByNodeFunction(Call c) =>
        AliasByNode(c.Series(0), c.Rest(1));

    private static object? AliasByTags(Call c) =>
        AliasByNode(c.Series(0), c.Rest(1));

    private static object? AliasSub(Call c)
    {
        var l = c.Series(0);
        var re = PyRegex(c.Str(1, "search"));
        var repl = PyReplacement(c.Str(2, "replace"));
        foreach (var s in l) s.Name = re.Replace(s.Name, repl);
        return l;
    }

    private static object? Scale(Call c)
    {
        var l = c.Series(0); var f = c.Double(1, "factor");
        foreach (var s in l)
        {
            s.Tags["scale"] = Py.Repr(f); // float params arrive as floats (validateParams)
            s.Name = $"scale({s.Name},{Py.G(f)})"; s.PathExpression = s.Name;
            s.MapInPlace(v => AggFuncs.SafeMul(v, f));
        }
        return l;
    }

    private static object? ScaleToSeconds(Call c)
    {
        var l = c.Series(0); var secs = c.Double(1, "seconds");
        foreach (var s in l)
        {
            s.Tags["scaleToSeconds"] = Py.Repr(secs);
            s.Name = $"scaleToSeconds({s.Name},{Py.D(secs)})"; s.PathExpression = s.Name;
            var factor = secs / s.Step;
            s.MapInPlace(v => v is { } x ? Math.Round(x * factor, 6, MidpointRounding.ToEven) : null);
        }
        return l;
    }

    private static object? Offset(Call c)
    {
        var l = c.Series(0); var f = c.Double(1, "factor");
        foreach (var s in l)
        {
            s.Tags["offset"] = Py.Repr(f);
            s.Name = $"offset({s.Name},{Py.G(f)})"; s.PathExpression = s.Name;
            s.MapInPlace(v => v + f);
        }
        return l;
    }

    private static object? Absolute(Call c)
    {
        var l = c.Series(0);
        foreach (var s in l)
        {
            s.Tags["absolute"] = "1";
            s.Name = $"absolute({s.Name})"; s.PathExpression = s.Name;
            s.MapInPlace(v => v is { } x ? Math.Abs(x) : null);
        }
        return l;
    }

    private static object? PerSecond(Call c)
    {
        var max = c.OptDouble(1, "maxValue"); var min = c.OptDouble(2, "minValue");
        return c.Series(0).Select(s =>
        {
            double? prev = null; var vals = new List<double?>();
            foreach (var v in s.Points())
            {
                double? delta; (delta, prev) = NonNegativeDelta(v, prev, max, min);
                vals.Add(delta is { } dd ? Math.Round(dd / s.Step, 6, MidpointRounding.ToEven) : null);
            }
            s.Tags["perSecond"] = "1";
            return s.Copy(name: $"perSecond({s.Name})", values: vals);
        }).ToList();
    }

    private static object? Derivative(Call c) =>
        c.Series(0).Select(s =>
        {
            double? prev = null; var vals = new List<double?>();
            foreach (var v in s.Points()) { vals.Add(prev == null || v == null ? null : v - prev); prev = v; }
            s.Tags["derivative"] = "1";
            return s.Copy(name: $"derivative({s.Name})", values: vals);
        }).ToList();

    private static object? NonNegativeDerivative(Call c)
    {
        var max = c.OptDouble(1, "maxValue"); var min = c.OptDouble(2, "minValue");
        return c.Series(0).Select(s =>
        {
            double? prev = null; var vals = new List<double?>();
            foreach (var v in s.Points()) { double? delta; (delta, prev) = NonNegativeDelta(v, prev, max, min); vals.Add(delta); }
            s.Tags["nonNegativeDerivative"] = "1";
            return s.Copy(name: $"nonNegativeDerivative({s.Name})", values: vals);
        }).ToList();
    }

    private static object? Integral(Call c) =>
        c.Series(0).Select(s =>
        {
            double current = 0; var vals = new List<double?>();
            foreach (var v in s.Points()) { if (v is { } x) { current += x; vals.Add(current); } else vals.Add(null); }
            s.Tags["integral"] = "1";
            return s.Copy(name: $"integral({s.Name})", values: vals);
        }).ToList();

    private static object? MovingAverage(Call c) =>
        MovingWindow(c, "average", c.OptDouble(2, "xFilesFactor"));

    private static object? MovingSum(Call c) =>
        MovingWindow(c, "sum", c.OptDouble(2, "xFilesFactor"));

    private static object? MovingMin(Call c) =>
        MovingWindow(c, "min", c.OptDouble(2, "xFilesFactor"));

    private static object? MovingMax(Call c) =>
        MovingWindow(c, "max", c.OptDouble(2, "xFilesFactor"));

    private static object? MovingWindowFunction(Call c) =>
        MovingWindow(c, c.AggFunc(2, "func", "average"), c.OptDouble(3, "xFilesFactor"));

    private static object? RemoveBelowValue(Call c)
    {
        var l = c.Series(0); var n = c.Double(1, "n");
        foreach (var s in l)
        {
            s.Name = $"removeBelowValue({s.Name}, {Py.G(n)})"; s.PathExpression = s.Name;
            s.MapInPlace(v => v == null || v < n ? null : v);
        }
        return l;
    }

    private static object? RemoveAboveValue(Call c)
    {
        var l = c.Series(0); var n = c.Double(1, "n");
        foreach (var s in l)
        {
            s.Name = $"removeAboveValue({s.Name}, {Py.G(n)})"; s.PathExpression = s.Name;
            s.MapInPlace(v => v != null && v > n ? null : v);
        }
        return l;
    }

    private static object? HighestFunction(Call c) =>
        Highest(c.Series(0), c.Int(1, "n", 1), c.AggFunc(2, "func", "average"));

    private static object? LowestFunction(Call c) =>
        Lowest(c.Series(0), c.Int(1, "n", 1), c.AggFunc(2, "func", "average"));

    private static object? HighestCurrent(Call c) =>
        Highest(c.Series(0), c.Int(1, "n"), "current");

    private static object? HighestAverage(Call c) =>
        Highest(c.Series(0), c.Int(1, "n"), "average");

    private static object? HighestMax(Call c) =>
        Highest(c.Series(0), c.Int(1, "n"), "max");

    private static object? LowestCurrent(Call c) =>
        Lowest(c.Series(0), c.Int(1, "n"), "current");

    private static object? LowestAverage(Call c) =>
        Lowest(c.Series(0), c.Int(1, "n"), "average");

    private static object? Limit(Call c) =>
        c.Series(0).Take((int)Math.Max(0, c.Int(1, "n"))).ToList();

    private static object? SortByMaxima(Call c) =>
        c.Series(0).OrderByDescending(s => AggFuncs.SafeMax(s.Points()) ?? double.NegativeInfinity).ToList();

    private static object? SortByName(Call c)
    {
        var natural = c.Bool(1, "natural", false); var reverse = c.Bool(2, "reverse", false);
        Func<TimeSeries, string> key = natural ? s => Regex.Replace(s.Name, @"(\d+)", m => long.Parse(m.Value).ToString("D10")) : s => s.Name;
        var l = c.Series(0);
        return reverse ? l.OrderByDescending(key, StringComparer.Ordinal).ToList() : l.OrderBy(key, StringComparer.Ordinal).ToList();
    }

    private static object? Exclude(Call c)
    { var re = PyRegex(c.Str(1, "pattern")); return c.Series(0).Where(s => !re.IsMatch(s.Name)).ToList(); }

    private static object? Grep(Call c)
    { var re = PyRegex(c.Str(1, "pattern")); return c.Series(0).Where(s => re.IsMatch(s.Name)).ToList(); }

    private static object? ConsolidateBy(Call c)
    {
        var l = c.Series(0); var f = c.Str(1, "consolidationFunc");
        if (f is not ("sum" or "average" or "avg" or "avg_zero" or "min" or "max" or "first" or "last"))
            throw new GraphiteInputException($"consolidateBy: invalid consolidation function '{f}'");
        return SetConsolidation(l, f);
    }

    private static object? ConstantLine(Call c)
    {
        // validateParams turns the float parameter into a float: constantLine(42) is named "42.0"
        var value = c.Double(0, "value");
        var start = c.Ctx.StartTime; var end = c.Ctx.EndTime;
        var step = (long)((end - start) / 2.0);
        var s = new TimeSeries(Py.Repr(value), start, end, step, [value, value, value], c.Ctx.XFilesFactor)
        { PathExpression = $"constantLine({Py.Repr(value)})" };
        return new List<TimeSeries> { s };
    }

    private static object? DrawAsInfinite(Call c)
    {
        var l = c.Series(0);
        foreach (var s in l) { s.Tags["drawAsInfinite"] = "1"; s.Name = $"drawAsInfinite({s.Name})"; }
        return l;
    }

    private static (double? Delta, double? Prev) NonNegativeDelta(double? val, double? prev, double? maxValue, double? minValue)
    {
        if (maxValue != null && val > maxValue) return (null, null);
        if (minValue != null && val < minValue) return (null, null);
        if (prev == null || val == null) return (null, val);
        if (val >= prev) return (val - prev, val);
        if (maxValue != null) return (maxValue + 1 + val - prev - (minValue ?? 0), val);
        if (minValue != null) return (val - minValue, val);
        return (null, val);
    }

    private static List<TimeSeries> AliasByNode(List<TimeSeries> l, List<object?> nodes)
    {
        foreach (var s in l) s.Name = AggKey(s, nodes);
        return l;
    }

    private static List<TimeSeries> Highest(List<TimeSeries> l, long n, string func)
    {
        var f = AggFuncs.Get(func);
        return l.OrderByDescending(s => f(s.Points()) ?? double.NegativeInfinity).Take((int)Math.Max(0, n)).ToList();
    }

    private static List<TimeSeries> Lowest(List<TimeSeries> l, long n, string func)
    {
        var f = AggFuncs.Get(func);
        return l.OrderBy(s => f(s.Points()) ?? double.NegativeInfinity).Take((int)Math.Max(0, n)).ToList();
    }
}
