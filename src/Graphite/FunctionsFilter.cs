namespace Observe.Storage.Graphite;

/// <summary>Filter, sort and naming functions of graphite-web 1.1.8 (functions.py) that select or rename whole series.</summary>
internal static partial class Evaluator
{
    private static void AddFilterFunctions(Action<string, Func<Call, object?>> add)
    {
        add("removeEmptySeries", RemoveEmptySeries);
        add("filterSeries", FilterSeriesFunction);
        foreach (var (name, func, op) in new[]
                 {
                     ("currentAbove", "last", ">"), ("currentBelow", "last", "<="), ("averageAbove", "average", ">"), ("averageBelow", "average", "<="),
                     ("maximumAbove", "max", ">"), ("maximumBelow", "max", "<="), ("minimumAbove", "min", ">"), ("minimumBelow", "min", "<="),
                 })
            add(name, c => FilterSeries(c.Series(0), func, op, c.Double(1, "n")));
        add("mostDeviant", MostDeviant);
        add("unique", Unique);
        add("fallbackSeries", FallbackSeries);

        add("group", Group);
        add("sortBy", SortByFunction);
        add("sortByTotal", SortByTotal);
        add("sortByMinima", SortByMinima);

        add("aliasByMetric", AliasByMetric);
        add("substr", SubstrFunction);
    }

    private static object? RemoveEmptySeries(Call c)
    {
        var xff = c.OptDouble(1, "xFilesFactor") ?? 0;
        return c.Series(0).Where(s => XffValues(s.Points(), xff)).ToList();
    }

    private static object? FilterSeriesFunction(Call c) =>
        FilterSeries(c.Series(0), c.AggFunc(1, "func"), c.Str(2, "operator"), c.Double(3, "threshold"));

    private static object? MostDeviant(Call c)
    {
        var n = c.Int(1, "n");
        var deviants = new List<(double Sigma, TimeSeries S)>();
        foreach (var s in c.Series(0))
        {
            var pts = s.Points();
            if (AggFuncs.SafeAvg(pts) is not { } mean) continue;
            var squares = pts.Where(v => v.HasValue).Select(v => (v!.Value - mean) * (v.Value - mean)).ToList();
            deviants.Add((TimeSeries.PySum(squares) / AggFuncs.SafeLen(pts), s));
        }
        // Python's sort is stable, reverse keeps equal keys in input order
        return deviants.OrderByDescending(d => d.Sigma).Select(d => d.S).Take((int)Math.Max(0, n)).ToList();
    }

    private static object? Unique(Call c)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return c.SeriesLists(0).SelectMany(l => l).Where(s => seen.Add(s.Name)).ToList();
    }

    private static object? FallbackSeries(Call c)
    {
        var l = c.Series(0);
        return l.Count > 0 ? l : c.Series(1, "fallback");
    }

    private static object? Group(Call c) =>
        c.SeriesLists(0).SelectMany(l => l).ToList();

    private static object? SortByFunction(Call c) =>
        SortBy(c.Series(0), c.AggFunc(1, "func", "average"), c.Bool(2, "reverse", false));

    private static object? SortByTotal(Call c) =>
        SortBy(c.Series(0), "sum", true);

    private static object? SortByMinima(Call c) =>
        c.Series(0).Where(s => (AggFuncs.SafeMax(s.Points()) ?? 0) > 0).OrderBy(s => AggFuncs.SafeMin(s.Points()) ?? double.NegativeInfinity).ToList();

    private static object? AliasByMetric(Call c) =>
        Substr(c.Series(0), -1, 0);

    private static object? SubstrFunction(Call c) =>
        Substr(c.Series(0), c.Int(1, "start", 0), c.Int(2, "stop", 0));

    private static List<TimeSeries> FilterSeries(List<TimeSeries> l, string func, string op, double threshold)
    {
        Func<double?, bool> keep = op switch
        {
            "=" => v => v != null && v == threshold,
            "!=" => v => v == null || v != threshold,
            ">" => v => v != null && v > threshold,
            ">=" => v => v != null && v >= threshold,
            "<" => v => v == null || v < threshold,
            "<=" => v => v == null || v <= threshold,
            _ => throw new GraphiteInputException($"Unsupported operator: {op}"),
        };
        var agg = AggFuncs.Get(func);
        return l.Where(s => keep(agg(s.Points()))).ToList();
    }

    /// <summary>Python's stable <c>list.sort(key, reverse)</c>: reverse keeps equal keys in input order.</summary>
    private static List<TimeSeries> SortBy(List<TimeSeries> l, string func, bool reverse)
    {
        var agg = AggFuncs.Get(func);
        Func<TimeSeries, double> key = s => agg(s.Points()) ?? double.NegativeInfinity;
        return reverse ? l.OrderByDescending(key).ToList() : l.OrderBy(key).ToList();
    }

    /// <summary>The dotted nodes [start:stop] of the innermost argument of the name (Python slice semantics).</summary>
    private static List<TimeSeries> Substr(List<TimeSeries> l, long start, long stop)
    {
        foreach (var s in l)
        {
            var left = s.Name.LastIndexOf('(') + 1;
            var right = s.Name.IndexOf(')');
            if (right < 0) right = s.Name.Length + 1;
            var clean = right <= left ? "" : s.Name[left..Math.Min(right, s.Name.Length)];
            var nodes = clean.Split('.');
            var (a, b) = (PySliceIndex(start, nodes.Length), stop == 0 ? nodes.Length : PySliceIndex(stop, nodes.Length));
            var name = a < b ? string.Join(".", nodes[a..b]) : "";
            var comma = name.IndexOf(',');
            s.Name = comma >= 0 ? name[..comma] : name;
        }
        return l;
    }

    private static int PySliceIndex(long i, int length) => (int)(i < 0 ? Math.Max(0, length + i) : Math.Min(i, length));
}
