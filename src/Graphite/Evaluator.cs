using System.Text.RegularExpressions;

namespace Observe.Storage.Graphite;

/// <summary>
/// Evaluates parsed targets with graphite-web 1.1.8 semantics (render/evaluator.py, datalib.fetchData).
/// </summary>
internal static partial class Evaluator
{
    public static List<TimeSeries> EvaluateTarget(RenderContext ctx, string target) =>
        string.IsNullOrWhiteSpace(target) ? [] : EvaluateTarget(ctx, TargetParser.Parse(target));

    public static List<TimeSeries> EvaluateTarget(RenderContext ctx, TargetNode node)
    {
        ctx = ctx with { Prefetched = ctx.Prefetched ?? PathExpressions([node]) };
        return AsSeriesList(Evaluate(ctx, node), node);
    }

    /// <summary>Re-evaluates a sub-expression in another window (movingAverage, timeShift, hitcount), prefetching only its paths.</summary>
    public static List<TimeSeries> EvaluateNode(RenderContext ctx, TargetNode node) =>
        AsSeriesList(Evaluate(ctx with { Prefetched = PathExpressions([node]) }, node), node);

    /// <summary>graphite-web extractPathExpressions: paths and seriesByTag calls reachable through positional args.</summary>
    public static HashSet<string> PathExpressions(IEnumerable<TargetNode> nodes)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        void Walk(TargetNode n)
        {
            switch (n)
            {
                case PathNode p: set.Add(p.Path); break;
                case CallNode { Name: "seriesByTag" } c: set.Add(c.Raw); break;
                case CallNode c: foreach (var a in c.Args) Walk(a); break;
            }
        }
        foreach (var n in nodes) Walk(n);
        return set;
    }

    private static List<TimeSeries> AsSeriesList(object? result, TargetNode node) => result switch
    {
        List<TimeSeries> l => l,
        TimeSeries s => [s],
        null => [],
        _ => throw new GraphiteInputException($"target at position {node.Position} is not a series list"),
    };

    public static object? Evaluate(RenderContext ctx, TargetNode node)
    {
        switch (node)
        {
            case PathNode p: return FetchData(ctx, p.Path);
            case NumberNode n: return n.IsInteger && Math.Abs(n.Value) < 9e15 ? (object)(long)n.Value : n.Value;
            case StringNode s: return s.Value;
            case BoolNode b: return b.Value;
            case NoneNode: return null;
            case InfinityNode: return double.PositiveInfinity;
            case CallNode call:
                if (call.Name == "seriesByTag") return SeriesByTag(ctx, call);
                if (!Functions.TryGetValue(call.Name, out var fn))
                    throw new GraphiteInputException($"Received request for unknown function: {call.Name} (at position {call.Position})");
                // The parser bounds the depth; this is the backstop for a thread with less stack than assumed.
                System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
                if (StreamAggregate(ctx, call, fn) is { } streamed) { CountOutput(ctx, call, streamed); return streamed; }
                var args = call.Args.Select(a => Evaluate(ctx, a)).ToList();
                var kwargs = call.Kwargs.ToDictionary(k => k.Key, k => Evaluate(ctx, k.Value));
                (args, kwargs) = ParamBinder.Bind(fn, call, args, kwargs);
                Images.SeriesStyle.Apply(call.Name, args, kwargs);
                try
                {
                    var result = fn.Invoke(new Call(ctx, call, args, kwargs, fn));
                    CountOutput(ctx, call, result);
                    return result;
                }
                catch (NormalizeEmptyException) { return new List<TimeSeries>(); }
                // The arguments were checked against the declaration before the call; a regex is checked by compiling it.
                catch (RegexParseException e)
                {
                    throw new GraphiteInputException($"Invalid arguments to {call.Name} at position {call.Position}: {e.Message}");
                }
            default: throw new GraphiteInputException("unknown token");
        }
    }

    private static void CountOutput(RenderContext ctx, CallNode call, object? result)
    {
        if (ctx.Budget == null) return;
        // Every call costs at least one: functions re-evaluating their argument (movingAverage,
        // timeShift, hitcount) nested in each other evaluate exponentially often even over nothing.
        long points = 1;
        if (result is List<TimeSeries> output) foreach (var s in output) points += s.ValueCount;
        ctx.Budget.Produce(points, call.Name);
    }

    // ---------------- data access ----------------

    public static List<TimeSeries> FetchData(RenderContext ctx, string pathExpr)
    {
        if (ctx.Prefetched != null && !ctx.Prefetched.Contains(pathExpr)) return [];
        return FetchNames(ctx, PathNames(ctx, pathExpr), pathExpr);
    }

    /// <summary>The series a path expression names, in the order graphite-web returns them (sorted, distinct).</summary>
    private static SortedSet<string> PathNames(RenderContext ctx, string pathExpr)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        if (pathExpr.Contains(';')) names.Add(pathExpr);
        else foreach (var n in ctx.Reader.Find(pathExpr)) if (n.IsLeaf) names.Add(n.Path);
        return names;
    }

    private static List<TimeSeries> SeriesByTag(RenderContext ctx, CallNode call)
    {
        if (ctx.Prefetched != null && !ctx.Prefetched.Contains(call.Raw)) return [];
        var exprs = new List<string>();
        foreach (var a in call.Args)
        {
            if (Evaluate(ctx, a) is string s) exprs.Add(s);
            else throw new GraphiteInputException($"seriesByTag arguments must be strings (at position {a.Position})");
        }
        if (exprs.Count == 0) throw new GraphiteInputException("seriesByTag needs at least one tag expression");
        return FetchNames(ctx, new SortedSet<string>(TagQuery.FindSeries(ctx.Reader.TaggedSeries(), exprs, ctx.Budget), StringComparer.Ordinal), call.Raw);
    }

    // ---------------- helpers shared by functions (graphite-web functions.py) ----------------

    internal sealed class NormalizeEmptyException : Exception;

    public static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);
    public static long Lcm(long a, long b)
    {
        if (a == b) return a;
        if (a < b) (a, b) = (b, a);
        return a / Gcd(a, b) * b;
    }

    /// <summary>normalize(seriesLists): consolidate to the lcm step; returns (series, start, end, step).</summary>
    public static (List<TimeSeries> List, long Start, long End, long Step) Normalize(IEnumerable<IEnumerable<TimeSeries>> seriesLists)
    {
        var list = seriesLists.SelectMany(l => l).ToList();
        if (list.Count == 0) throw new NormalizeEmptyException();
        var step = list.Select(s => s.Step).Aggregate(Lcm);
        foreach (var s in list) s.Consolidate((int)(step / s.Step));
        var start = list.Min(s => s.Start);
        var end = list.Max(s => s.End);
        end -= (end - start) % step;
        return (list, start, end, step);
    }

    /// <summary>izip_longest(*series) over consolidated points.</summary>
    public static List<double?[]> Rows(IReadOnlyList<TimeSeries> list)
    {
        var points = list.Select(s => s.Points()).ToList();
        var n = points.Count == 0 ? 0 : points.Max(p => p.Count);
        var rows = new List<double?[]>(n);
        for (var i = 0; i < n; i++)
        {
            var row = new double?[points.Count];
            for (var j = 0; j < points.Count; j++) row[j] = i < points[j].Count ? points[j][i] : null;
            rows.Add(row);
        }
        return rows;
    }

    public static bool Xff(int nonNull, double total, double xFilesFactor) =>
        nonNull != 0 && total != 0 && nonNull / total >= xFilesFactor;

    public static bool XffValues(IReadOnlyList<double?> values, double xFilesFactor) =>
        values.Count > 0 && Xff(values.Count(v => v.HasValue), values.Count, xFilesFactor);

    public static string FormatPathExpressions(IEnumerable<TimeSeries> list)
    {
        var seen = new List<string>();
        foreach (var s in list) if (!seen.Contains(s.PathExpression)) seen.Add(s.PathExpression);
        return string.Join(",", seen);
    }

    public static string? FirstPathExpression(string name)
    {
        try
        {
            TargetNode? node = TargetParser.Parse(name);
            while (node != null)
            {
                if (node is PathNode p) return p.Path;
                if (node is CallNode c && c.Args.Count > 0) node = c.Args[0];
                else return null;
            }
        }
        catch (GraphiteInputException) { }
        return null;
    }

    public static string GetNodeOrTag(TimeSeries series, object? n, string? pathExpression)
    {
        long? idx = n switch { long l => l, double d when d == Math.Floor(d) => (long)d, string s when long.TryParse(s, out var v) => v, _ => null };
        if (idx is { } i)
        {
            var parts = (pathExpression ?? series.Name).Split(';', 3)[0].Split('.');
            var k = i < 0 ? parts.Length + i : i;
            if (k >= 0 && k < parts.Length) return parts[k];
        }
        return series.Tags.TryGetValue(Py.Str(n), out var t) ? t : "";
    }

    public static string AggKey(TimeSeries series, IReadOnlyList<object?> nodes, string? pathExpression = null)
    {
        if (pathExpression == null && series.Name.EndsWith(')')) pathExpression = FirstPathExpression(series.Name);
        return string.Join(".", nodes.Select(n => GetNodeOrTag(series, n, pathExpression)));
    }

    public static List<TimeSeries> Aggregate(RenderContext ctx, IEnumerable<IEnumerable<TimeSeries>> seriesLists, string func, double? xFilesFactor = null)
    {
        var rawFunc = func;
        if (func.EndsWith("Series", StringComparison.Ordinal)) func = func[..^6];
        var cf = AggFuncs.Get(func, rawFunc);
        var lists = seriesLists.ToList();
        if (lists.Count == 0) return [];
        (List<TimeSeries> list, long start, long end, long step) n;
        try { n = Normalize(lists); } catch (NormalizeEmptyException) { return []; }
        var xff = xFilesFactor ?? ctx.XFilesFactor;
        var name = $"{func}Series({FormatPathExpressions(n.list)})";
        var values = Rows(n.list).Select(r => XffValues(r, xff) ? cf(r) : null).ToList();
        var tags = new Dictionary<string, string>(n.list[0].Tags);
        foreach (var s in n.list)
            foreach (var k in tags.Keys.ToList())
                if (!s.Tags.TryGetValue(k, out var v) || v != tags[k]) tags.Remove(k);
        tags.TryAdd("name", name);
        tags["aggregatedBy"] = func;
        return [new TimeSeries(name, n.start, n.end, n.step, values, xff, tags)];
    }
}

/// <summary>One function invocation: evaluated positional and keyword arguments plus the raw call.</summary>
internal sealed class Call(RenderContext ctx, CallNode node, List<object?> args, Dictionary<string, object?> kwargs, FunctionInfo? info = null)
{
    /// <summary>The declaration the arguments were bound to: a keyword argument is found by its parameter's declared name.</summary>
    public FunctionInfo? Info { get; } = info;
    public RenderContext Ctx { get; } = ctx;
    public CallNode Node { get; } = node;
    public List<object?> Args { get; } = args;
    public Dictionary<string, object?> Kwargs { get; } = kwargs;

    private GraphiteInputException Bad(string what) =>
        new($"{Node.Name} (at position {Node.Position}): {what}");

    public object? Raw(int index, string name, bool required = true, object? dflt = null)
    {
        if (index < Args.Count) return Args[index];
        var declared = Info != null && index < Info.Params.Length && !Info.Params[index].Multiple ? Info.Params[index] : null;
        if (Kwargs.TryGetValue(declared?.Name ?? name, out var v)) return v;
        if (required) throw Bad($"missing required parameter '{name}'");
        return dflt;
    }

    public bool Has(int index, string name) => index < Args.Count || Kwargs.ContainsKey(name);

    public List<TimeSeries> Series(int index, string name = "seriesList", bool required = true)
    {
        var v = Raw(index, name, required);
        return v switch
        {
            List<TimeSeries> l => l,
            null when !required => [],
            _ => throw Bad($"parameter '{name}' must be a series list"),
        };
    }

    public double Double(int index, string name, double? dflt = null)
    {
        var v = Raw(index, name, dflt == null, dflt);
        return v switch
        {
            long l => l,
            double d => d,
            string s when double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d2) => d2,
            _ => throw Bad($"parameter '{name}' must be a number"),
        };
    }

    public double? OptDouble(int index, string name)
    {
        var v = Raw(index, name, false);
        return v switch { null => null, long l => l, double d => d, _ => throw Bad($"parameter '{name}' must be a number") };
    }

    public long Int(int index, string name, long? dflt = null)
    {
        var v = Raw(index, name, dflt == null, dflt);
        return v switch
        {
            long l => l,
            double d when d == Math.Floor(d) => (long)d,
            _ => throw Bad($"parameter '{name}' must be an integer"),
        };
    }

    public string Str(int index, string name, string? dflt = null)
    {
        var v = Raw(index, name, dflt == null, dflt);
        return v as string ?? throw Bad($"parameter '{name}' must be a string");
    }

    public bool Bool(int index, string name, bool dflt)
    {
        var v = Raw(index, name, false, dflt);
        return v switch { bool b => b, long l => l != 0, string s => s.Equals("true", StringComparison.OrdinalIgnoreCase), _ => throw Bad($"parameter '{name}' must be a boolean") };
    }

    /// <summary>Positional varargs from <paramref name="index"/> on.</summary>
    public List<object?> Rest(int index) => Args.Count > index ? Args.GetRange(index, Args.Count - index) : [];

    public List<List<TimeSeries>> SeriesLists(int index)
    {
        var result = new List<List<TimeSeries>>();
        foreach (var a in Rest(index))
            result.Add(a as List<TimeSeries> ?? throw Bad("arguments must be series lists"));
        return result;
    }

    public string AggFunc(int index, string name, string? dflt = null)
    {
        var f = Str(index, name, dflt);
        AggFuncs.Get(f);
        return f;
    }
}
