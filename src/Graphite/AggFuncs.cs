namespace Observe.Storage.Graphite;

/// <summary>graphite-web functions/aggfuncs.py and functions/safe.py.</summary>
internal static class AggFuncs
{
    public static readonly string[] Names =
        ["average", "avg_zero", "median", "sum", "min", "max", "diff", "stddev", "count", "range", "multiply", "last",
         "rangeOf", "avg", "total", "current"];

    public static Func<IReadOnlyList<double?>, double?> Get(string func, string? rawFunc = null) => func switch
    {
        "average" or "avg" => SafeAvg,
        "avg_zero" => SafeAvgZero,
        "median" => SafeMedian,
        "sum" or "total" => SafeSum,
        "min" => v => SafeMin(v),
        "max" => v => SafeMax(v),
        "diff" => SafeDiff,
        "stddev" => SafeStdDev,
        "count" => v => SafeLen(v),
        "range" or "rangeOf" => v => SafeMax(v) is { } mx && SafeMin(v) is { } mn ? mx - mn : null,
        "multiply" => v => v.Any(x => x == null) ? null : v.Aggregate(1.0, (a, b) => a * b!.Value) is var p && v.Count > 0 ? p : throw new GraphiteInputException("multiply of nothing"),
        "last" or "current" => SafeLast,
        _ => throw new GraphiteInputException($"Unsupported aggregation function: {rawFunc ?? func}"),
    };

    public static bool IsKnown(string func) => Names.Contains(func);

    private static List<double> NonNull(IEnumerable<double?> v) => v.Where(x => x.HasValue).Select(x => x!.Value).ToList();

    public static double? SafeSum(IReadOnlyList<double?> values)
    {
        var s = NonNull(values);
        return s.Count > 0 ? TimeSeries.PySum(s) : null;
    }

    public static double? SafeDiff(IReadOnlyList<double?> values)
    {
        var s = NonNull(values);
        if (s.Count == 0) return null;
        var r = s[0];
        for (var i = 1; i < s.Count; i++) r += -s[i];
        return r;
    }

    public static int SafeLen(IEnumerable<double?> values) => values.Count(v => v.HasValue);

    public static double? SafeAvg(IReadOnlyList<double?> values)
    {
        var s = NonNull(values);
        return s.Count > 0 ? TimeSeries.PySum(s) / s.Count : null;
    }

    public static double? SafeAvgZero(IReadOnlyList<double?> values) =>
        values.Count > 0 ? TimeSeries.PySum(values.Select(v => v ?? 0)) / values.Count : null;

    public static double? SafeMedian(IReadOnlyList<double?> values)
    {
        var s = NonNull(values);
        if (s.Count == 0) return null;
        s.Sort();
        var mid = s.Count / 2;
        return s.Count % 2 == 0 ? (s[mid - 1] + s[mid]) / 2 : s[mid];
    }

    public static double? SafeStdDev(IReadOnlyList<double?> values)
    {
        var avg = SafeAvg(values);
        if (avg == null) return null;
        var s = NonNull(values);
        double sum = 0;
        foreach (var v in s) sum += (v - avg.Value) * (v - avg.Value);
        return Math.Sqrt(sum / s.Count);
    }

    public static double? SafeLast(IReadOnlyList<double?> values)
    {
        for (var i = values.Count - 1; i >= 0; i--) if (values[i].HasValue) return values[i];
        return null;
    }

    public static double? SafeMin(IEnumerable<double?> values)
    {
        var s = NonNull(values);
        return s.Count > 0 ? s.Min() : null;
    }

    public static double? SafeMax(IEnumerable<double?> values)
    {
        var s = NonNull(values);
        return s.Count > 0 ? s.Max() : null;
    }

    public static double? SafeDiv(double? a, double? b) => a == null || b == null || b == 0 ? null : a / b;
    public static double? SafeMul(double? a, double? b) => a == null || b == null ? null : a * b;
}
