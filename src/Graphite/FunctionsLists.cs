using System.Globalization;

namespace Observe.Storage.Graphite;

/// <summary>Pairwise list aggregation, per-node templates, regression and time slices of graphite-web 1.1.8 (functions.py).</summary>
internal static partial class Evaluator
{
    private static void AddListFunctions(Action<string, Func<Call, object?>> add)
    {
        add("aggregateSeriesLists", AggregateSeriesListsFunction);
        foreach (var (name, func) in new[] { ("sumSeriesLists", "sum"), ("diffSeriesLists", "diff"), ("multiplySeriesLists", "multiply") })
            add(name, c => AggregateSeriesLists(c, func, null));
        add("applyByNode", ApplyByNode);
        add("linearRegression", LinearRegression);
        add("smartSummarize", SmartSummarize);
        add("timeSlice", TimeSlice);
    }

    private static object? AggregateSeriesListsFunction(Call c) =>
        AggregateSeriesLists(c, c.AggFunc(2, "func"), c.OptDouble(3, "xFilesFactor"));

    private static object? ApplyByNode(Call c)
    {
        var l = c.Series(0);
        var nodeNum = (int)c.Int(1, "nodeNum");
        var template = c.Str(2, "templateFunction");
        var newName = c.Raw(3, "newName", false) as string;
        var prefixes = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var s in l)
        {
            var nodes = s.Name.Split('.');
            prefixes.Add(string.Join(".", nodes[..PySliceIndex(nodeNum + 1L, nodes.Length)]));
        }
        var results = new List<TimeSeries>();
        foreach (var prefix in prefixes)
            foreach (var r in EvaluateTarget(c.Ctx with { Prefetched = null }, template.Replace("%", prefix)))
            {
                if (!string.IsNullOrEmpty(newName)) r.Name = newName.Replace("%", prefix);
                r.PathExpression = prefix;
                r.Start = l[^1].Start; r.End = l[^1].End; // graphite reads the loop variable left from the prefix scan
                results.Add(r);
            }
        return results;
    }

    private static object? LinearRegression(Call c)
    {
        var start = Date(c, 1, "startSourceAt") ?? c.Ctx.StartTime;
        var end = Date(c, 2, "endSourceAt") ?? c.Ctx.EndTime;
        var sources = EvaluateNode(c.Ctx.WithWindow(start, end) with { Prefetched = null }, c.Node.Args[0]);
        var results = new List<TimeSeries>();
        foreach (var (source, s) in sources.Zip(c.Series(0)))
        {
            s.Tags["linearRegressions"] = $"{start}, {end}";
            if (LinearRegression(source) is not var (factor, offset)) continue;
            var values = Enumerable.Range(0, s.Values.Count).Select(i => (double?)(offset + (s.Start + i * s.Step) * factor));
            var name = $"linearRegression({s.Name}, {start}, {end})";
            results.Add(new TimeSeries(name, s.Start, s.End, s.Step, values, s.XFilesFactor, s.Tags));
        }
        return results;
    }

    private static object? TimeSlice(Call c)
    {
        var start = Date(c, 1, "startSliceAt") ?? throw new GraphiteInputException("timeSlice: startSliceAt is required");
        var end = Date(c, 2, "endSliceAt") ?? c.Ctx.Now;
        var l = c.Series(0);
        foreach (var s in l)
        {
            s.Tags["timeSliceStart"] = start.ToString(CultureInfo.InvariantCulture);
            s.Tags["timeSliceEnd"] = end.ToString(CultureInfo.InvariantCulture);
            s.Name = $"timeSlice({s.Name}, {start}, {end})";
            var t = c.Ctx.StartTime; // graphite counts from the request's start, not the series'
            s.MapInPlace(v =>
            {
                var r = v == null || t < start || t > end ? null : v;
                t += s.Step;
                return r;
            });
        }
        return l;
    }

    /// <summary>A date parameter: an attime string or epoch seconds; null when absent.</summary>
    private static long? Date(Call c, int index, string name) => c.Raw(index, name, false) switch
    {
        null => null,
        string str => AtTime.Parse(str, c.Ctx.Now),
        long l => l,
        double d => (long)d,
        _ => throw new GraphiteInputException($"{name} must be a time"),
    };

    private static List<TimeSeries> AggregateSeriesLists(Call c, string func, double? xff)
    {
        var a = c.Series(0, "seriesListFirstPos"); var b = c.Series(1, "seriesListSecondPos");
        if (a.Count != b.Count) throw new GraphiteInputException("seriesListFirstPos and seriesListSecondPos argument must have equal length");
        var results = new List<TimeSeries>();
        for (var i = 0; i < a.Count; i++)
        {
            var agg = Aggregate(c.Ctx, [[a[i], b[i]]], func, xff);
            if (agg.Count == 0) continue;
            var r = agg[0];
            var cut = r.Name.IndexOf("Series(", StringComparison.Ordinal);
            // Python's name[:find(...)] with find == -1 drops only the last character
            r.Name = (cut >= 0 ? r.Name[..cut] : r.Name[..^1]) + $"Series({a[i].Name},{b[i].Name})";
            results.Add(r);
        }
        return results;
    }

    /// <summary>Least-squares line through the non-null points: (factor per second, offset at epoch 0), or null when degenerate.</summary>
    private static (double Factor, double Offset)? LinearRegression(TimeSeries s)
    {
        var pts = s.Points();
        long n = 0, sumI = 0, sumII = 0;
        var vs = new List<double>(); var ivs = new List<double>();
        for (var i = 0; i < pts.Count; i++)
            if (pts[i] is { } v) { n++; sumI += i; sumII += (long)i * i; vs.Add(v); ivs.Add(i * v); }
        double sumV = TimeSeries.PySum(vs), sumIV = TimeSeries.PySum(ivs);
        var denominator = (double)(n * sumII - sumI * sumI);
        if (denominator == 0) return null;
        var factor = (n * sumIV - sumI * sumV) / denominator / s.Step;
        var offset = (sumII * sumV - sumIV * sumI) / denominator - factor * s.Start;
        return (factor, offset);
    }

    /// <summary>
    /// summarize with buckets from each series' own start; alignTo (a unit: "hours", "days", "weeks3" …) first moves the
    /// request's start back to that unit's boundary (UTC) and evaluates the series again from there.
    /// </summary>
    private static List<TimeSeries> SmartSummarize(Call c)
    {
        var intervalString = c.Str(1, "intervalString");
        var func = c.AggFunc(2, "func", "sum");
        var interval = AtTime.ParseOffset(intervalString);
        if (interval <= 0) throw new GraphiteInputException("smartSummarize interval must be positive");
        var seriesList = c.Series(0);
        if (c.Raw(3, "alignTo", false) is string alignTo)
        {
            var s0 = DateTimeOffset.FromUnixTimeSeconds(c.Ctx.StartTime).UtcDateTime;
            var day = s0.Date;
            var start = AtTime.UnitSeconds(alignTo) switch
            {
                1 => s0,
                60 => day.AddHours(s0.Hour).AddMinutes(s0.Minute),
                3600 => day.AddHours(s0.Hour),
                86400 => day,
                7 * 86400 => day.AddDays(-((((int)s0.DayOfWeek + 6) % 7 + 1 - (char.IsAsciiLetter(alignTo[^1]) ? 1 : alignTo[^1] - '0') + 7) % 7)),
                30 * 86400 => new DateTime(s0.Year, s0.Month, 1, 0, 0, 0, DateTimeKind.Utc),
                _ => new DateTime(s0.Year, 1, 1, 0, 0, 0, DateTimeKind.Utc),
            };
            seriesList = EvaluateNode(c.Ctx.WithWindow(new DateTimeOffset(start).ToUnixTimeSeconds(), c.Ctx.EndTime) with { Prefetched = null }, c.Node.Args[0]);
        }
        c.Ctx.Budget?.EnsureRoom(seriesList.Sum(s => (s.End - s.Start) / interval + 2), "smartSummarize");
        var agg = AggFuncs.Get(func);
        var results = new List<TimeSeries>();
        foreach (var s in seriesList)
        {
            var (vals, end) = SummarizeValues(s, agg, interval, s.Start, s.End);
            s.Tags["smartSummarize"] = intervalString; s.Tags["smartSummarizeFunction"] = func;
            results.Add(s.Copy(name: $"smartSummarize({s.Name}, \"{intervalString}\", \"{func}\")", end: end, step: interval, values: vals));
        }
        return results;
    }
}
