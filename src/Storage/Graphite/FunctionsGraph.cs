namespace Observe.Storage.Graphite;

/// <summary>Presentation functions of graphite-web 1.1.8 whose effect shows in the JSON (names, tags, values).</summary>
internal static partial class Evaluator
{
    private static void AddGraphFunctions(Action<string, string, string[], Func<Call, object?>> add)
    {
        add("dashed", "Graph", ["seriesList", "dashLength"], c =>
        {
            var len = c.Double(1, "dashLength", 5);
            foreach (var s in c.Series(0)) { s.Tags["dashed"] = Py.Str(c.Raw(1, "dashLength", false, 5L)); s.Name = $"dashed({s.Name}, {Py.G(len)})"; }
            return c.Series(0);
        });
        add("secondYAxis", "Graph", ["seriesList"], c =>
        {
            foreach (var s in c.Series(0)) { s.Tags["secondYAxis"] = "1"; s.Name = $"secondYAxis({s.Name})"; }
            return c.Series(0);
        });
        add("stacked", "Graph", ["seriesList", "stack"], c =>
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
        });
    }
}
