using System.Globalization;

namespace Observe.Storage.Graphite;

/// <summary>Generators, gap filling, legends and percentile filters of graphite-web 1.1.8 (functions.py).</summary>
internal static partial class Evaluator
{
    private static void AddMoreFunctions(Action<string, Func<Call, object?>> add)
    {
        add("interpolate", InterpolateFunction);
        add("sigmoid", Sigmoid);
        add("logit", Logit);
        add("minMax", MinMax);
        add("powSeries", PowSeries);
        foreach (var name in new[] { "setXFilesFactor", "xFilesFactor" })
            add(name, c =>
            {
                var xff = c.Double(1, "xFilesFactor");
                var l = c.Series(0);
                foreach (var s in l) { s.XFilesFactor = xff; s.Tags["xFilesFactor"] = Py.Repr(xff); }
                return l;
            });
        add("integralByInterval", IntegralByInterval);
        add("aggregateLine", AggregateLine);
        add("averageOutsidePercentile", AverageOutsidePercentile);
        add("removeBetweenPercentile", RemoveBetweenPercentile);
        add("identity", Identity);
        foreach (var fname in new[] { "timeFunction", "time" })
            add(fname, c => new List<TimeSeries> { Generated(c, c.Str(0, "name"), c.Int(1, "step", 60), t => t) });
        foreach (var fname in new[] { "sinFunction", "sin" })
            add(fname, c =>
            {
                var amplitude = c.Int(1, "amplitude", 1);
                return new List<TimeSeries> { Generated(c, c.Str(0, "name"), c.Int(2, "step", 60), t => Math.Sin(t) * amplitude) };
            });
        add("useSeriesAbove", UseSeriesAbove);
    }

    private static object? InterpolateFunction(Call c) =>
        Interpolate(c.Series(0), c.OptDouble(1, "limit") ?? double.PositiveInfinity);

    private static object? Sigmoid(Call c) =>
        MapSeries(c.Series(0), "sigmoid", "sigmoid", s => $"sigmoid({s})", v => v is { } x ? 1 / (1 + Math.Exp(-x)) : null);

    private static object? Logit(Call c) =>
        MapSeries(c.Series(0), "logit", "logit", s => $"logit({s})", v =>
        {
            if (v is not { } x || x == 1) return null;
            var r = x / (1 - x);
            return r > 0 ? Math.Log(r) : null;
        });

    private static object? MinMax(Call c)
    {
        var l = c.Series(0);
        foreach (var s in l)
        {
            s.Name = $"minMax({s.Name})"; s.PathExpression = s.Name;
            var pts = s.Points();
            var min = AggFuncs.SafeMin(pts) ?? 0; var max = AggFuncs.SafeMax(pts) ?? 0;
            s.MapInPlace(v => v is { } x ? (max - min == 0 ? 0 : (x - min) / (max - min)) : null);
        }
        return l;
    }

    private static object? PowSeries(Call c)
    {
        var lists = c.SeriesLists(0);
        if (lists.Count == 0 || lists.All(l => l.Count == 0)) return new List<TimeSeries>();
        var n = Normalize(lists);
        var name = $"powSeries({string.Join(",", n.List.Select(s => s.Name))})";
        var values = Rows(n.List).Select(r =>
        {
            var acc = r[0];
            for (var i = 1; i < r.Length; i++) acc = r[i] is { } e ? SafePow(acc, e) : null;
            return acc;
        }).ToList();
        return new List<TimeSeries> { new(name, n.Start, n.End, n.Step, values, c.Ctx.XFilesFactor) };
    }

    private static object? IntegralByInterval(Call c)
    {
        var unit = c.Str(1, "intervalUnit");
        var duration = Math.Abs(AtTime.ParseOffset(unit));
        if (duration == 0) throw new GraphiteInputException("integralByInterval: the interval must not be zero");
        var start = c.Ctx.StartTime;
        return c.Series(0).Select(s =>
        {
            var vals = new List<double?>(s.Values.Count);
            var t = s.Start; double current = 0;
            foreach (var v in s.Points())
            {
                if (Py.FloorDiv(t - start, duration) != Py.FloorDiv(t - start - s.Step, duration)) current = 0;
                if (v is { } x) current += x;
                vals.Add(current);
                t += s.Step;
            }
            s.Tags["integralByInterval"] = unit;
            return s.Copy(name: $"integralByInterval({s.Name},'{unit}')", values: vals);
        }).ToList();
    }

    private static object? AggregateLine(Call c)
    {
        var agg = AggFuncs.Get(c.AggFunc(1, "func", "average"));
        var keepStep = c.Bool(2, "keepStep", false);
        return c.Series(0).Select(s =>
        {
            var value = agg(s.Points());
            var name = $"aggregateLine({s.Name}, {(value is { } v ? Py.G(v) : "None")})";
            if (keepStep) return s.Copy(name: name, values: Enumerable.Repeat(value, s.Values.Count));
            var start = c.Ctx.StartTime; var end = c.Ctx.EndTime;
            return new TimeSeries(value is { } x ? Py.Repr(x) : "None", start, end, (long)((end - start) / 2.0), [value, value, value], c.Ctx.XFilesFactor)
            { Name = name, PathExpression = name };
        }).ToList();
    }

    private static object? AverageOutsidePercentile(Call c)
    {
        var l = c.Series(0); var n = c.Double(1, "n");
        if (n < 50) n = 100 - n;
        var averages = l.Select(s => AggFuncs.SafeAvg(s.Points())).ToList();
        var low = GetPercentile(averages, 100 - n, false); var high = GetPercentile(averages, n, false);
        return l.Where((s, i) => !(low < averages[i] && averages[i] < high)).ToList();
    }

    private static object? RemoveBetweenPercentile(Call c)
    {
        var l = c.Series(0); var n = c.Double(1, "n");
        if (n < 50) n = 100 - n;
        if (l.Count == 0) return l;
        var pts = l.Select(s => s.Points()).ToList();
        var len = pts.Min(p => p.Count); // zip(*seriesList) stops at the shortest
        var low = new double?[len]; var high = new double?[len];
        for (var i = 0; i < len; i++)
        {
            var col = pts.Select(p => p[i]).ToList();
            low[i] = GetPercentile(col, 100 - n, false); high[i] = GetPercentile(col, n, false);
        }
        return l.Where((s, k) => Enumerable.Range(0, Math.Min(len, pts[k].Count)).Any(i => !(low[i] < pts[k][i] && pts[k][i] < high[i]))).ToList();
    }

    private static object? Identity(Call c)
    {
        var name = c.Str(0, "name");
        var s = Generated(c, name, 60, t => t);
        s.PathExpression = $"identity(\"{name}\")";
        return new List<TimeSeries> { s };
    }

    private static object? UseSeriesAbove(Call c)
    {
        var value = c.Double(1, "value");
        var re = PyRegex(c.Str(2, "search")); var repl = PyReplacement(c.Str(3, "replace"));
        var names = c.Series(0).Where(s => AggFuncs.SafeMax(s.Points()) > value).Select(s => re.Replace(s.Name, repl)).ToList();
        if (names.Count == 0) return new List<TimeSeries>();
        // graphite evaluates group(new names) with an empty prefetch: fetch whatever they name
        var found = EvaluateTarget(c.Ctx with { Prefetched = null }, $"group({string.Join(",", names)})");
        return found.Where(s => s.Count > 0).ToList();
    }

    /// <summary>One point per <paramref name="step"/> from the request's start, valued by its timestamp (timeFunction, sinFunction, identity).</summary>
    private static TimeSeries Generated(Call c, string name, long step, Func<double, double> value)
    {
        if (step <= 0) throw new GraphiteInputException("step must be positive");
        var start = c.Ctx.StartTime; var end = c.Ctx.EndTime;
        var count = Math.Max(0, (end - start + step - 1) / step);
        c.Ctx.Budget?.EnsureRoom(count, name);
        var values = new List<double?>((int)count);
        for (var t = start; t < end; t += step) values.Add(value(t));
        return new TimeSeries(name, start, end, step, values, c.Ctx.XFilesFactor);
    }

    private static List<TimeSeries> Interpolate(List<TimeSeries> l, double limit)
    {
        foreach (var s in l)
        {
            s.Name = $"interpolate({s.Name})"; s.PathExpression = s.Name;
            var pts = s.ValuesPerPoint > 1 ? s.Points() : [.. s.Values];
            var raw = s.Values; // reads back what it wrote, as graphite's series[i] does
            var nones = 0;
            for (var i = 0; i < pts.Count; i++)
            {
                var value = pts[i];
                raw[i] = value;
                if (i == 0) continue;
                if (value is not { } v) { nones++; continue; }
                if (nones == 0) continue;
                if (raw[i - nones - 1] is not { } before) { nones = 0; continue; }
                if (nones <= limit)
                    for (var k = i - nones; k < i; k++)
                        raw[k] = before + (k - (i - nones - 1)) * (v - before) / (nones + 1);
                nones = 0;
            }
        }
        return l;
    }
}
