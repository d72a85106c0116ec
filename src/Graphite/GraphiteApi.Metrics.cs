using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Observe.Storage.Graphite;

/// <summary>/metrics/find, /metrics/expand and /metrics/index.json (graphite-web metrics/views.py).</summary>
public static partial class GraphiteApi
{
    private static string NodeName(string path) { var i = path.LastIndexOf('.'); return i < 0 ? path : path[(i + 1)..]; }

    private static IResult Find(Params p, ISeriesReader reader)
    {
        var format = p.Get("format") ?? "treejson";
        var wildcards = ParamInt(p, "wildcards", 0) != 0;
        var leavesOnly = ParamInt(p, "leavesOnly", 0) != 0;
        var query = p.Get("query") ?? throw new GraphiteInputException("Missing required parameter 'query'");
        if (query.Length == 0) throw new GraphiteInputException("Required parameter 'query' is empty");
        var basePath = query.Contains('.') ? query[..(query.LastIndexOf('.') + 1)] : "";
        if (format == "completer")
        {
            query = query.Replace("..", "*.");
            if (!query.EndsWith('*')) query += "*";
        }
        var matches = reader.Find(query).Where(n => !leavesOnly || n.IsLeaf)
            .OrderBy(n => NodeName(n.Path), StringComparer.Ordinal).ToList();
        switch (format)
        {
            case "treejson":
                {
                    var results = new List<Dictionary<string, object>>();
                    if (matches.Count > 1 && wildcards)
                    {
                        var w = new Dictionary<string, object> { ["text"] = "*", ["id"] = basePath + "*" };
                        var branch = matches.Any(n => !n.IsLeaf);
                        w["allowChildren"] = branch ? 1 : 0; w["expandable"] = branch ? 1 : 0; w["leaf"] = branch ? 0 : 1;
                        results.Add(w);
                    }
                    var found = new HashSet<string>();
                    var leaves = new List<Dictionary<string, object>>();
                    var branches = new List<Dictionary<string, object>>();
                    foreach (var n in matches)
                    {
                        var name = NodeName(n.Path);
                        if (!found.Add(name)) continue;
                        var node = new Dictionary<string, object>
                        {
                            ["text"] = Uri.UnescapeDataString(name.Replace('+', ' ')),
                            ["id"] = basePath + name,
                            ["allowChildren"] = n.IsLeaf ? 0 : 1,
                            ["expandable"] = n.IsLeaf ? 0 : 1,
                            ["leaf"] = n.IsLeaf ? 1 : 0,
                        };
                        (n.IsLeaf ? leaves : branches).Add(node);
                    }
                    results.AddRange(branches);
                    results.AddRange(leaves);
                    return JsonP(p, results);
                }
            case "completer":
                {
                    var results = new List<Dictionary<string, string>>();
                    foreach (var n in matches)
                        results.Add(new() { ["path"] = n.IsLeaf ? n.Path : n.Path + ".", ["name"] = NodeName(n.Path), ["is_leaf"] = n.IsLeaf ? "1" : "0" });
                    if (results.Count > 1 && wildcards) results.Add(new() { ["name"] = "*" });
                    return JsonP(p, new Dictionary<string, object> { ["metrics"] = results });
                }
            case "nodelist":
                {
                    var pos = ParamInt(p, "position", -1);
                    var found = new SortedSet<string>(StringComparer.Ordinal);
                    foreach (var n in matches)
                    {
                        var parts = n.Path.Split('.');
                        var k = pos < 0 ? parts.Length + pos : pos;
                        if (k < 0 || k >= parts.Length) throw new GraphiteInputException("position out of range");
                        found.Add(parts[k]);
                    }
                    return JsonP(p, new Dictionary<string, object> { ["nodes"] = found.ToList() });
                }
            case "json":
                return JsonP(p, matches.Select(n => new Dictionary<string, object> { ["path"] = n.Path, ["is_leaf"] = n.IsLeaf }).ToList());
            default:
                throw new GraphiteInputException("Invalid value for 'format' parameter");
        }
    }

    private static IResult JsonP(Params p, object value)
    {
        var json = JsonSerializer.Serialize(value);
        return p.Get("jsonp") is { Length: > 0 } cb ? Results.Text($"{cb}({json})", "text/javascript") : Results.Text(json, "application/json");
    }

    private static int ParamInt(Params p, string name, int dflt)
    {
        var v = p.Get(name);
        if (v == null) return dflt;
        return int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) ? i
            : throw new GraphiteInputException($"Invalid int value '{v}' for param {name}");
    }

    private static IResult Expand(Params p, ISeriesReader reader, int maxFindResults)
    {
        var groupByExpr = ParamInt(p, "groupByExpr", 0) != 0;
        var leavesOnly = ParamInt(p, "leavesOnly", 0) != 0;
        var results = new Dictionary<string, SortedSet<string>>();
        long total = 0;
        foreach (var q in p.GetList("query"))
        {
            results[q] = new SortedSet<string>(reader.Find(q).Where(n => n.IsLeaf || !leavesOnly).Select(n => n.Path), StringComparer.Ordinal);
            // Each pattern is bounded by the store; many patterns in one request are bounded together.
            if ((total += results[q].Count) > maxFindResults)
                throw new GraphiteLimitException("storage.maxFindResults",
                    $"the patterns of this request match more than {maxFindResults} paths together (storage.maxFindResults)");
        }
        object body = groupByExpr
            ? results.ToDictionary(r => r.Key, r => r.Value.ToList())
            : results.Values.SelectMany(s => s).Distinct().OrderBy(x => x, StringComparer.Ordinal).ToList();
        return JsonP(p, new Dictionary<string, object> { ["results"] = body });
    }

    internal static List<string> Index(ISeriesReader reader)
    {
        var leaves = new List<string>();
        var queue = new Queue<string>();
        queue.Enqueue("*");
        var seen = new HashSet<string>();
        while (queue.Count > 0)
        {
            foreach (var n in reader.Find(queue.Dequeue()))
            {
                if (n.IsLeaf) leaves.Add(n.Path);
                else if (seen.Add(n.Path)) queue.Enqueue(n.Path + ".*");
            }
        }
        leaves.Sort(StringComparer.Ordinal);
        return leaves.Distinct().ToList();
    }
}
