using System.Text.RegularExpressions;

namespace Observe.Storage.Graphite;

/// <summary>Series functions with graphite-web 1.1.8 semantics and naming (render/functions.py).</summary>
internal static partial class Evaluator
{
    /// <summary>Every series function: the catalog's declaration joined with the named method (or entry) that evaluates it.</summary>
    public static readonly Dictionary<string, FunctionInfo> Functions = Build();

    private static Dictionary<string, FunctionInfo> Build()
    {
        var impl = new Dictionary<string, Func<Call, object?>>(StringComparer.Ordinal);
        void Add(string name, Func<Call, object?> fn) => impl.Add(name, fn);

        foreach (var (fname, agg) in new[] { ("sumSeries", "sum"), ("averageSeries", "average"), ("maxSeries", "max"), ("minSeries", "min"), ("diffSeries", "diff"),
                     ("sum", "sum"), ("avg", "average"), ("multiplySeries", "multiply"), ("stddevSeries", "stddev"), ("rangeOfSeries", "rangeOf") })
            Add(fname, c => Aggregate(c.Ctx, c.SeriesLists(0), agg));
        Add("aggregate", AggregateFunction);
        Add("sumSeriesWithWildcards", SumSeriesWithWildcards);
        Add("averageSeriesWithWildcards", AverageSeriesWithWildcards);
        Add("multiplySeriesWithWildcards", MultiplySeriesWithWildcards);
        Add("aggregateWithWildcards", AggregateWithWildcardsFunction);
        Add("countSeries", CountSeries);
        Add("percentileOfSeries", PercentileOfSeries);
        Add("divideSeries", DivideSeries);
        Add("asPercent", AsPercent);
        Add("pct", AsPercent);
        Add("groupByNode", GroupByNode);
        Add("groupByNodes", GroupByNodesFunction);
        Add("groupByTags", GroupByTags);

        Add("alias", Alias);
        Add("aliasByNode", AliasByNodeFunction);
        Add("aliasByTags", AliasByTags);
        Add("aliasSub", AliasSub);

        Add("scale", Scale);
        Add("scaleToSeconds", ScaleToSeconds);
        Add("offset", Offset);
        Add("absolute", Absolute);
        Add("perSecond", PerSecond);
        Add("derivative", Derivative);
        Add("nonNegativeDerivative", NonNegativeDerivative);
        Add("integral", Integral);
        Add("movingAverage", MovingAverage);
        Add("movingSum", MovingSum);
        Add("movingMin", MovingMin);
        Add("movingMax", MovingMax);
        Add("movingWindow", MovingWindowFunction);
        Add("summarize", Summarize);
        Add("hitcount", Hitcount);
        Add("timeShift", TimeShift);
        Add("keepLastValue", KeepLastValue);
        Add("transformNull", TransformNull);
        Add("removeBelowValue", RemoveBelowValue);
        Add("removeAboveValue", RemoveAboveValue);

        Add("highest", HighestFunction);
        Add("lowest", LowestFunction);
        Add("highestCurrent", HighestCurrent);
        Add("highestAverage", HighestAverage);
        Add("highestMax", HighestMax);
        Add("lowestCurrent", LowestCurrent);
        Add("lowestAverage", LowestAverage);
        Add("limit", Limit);
        Add("sortByMaxima", SortByMaxima);
        Add("sortByName", SortByName);
        Add("exclude", Exclude);
        Add("grep", Grep);

        Add("consolidateBy", ConsolidateBy);
        Add("constantLine", ConstantLine);
        Add("events", Events);
        Add("drawAsInfinite", DrawAsInfinite);
        // drawing options only: the JSON is unchanged
        foreach (var noop in new[] { "color", "lineWidth", "alpha" })
            Add(noop, c => c.Series(0));
        AddGraphFunctions(Add);
        AddFilterFunctions(Add);
        AddMathFunctions(Add);
        AddMoreFunctions(Add);
        AddForecastFunctions(Add);
        AddListFunctions(Add);
        AddQueryFunctions(Add);
        return FunctionCatalog.Join(impl);
    }

    private static object? AggregateFunction(Call c) =>
        Aggregate(c.Ctx, [c.Series(0)], c.AggFunc(1, "func"), c.OptDouble(2, "xFilesFactor"));

    private static object? SumSeriesWithWildcards(Call c) =>
        AggregateWithWildcards(c, "sum", 1);

    private static object? AverageSeriesWithWildcards(Call c) =>
        AggregateWithWildcards(c, "average", 1);

    private static object? MultiplySeriesWithWildcards(Call c) =>
        AggregateWithWildcards(c, "multiply", 1);

    private static object? AggregateWithWildcardsFunction(Call c) =>
        AggregateWithWildcards(c, c.AggFunc(1, "func"), 2);

    private static object? GroupByNode(Call c) =>
        GroupByNodes(c, c.Series(0), c.Str(2, "callback", "average"), [c.Raw(1, "nodeNum")]);

    private static object? GroupByNodesFunction(Call c) =>
        GroupByNodes(c, c.Series(0), c.Str(1, "callback"), c.Rest(2));

    // ---------------- implementations ----------------

    private static List<TimeSeries> AggregateWithWildcards(Call c, string func, int firstPosition)
    {
        var positions = c.Rest(firstPosition).Select(p => p switch { long l => l, double d => (long)d, _ => throw new GraphiteInputException("position must be an integer") }).ToHashSet();
        var meta = new Dictionary<string, List<TimeSeries>>();
        var keys = new List<string>();
        foreach (var s in c.Series(0))
        {
            var key = string.Join(".", s.Name.Split('.').Where((_, i) => !positions.Contains(i)));
            if (!meta.TryGetValue(key, out var l)) { meta[key] = l = []; keys.Add(key); }
            l.Add(s);
        }
        var result = new List<TimeSeries>();
        foreach (var key in keys)
        {
            var r = Aggregate(c.Ctx, [meta[key]], func)[0];
            r.Name = key;
            result.Add(r);
        }
        return result;
    }

    private static List<TimeSeries> CountSeries(Call c)
    {
        var lists = c.SeriesLists(0);
        if (lists.Count == 0)
        {
            var start = c.Ctx.StartTime; var end = c.Ctx.EndTime;
            return [new TimeSeries("0", start, end, (long)((end - start) / 2.0), [0, 0, 0], c.Ctx.XFilesFactor) { PathExpression = "countSeries()" }];
        }
        var n = Normalize(lists);
        var name = $"countSeries({FormatPathExpressions(n.List)})";
        var values = Rows(n.List).Select(r => (double?)r.Length).ToList();
        return [new TimeSeries(name, n.Start, n.End, n.Step, values, c.Ctx.XFilesFactor) { PathExpression = name }];
    }

    private static List<TimeSeries> PercentileOfSeries(Call c)
    {
        var l = c.Series(0); var n = c.Double(1, "n"); var interpolate = c.Bool(2, "interpolate", false);
        if (n <= 0) throw new GraphiteInputException("The requested percent is required to be greater than 0");
        if (l.Count == 0) return [];
        var name = $"percentileOfSeries({l[0].PathExpression},{Py.G(n)})";
        var norm = Normalize([l]);
        var values = Rows(l).Select(r => GetPercentile(r, n, interpolate)).ToList();
        return [new TimeSeries(name, norm.Start, norm.End, norm.Step, values, c.Ctx.XFilesFactor)];
    }

    internal static double? GetPercentile(IEnumerable<double?> points, double n, bool interpolate)
    {
        var sorted = points.Where(p => p.HasValue).Select(p => p!.Value).OrderBy(x => x).ToList();
        if (sorted.Count == 0) return null;
        var fractionalRank = n / 100.0 * (sorted.Count + 1);
        var rank = (int)fractionalRank;
        var rankFraction = fractionalRank - rank;
        if (!interpolate) rank += (int)Math.Ceiling(rankFraction);
        double percentile;
        if (rank == 0) percentile = sorted[0];
        else if (rank - 1 == sorted.Count) percentile = sorted[^1];
        else if (rank - 1 > sorted.Count) throw new GraphiteInputException("percentile out of range");
        else percentile = sorted[rank - 1];
        if (interpolate && rank != sorted.Count)
            percentile += rankFraction * (sorted[rank] - percentile);
        return percentile;
    }

    private static List<TimeSeries> DivideSeries(Call c)
    {
        var dividends = c.Series(0);
        var divisors = c.Series(1, "divisorSeries");
        if (divisors.Count == 0)
        {
            foreach (var s in dividends)
            {
                s.Name = $"divideSeries({s.Name},MISSING)"; s.PathExpression = s.Name;
                for (var i = 0; i < s.Values.Count; i++) s.Values[i] = null;
            }
            return dividends;
        }
        if (divisors.Count > 1)
            throw new GraphiteInputException($"divideSeries second argument must reference exactly 1 series (got {divisors.Count})");
        return dividends.Select(d => DivideOne(d, divisors[0], c.Ctx.XFilesFactor)).ToList();
    }

    /// <summary>One quotient series, both consolidated to their common step (divideSeries, divideSeriesLists).</summary>
    private static TimeSeries DivideOne(TimeSeries dividend, TimeSeries divisor, double xFilesFactor)
    {
        var name = $"divideSeries({dividend.Name},{divisor.Name})";
        TimeSeries[] both = [dividend, divisor];
        var step = both.Select(s => s.Step).Aggregate(Lcm);
        foreach (var s in both) s.Consolidate((int)(step / s.Step));
        var start = both.Min(s => s.Start);
        var end = both.Max(s => s.End);
        end -= (end - start) % step;
        var values = Rows(both).Select(r => AggFuncs.SafeDiv(r[0], r[1])).ToList();
        return new TimeSeries(name, start, end, step, values, xFilesFactor);
    }

    private static List<TimeSeries> AsPercent(Call c)
    {
        var seriesList = c.Series(0);
        var total = c.Raw(1, "total", false);
        var nodes = c.Rest(2);
        var xff = c.Ctx.XFilesFactor;
        if (seriesList.Count == 0 && total is not List<TimeSeries>) throw new NormalizeEmptyException();
        if (seriesList.Count > 0) Normalize([seriesList]);
        TimeSeries SumOf(List<TimeSeries> group)
        {
            var name = $"sumSeries({FormatPathExpressions(group)})";
            var n = Normalize([group]);
            return new TimeSeries(name, n.Start, n.End, n.Step, Rows(group).Select(r => AggFuncs.SafeSum(r)).ToList(), xff);
        }
        if (nodes.Count > 0)
        {
            var keys = new List<string>();
            var meta = new Dictionary<string, List<TimeSeries>>();
            foreach (var s in seriesList)
            {
                var key = AggKey(s, nodes);
                if (!meta.TryGetValue(key, out var l)) { meta[key] = l = []; keys.Add(key); }
                l.Add(s);
            }
            var totals = new Dictionary<string, TimeSeries>();
            if (total == null)
            {
                foreach (var key in keys) totals[key] = meta[key].Count == 1 ? meta[key][0] : SumOf(meta[key]);
            }
            else if (total is List<TimeSeries> tl)
            {
                var groups = new Dictionary<string, List<TimeSeries>>();
                foreach (var s in tl)
                {
                    var key = AggKey(s, nodes);
                    if (!groups.TryGetValue(key, out var g)) { groups[key] = g = []; if (!keys.Contains(key)) keys.Add(key); }
                    g.Add(s);
                }
                foreach (var (key, g) in groups) totals[key] = g.Count == 1 ? g[0] : SumOf(g);
            }
            else throw new GraphiteInputException("total must be None or a seriesList");

            var results = new List<TimeSeries>();
            long start = 0, end = 0, step = 1;
            foreach (var key in keys)
            {
                if (!meta.ContainsKey(key))
                {
                    var s2 = totals[key];
                    results.Add(new TimeSeries($"asPercent(MISSING,{s2.Name})", start, end, step, s2.Points().Select(_ => (double?)null), xff));
                    continue;
                }
                foreach (var s1 in meta[key])
                {
                    string name; List<double?> vals;
                    if (!totals.TryGetValue(key, out var s2))
                    {
                        name = $"asPercent({s1.Name},MISSING)";
                        vals = s1.Points().Select(_ => (double?)null).ToList();
                    }
                    else
                    {
                        name = $"asPercent({s1.Name},{s2.Name})";
                        (_, start, end, step) = Normalize([[s1, s2]]);
                        vals = Rows([s1, s2]).Select(r => AggFuncs.SafeMul(AggFuncs.SafeDiv(r[0], r[1]), 100.0)).ToList();
                    }
                    results.Add(new TimeSeries(name, start, end, step, vals, xff));
                }
            }
            return results;
        }

        IReadOnlyList<double?> totalValues;
        string totalText;
        if (total == null)
        {
            totalValues = Rows(seriesList).Select(r => AggFuncs.SafeSum(r)).ToList();
            totalText = $"sumSeries({FormatPathExpressions(seriesList)})";
        }
        else if (total is List<TimeSeries> tl)
        {
            if (tl.Count != 1 && tl.Count != seriesList.Count)
                throw new GraphiteInputException("asPercent second argument must be missing, a single digit, reference exactly 1 series or reference the same number of series as the first argument");
            if (tl.Count == 1)
            {
                Normalize([seriesList, tl]);
                totalValues = tl[0].Points();
                totalText = tl[0].Name;
            }
            else { totalValues = []; totalText = ""; }
            if (tl.Count == seriesList.Count && !(tl.Count == 1 && false))
            {
                if (tl.Count == seriesList.Count)
                {
                    var res = new List<TimeSeries>();
                    var a = seriesList.OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
                    var b = tl.OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
                    for (var i = 0; i < a.Count; i++)
                    {
                        var name = $"asPercent({a[i].Name},{b[i].Name})";
                        var n = Normalize([[a[i], b[i]]]);
                        var vals = Rows([a[i], b[i]]).Select(r => AggFuncs.SafeMul(AggFuncs.SafeDiv(r[0], r[1]), 100.0)).ToList();
                        res.Add(new TimeSeries(name, n.Start, n.End, n.Step, vals, xff));
                    }
                    return res;
                }
            }
        }
        else
        {
            var t = total switch { long l => (double)l, double d => d, _ => throw new GraphiteInputException("asPercent total must be a number or a series list") };
            totalValues = Enumerable.Repeat<double?>(t, seriesList.Count > 0 ? seriesList[0].Values.Count : 0).ToList();
            totalText = Py.Str(total);
        }
        var result = new List<TimeSeries>();
        foreach (var s in seriesList)
        {
            var pts = s.Points();
            var n = Math.Max(pts.Count, totalValues.Count);
            var vals = new List<double?>(n);
            for (var i = 0; i < n; i++)
                vals.Add(AggFuncs.SafeMul(AggFuncs.SafeDiv(i < pts.Count ? pts[i] : null, i < totalValues.Count ? totalValues[i] : null), 100.0));
            var name = $"asPercent({s.Name},{(totalText.Length > 0 ? totalText : s.PathExpression)})";
            result.Add(new TimeSeries(name, s.Start, s.End, s.Step, vals, xff));
        }
        return result;
    }

    private static List<TimeSeries> GroupByNodes(Call c, List<TimeSeries> seriesList, string callback, List<object?> nodes)
    {
        var meta = new Dictionary<string, List<TimeSeries>>();
        var keys = new List<string>();
        foreach (var s in seriesList)
        {
            var key = AggKey(s, nodes);
            if (!meta.TryGetValue(key, out var l)) { meta[key] = l = []; keys.Add(key); }
            l.Add(s);
        }
        var result = new List<TimeSeries>();
        foreach (var key in keys)
        {
            var r = ApplyCallback(c, meta[key], callback);
            r.Name = key;
            result.Add(r);
        }
        return result;
    }

    private static TimeSeries ApplyCallback(Call c, List<TimeSeries> group, string callback)
    {
        if (Functions.TryGetValue(callback, out var fn) && fn.Params is [{ Type: ParamType.SeriesList }, ..])
        {
            var inner = new Call(c.Ctx, c.Node, [group], [], fn);
            var r = fn.Invoke(inner) as List<TimeSeries>;
            return r is { Count: > 0 } ? r[0] : throw new NormalizeEmptyException();
        }
        var agg = Aggregate(c.Ctx, [group], callback);
        return agg.Count > 0 ? agg[0] : throw new NormalizeEmptyException();
    }

    private static List<TimeSeries> GroupByTags(Call c)
    {
        var seriesList = c.Series(0);
        var callback = c.Str(1, "callback");
        var tags = c.Rest(2).Select(t => Py.Str(t)).ToList();
        if (tags.Count == 0) throw new GraphiteInputException("groupByTags(): no tags specified");
        string name = callback;
        if (!tags.Contains("name"))
        {
            var names = seriesList.Select(s => s.Tags.GetValueOrDefault("name", "")).Distinct().ToList();
            name = names.Count == 1 ? names[0] : callback;
        }
        var keys = new List<string>();
        var meta = new Dictionary<string, List<TimeSeries>>();
        foreach (var s in seriesList)
        {
            string key = !tags.Contains("name")
                ? string.Join(";", new[] { name }.Concat(tags.Select(t => t + "=" + s.Tags.GetValueOrDefault(t, "")).OrderBy(x => x, StringComparer.Ordinal)))
                : string.Join(";", new[] { s.Tags.GetValueOrDefault("name", "") }.Concat(tags.Where(t => t != "name").Select(t => t + "=" + s.Tags.GetValueOrDefault(t, "")).OrderBy(x => x, StringComparer.Ordinal)));
            if (!meta.TryGetValue(key, out var l)) { meta[key] = l = []; keys.Add(key); }
            l.Add(s);
        }
        var result = new List<TimeSeries>();
        foreach (var key in keys)
        {
            var r = ApplyCallback(c, meta[key], callback);
            r.Name = key; r.PathExpression = key; r.Tags = TimeSeries.ParseTags(key);
            result.Add(r);
        }
        return result;
    }

    // ---------------- Python regex compatibility ----------------

    internal static Regex PyRegex(string pattern)
    {
        // (?P<name>...) and (?P=name) are Python-only spellings
        var p = pattern.Replace("(?P<", "(?<");
        p = Regex.Replace(p, @"\(\?P=(\w+)\)", @"\k<$1>");
        return new Regex(p, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }

    internal static string PyReplacement(string replace)
    {
        var sb = new System.Text.StringBuilder();
        for (var i = 0; i < replace.Length; i++)
        {
            var ch = replace[i];
            if (ch == '$') { sb.Append("$$"); continue; }
            if (ch == '\\' && i + 1 < replace.Length)
            {
                var nx = replace[i + 1];
                if (char.IsAsciiDigit(nx))
                {
                    var j = i + 1;
                    while (j < replace.Length && j < i + 3 && char.IsAsciiDigit(replace[j])) j++;
                    sb.Append("${").Append(replace[(i + 1)..j]).Append('}');
                    i = j - 1;
                    continue;
                }
                if (nx == 'g' && i + 2 < replace.Length && replace[i + 2] == '<')
                {
                    var close = replace.IndexOf('>', i + 3);
                    if (close > 0) { sb.Append("${").Append(replace[(i + 3)..close]).Append('}'); i = close; continue; }
                }
                if (nx == 'n') { sb.Append('\n'); i++; continue; }
                if (nx == 't') { sb.Append('\t'); i++; continue; }
                if (nx == '\\') { sb.Append('\\'); i++; continue; }
            }
            sb.Append(ch);
        }
        return sb.ToString();
    }
}
