using Microsoft.AspNetCore.Http;

namespace Observe.Storage.Graphite;

/// <summary>
/// <c>/functions</c> and <c>/functions/&lt;name&gt;</c> as graphite-web 1.1.8's functions/views.py answers them, from
/// <see cref="FunctionCatalog"/>: Grafana's function editor reads the groups, parameters, defaults and options.
/// </summary>
internal static class FunctionsEndpoint
{
    public static IResult List(GraphiteApi.Params p)
    {
        // graphite-web's PieFunctions (?type=pie) draw pie charts, which Observe does not render
        if (p.Get("type") == "pie") return Reply(new Dictionary<string, object?>(), p);
        var grouped = (p.Get("grouped") ?? "").ToLowerInvariant() is "1" or "true";
        var group = p.Get("group");
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var f in Evaluator.Functions.Values)
        {
            if (group != null && group != f.Group) continue;
            if (!grouped) { result[f.Name] = Info(f); continue; }
            if (!result.TryGetValue(f.Group, out var g)) result[f.Group] = g = new Dictionary<string, object?>(StringComparer.Ordinal);
            ((Dictionary<string, object?>)g!)[f.Name] = Info(f);
        }
        return Reply(result, p);
    }

    public static IResult Details(string name, GraphiteApi.Params p) =>
        p.Get("type") != "pie" && Evaluator.Functions.TryGetValue(name, out var f)
            ? Reply(Info(f), p)
            : Reply(new Dictionary<string, object?> { ["error"] = "Function not found: " + name }, p, 404);

    /// <summary>graphite-web's functionInfo, its keys in its order.</summary>
    internal static Dictionary<string, object?> Info(FunctionInfo f) => new()
    {
        ["name"] = f.Name,
        ["function"] = f.Signature,
        ["description"] = f.Description,
        ["module"] = "graphite.render.functions",
        ["group"] = f.Group,
        ["params"] = f.Params.Select(ParamJson).ToList(),
    };

    /// <summary>graphite-web's Param.toJSON: optional keys only when set.</summary>
    private static Dictionary<string, object?> ParamJson(Param p)
    {
        var d = new Dictionary<string, object?> { ["name"] = p.Name, ["type"] = p.TypeName };
        if (p.Required) d["required"] = true;
        if (p.Default != null) d["default"] = p.Default;
        if (p.Multiple) d["multiple"] = true;
        var options = FunctionInfo.OptionsOf(p);
        if (options.Count > 0) d["options"] = options;
        if (p.Suggestions is { Length: > 0 }) d["suggestions"] = p.Suggestions;
        return d;
    }

    // graphite-web's jsonResponse: ?pretty indents by 2 and sorts the keys; it has no jsonp for these views
    private static IResult Reply(object value, GraphiteApi.Params p, int status = 200)
    {
        var sb = new System.Text.StringBuilder(1 << 16);
        PyJson.Write(sb, value, pretty: !string.IsNullOrEmpty(p.Get("pretty")));
        return Results.Text(sb.ToString(), "application/json", statusCode: status);
    }
}
