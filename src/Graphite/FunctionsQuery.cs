using System.Globalization;
using System.Text.RegularExpressions;

namespace Observe.Storage.Graphite;

/// <summary>Functions of graphite-web 1.1.8 that evaluate further queries or generate lines (functions.py).</summary>
internal static partial class Evaluator
{
    private static void AddQueryFunctions(Action<string, Func<Call, object?>> add)
    {
        add("aliasQuery", AliasQuery);
        add("verticalLine", VerticalLine);
        foreach (var name in new[] { "randomWalkFunction", "randomWalk" })
            add(name, c =>
            {
                // random by nature: only the shape (name, times, a walk from 0 in steps under 0.5) matches graphite-web
                double current = 0;
                var s = Generated(c, c.Str(0, "name"), c.Int(1, "step", 60), _ => 0);
                for (var i = 0; i < s.Values.Count; i++) { s.Values[i] = current; current += Random.Shared.NextDouble() - 0.5; }
                return new List<TimeSeries> { s };
            });
        foreach (var name in new[] { "mapSeries", "map" })
            add(name, c =>
            {
                var nodes = c.Rest(1);
                var groups = new Dictionary<string, List<TimeSeries>>();
                var keys = new List<string>();
                foreach (var s in c.Series(0))
                {
                    var key = AggKey(s, nodes);
                    if (!groups.TryGetValue(key, out var g)) { groups[key] = g = []; keys.Add(key); }
                    g.Add(s);
                }
                return keys.Select(k => groups[k]).ToList(); // a list of series lists, for reduceSeries
            });
        foreach (var name in new[] { "reduceSeries", "reduce" })
            add(name, ReduceSeries);
        add("weightedAverage", WeightedAverage);
    }

    private static object? AliasQuery(Call c)
    {
        var re = PyRegex(c.Str(1, "search")); var repl = PyReplacement(c.Str(2, "replace")); var newName = c.Str(3, "newName");
        var l = c.Series(0);
        foreach (var s in l)
        {
            var query = re.Replace(s.Name, repl);
            var found = EvaluateTarget(c.Ctx with { Prefetched = null }, query);
            if (found.Count == 0) throw new GraphiteInputException("No series found with query: " + query);
            var current = AggFuncs.SafeLast(found[0].Points()) ?? throw new GraphiteInputException("Cannot get last value of series: " + found[0].Name);
            s.Name = PyPercentFormat(newName, current);
        }
        return l;
    }

    private static object? VerticalLine(Call c)
    {
        var ts = Date(c, 0, "ts") ?? throw new GraphiteInputException("verticalLine: ts is required");
        if (ts < c.Ctx.StartTime) throw new GraphiteInputException($"verticalLine(): timestamp {ts} exists before start of range");
        if (ts > c.Ctx.EndTime) throw new GraphiteInputException($"verticalLine(): timestamp {ts} exists after end of range");
        var label = c.Raw(1, "label", false) as string ?? "None";
        return new List<TimeSeries> { new(label, ts, ts, 1, [1.0, 1.0], c.Ctx.XFilesFactor) };
    }

    /// <summary>
    /// For each group of mapSeries' output, the series whose node reduceNode is one of the matchers, passed in matcher
    /// order, each as its own series list, to reduceFunction; the result is named prefix.reduce.function.
    /// </summary>
    private static List<TimeSeries> ReduceSeries(Call c)
    {
        var lists = c.Raw(0, "seriesLists") switch
        {
            List<List<TimeSeries>> ll => ll,
            List<TimeSeries> l => l.Select(s => new List<TimeSeries> { s }).ToList(),
            _ => throw new GraphiteInputException("reduceSeries: seriesLists must be series lists (mapSeries)"),
        };
        var function = c.Str(1, "reduceFunction");
        if (!Functions.TryGetValue(function, out var fn)) throw new GraphiteInputException($"reduceSeries: unknown function '{function}'");
        var reduceNode = c.Int(2, "reduceNode");
        var matchers = c.Rest(3).Select(m => m as string ?? throw new GraphiteInputException("reduceSeries: matchers must be strings")).ToList();
        var groups = new Dictionary<string, TimeSeries?[]>();
        var keys = new List<string>();
        foreach (var s in lists.SelectMany(l => l))
        {
            var nodes = s.Name.Split('.');
            var idx = reduceNode < 0 ? nodes.Length + reduceNode : reduceNode;
            if (idx < 0 || idx >= nodes.Length) throw new GraphiteInputException($"reduceSeries: {s.Name} has no node {reduceNode}");
            var key = string.Join(".", nodes[..PySliceIndex(reduceNode, nodes.Length)]) + ".reduce." + function;
            var i = matchers.IndexOf(nodes[idx]);
            if (i < 0) continue;
            if (!groups.TryGetValue(key, out var g)) { groups[key] = g = new TimeSeries?[matchers.Count]; keys.Add(key); }
            g[i] = s;
        }
        var results = new List<TimeSeries>();
        foreach (var key in keys)
        {
            if (groups[key].Any(s => s == null)) throw new GraphiteInputException($"reduceSeries: {key} lacks a series for every matcher");
            var args = groups[key].Select(s => (object?)new List<TimeSeries> { s! }).ToList();
            var r = AsSeriesList(fn.Invoke(new Call(c.Ctx, c.Node, args, [], fn)), c.Node);
            if (r.Count == 0) continue;
            r[0].Name = key;
            results.Add(r[0]);
        }
        return results;
    }

    private static List<TimeSeries> WeightedAverage(Call c)
    {
        var avgs = c.Series(0, "seriesListAvg"); var weights = c.Series(1, "seriesListWeight"); var nodes = c.Rest(2);
        if (avgs.Count != weights.Count)
            throw new GraphiteInputException($"weightedAverage must receive the same number of series for seriesListAvg and seriesListWeight but received respectively {avgs.Count} and {weights.Count}");
        var byKey = new Dictionary<string, (TimeSeries? Avg, TimeSeries? Weight)>();
        var order = new List<string>();
        void Put(string key, TimeSeries? a, TimeSeries? w)
        {
            if (!byKey.TryGetValue(key, out var e)) { order.Add(key); e = (null, null); }
            byKey[key] = (a ?? e.Avg, w ?? e.Weight);
        }
        for (var i = 0; i < avgs.Count; i++) { Put(AggKey(avgs[i], nodes), avgs[i], null); Put(AggKey(weights[i], nodes), null, weights[i]); }
        var products = new List<TimeSeries>();
        foreach (var key in order)
        {
            if (byKey[key] is not ({ } a, { } w)) continue;
            var ap = a.Points(); var wp = w.Points();
            var vals = Enumerable.Range(0, Math.Max(ap.Count, wp.Count))
                .Select(i => i < ap.Count && i < wp.Count && ap[i] is { } x && wp[i] is { } y ? x * y : (double?)null).ToList();
            products.Add(new TimeSeries($"product({w.Name},{a.Name})", a.Start, a.End, a.Step, vals, c.Ctx.XFilesFactor));
        }
        if (products.Count == 0) return [];
        var sumProducts = Aggregate(c.Ctx, [products], "sum")[0];
        var sumWeights = Aggregate(c.Ctx, [weights], "sum")[0];
        var p = sumProducts.Points(); var q = sumWeights.Points();
        var values = Enumerable.Range(0, Math.Max(p.Count, q.Count)).Select(i => AggFuncs.SafeDiv(i < p.Count ? p[i] : null, i < q.Count ? q[i] : null)).ToList();
        static string Paths(List<TimeSeries> l) => string.Join(",", l.Select(s => s.PathExpression).Distinct().Order(StringComparer.Ordinal));
        var name = $"weightedAverage({Paths(avgs)}, {Paths(weights)}, {string.Join(",", nodes.Select(Py.Str))})";
        return [new TimeSeries(name, sumProducts.Start, sumProducts.End, sumProducts.Step, values, c.Ctx.XFilesFactor)];
    }

    /// <summary>Python's <c>format % value</c> for one number: %d %i %f %e %g %s (flags, width, precision) and %%.</summary>
    internal static string PyPercentFormat(string format, double value) =>
        Regex.Replace(format, @"%([-+ 0#]*)(\d*)(?:\.(\d+))?([diufeEgGs%])", m =>
        {
            var conv = m.Groups[4].Value[0];
            if (conv == '%') return "%";
            var precision = m.Groups[3].Success ? int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture) : 6;
            var body = conv switch
            {
                'd' or 'i' or 'u' => Py.D(value),
                'f' => PyRound(value, precision).ToString("F" + precision, CultureInfo.InvariantCulture),
                'e' or 'E' => value.ToString((conv == 'e' ? "0." + new string('0', precision) + "e+00" : "0." + new string('0', precision) + "E+00"), CultureInfo.InvariantCulture),
                'g' or 'G' => Py.G(value),
                _ => Py.Repr(value),
            };
            if (m.Groups[1].Value.Contains('+') && value >= 0) body = "+" + body;
            var width = m.Groups[2].Value.Length > 0 ? int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) : 0;
            return m.Groups[1].Value.Contains('-') ? body.PadRight(width) : body.PadLeft(width, m.Groups[1].Value.Contains('0') ? '0' : ' ');
        });
}
