using System.Globalization;

namespace Observe.Storage.Graphite;

/// <summary>Presentation functions of graphite-web 1.1.8 whose effect shows in the JSON (names, tags, values).</summary>
internal static partial class Evaluator
{
    private static void AddGraphFunctions(Action<string, Func<Call, object?>> add)
    {
        add("dashed", Dashed);
        add("secondYAxis", SecondYAxis);
        add("cactiStyle", CactiStyleFunction);
        add("legendValue", LegendValue);
        add("stacked", Stacked);
    }

    private static object? Dashed(Call c)
    {
        var len = c.Double(1, "dashLength", 5);
        foreach (var s in c.Series(0)) { s.Tags["dashed"] = Py.Str(c.Raw(1, "dashLength", false, 5L)); s.Name = $"dashed({s.Name}, {Py.G(len)})"; }
        return c.Series(0);
    }

    private static object? SecondYAxis(Call c)
    {
        foreach (var s in c.Series(0)) { s.Tags["secondYAxis"] = "1"; s.Name = $"secondYAxis({s.Name})"; }
        return c.Series(0);
    }

    private static object? CactiStyleFunction(Call c) =>
        CactiStyle(c.Series(0), c.Raw(1, "system", false) as string, c.Raw(2, "units", false) as string);

    private static object? LegendValue(Call c)
    {
        var types = c.Rest(1).Select(t => t as string ?? throw new GraphiteInputException("legendValue: value types must be strings")).ToList();
        if (types.Count == 0) throw new GraphiteInputException("legendValue: at least one value type is required");
        string? system = null;
        if (types[^1] is "si" or "binary") { system = types[^1]; types.RemoveAt(types.Count - 1); }
        var l = c.Series(0);
        foreach (var type in types)
        {
            Func<IReadOnlyList<double?>, double?>? f = AggFuncs.IsKnown(type) ? AggFuncs.Get(type) : null;
            foreach (var s in l)
            {
                var v = f?.Invoke(s.Points());
                if (system == null) s.Name += $" ({type}: {(f == null ? "(?)" : v is { } x ? Py.Repr(x) : "None")})";
                else
                {
                    var formatted = f == null ? "(?)" : v is { } x ? FormatUnits(x, system, null) is var (n, p) ? Fixed2(n) + p : "" : "None";
                    s.Name = $"{s.Name,-20}{type,-5}{formatted,-10}";
                }
            }
        }
        return l;
    }

    private static object? Stacked(Call c)
    {
        // graphite keeps the running totals per request (across targets); here they span one call
        var stackName = c.Str(1, "stack", "__DEFAULT__");
        var total = new List<double>();
        var results = new List<TimeSeries>();
        foreach (var s in c.Series(0))
        {
            var vals = new List<double?>(s.Values.Count);
            for (var i = 0; i < s.Values.Count; i++)
            {
                if (total.Count <= i) total.Add(0);
                if (s.Values[i] is { } v) { total[i] += v; vals.Add(total[i]); }
                else vals.Add(null);
            }
            var name = s.Name;
            if (stackName == "__DEFAULT__") { s.Tags["stacked"] = stackName; name = $"stacked({s.Name})"; }
            results.Add(s.Copy(name: name, values: vals));
        }
        return results;
    }

    private static List<TimeSeries> CactiStyle(List<TimeSeries> l, string? system, string? units)
    {
        if (l.Count == 0) return l;
        if (system != null && system is not ("si" or "binary" or "sec" or "msec")) throw new GraphiteInputException($"cactiStyle: unknown unit system '{system}'");
        Func<double, string> fmt = !string.IsNullOrEmpty(system)
            ? !string.IsNullOrEmpty(units) ? x => FormatUnits(x, system, units) is var (v, p) ? $"{Fixed2(v)} {p}" : "" : x => FormatUnits(x, system, null) is var (v2, p2) ? Fixed2(v2) + p2 : ""
            : !string.IsNullOrEmpty(units) ? x => $"{Fixed2(x)} {units}" : Fixed2;
        // widths as graphite: int(value or 3), so a zero or missing value measures as 3
        int Width(Func<IReadOnlyList<double?>, double?> f) => l.Max(s => fmt(Math.Truncate(f(s.Points()) is { } v && v != 0 ? v : 3)).Length) + 3;
        var nameLen = l.Max(s => s.Name.Length);
        var lastLen = Width(AggFuncs.SafeLast); var maxLen = Width(v => AggFuncs.SafeMax(v)); var minLen = Width(v => AggFuncs.SafeMin(v));
        foreach (var s in l)
        {
            var pts = s.Points();
            string F(double? v) => v is { } x ? fmt(x) : "nan";
            s.Name = $"{s.Name.PadRight(nameLen)} Current:{F(AggFuncs.SafeLast(pts)).PadRight(lastLen)} Max:{F(AggFuncs.SafeMax(pts)).PadRight(maxLen)} Min:{F(AggFuncs.SafeMin(pts)).PadRight(minLen)} ";
        }
        return l;
    }

    /// <summary>Python's <c>'%.2f' % x</c>: the exact value rounded, halves to even.</summary>
    private static string Fixed2(double x) =>
        double.IsNaN(x) ? "nan" : double.IsInfinity(x) ? (x > 0 ? "inf" : "-inf") : PyRound(x, 2).ToString("F2", CultureInfo.InvariantCulture);

    private static readonly Dictionary<string, (string Prefix, double Size)[]> UnitSystems = new()
    {
        ["binary"] = [("Pi", Math.Pow(1024, 5)), ("Ti", Math.Pow(1024, 4)), ("Gi", Math.Pow(1024, 3)), ("Mi", 1024.0 * 1024), ("Ki", 1024)],
        ["si"] = [("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)],
        ["sec"] = [("Y", 60 * 60 * 24 * 365), ("M", 60 * 60 * 24 * 30), ("D", 60 * 60 * 24), ("H", 60 * 60), ("m", 60)],
        ["msec"] = [("Y", 60.0 * 60 * 24 * 365 * 1000), ("M", 60.0 * 60 * 24 * 30 * 1000), ("D", 60 * 60 * 24 * 1000), ("H", 60 * 60 * 1000), ("m", 60 * 1000), ("s", 1000)],
    };

    /// <summary>graphite's glyph.format_units without a step: the value scaled to the largest unit it reaches, and the prefix.</summary>
    private static (double Value, string Prefix) FormatUnits(double v, string system, string? units)
    {
        foreach (var (prefix, size) in UnitSystems[system])
            if (Math.Abs(v) >= size)
            {
                var v2 = v / size;
                if (v2 - Math.Floor(v2) < 1e-11 && v > 1) v2 = Math.Floor(v2);
                return (v2, units != null ? prefix + units : prefix);
            }
        if (v - Math.Floor(v) < 1e-11 && v > 1) v = Math.Floor(v);
        return (v, units ?? "");
    }
}
