using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>The provisioned Grafana dashboards (dashboards/grafana/*.json) read as Grafana reads them, for the lint and live-query tests.</summary>
internal static partial class GrafanaDashboards
{
    public static readonly string Dir = Path.Combine(Repo.Root, "dashboards");

    public static IReadOnlyList<(string File, JsonObject Model)> Load() =>
        Directory.GetFiles(Path.Combine(Dir, "grafana"), "*.json").Order(StringComparer.Ordinal)
            .Select(f => (Path.GetFileName(f), JsonNode.Parse(File.ReadAllText(f))!.AsObject())).ToList();

    /// <summary>The uid the data source provisioning file gives Observe's Graphite data source.</summary>
    public static string ProvisionedDatasourceUid()
    {
        var yaml = new YamlDotNet.RepresentationModel.YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Path.Combine(Dir, "provisioning", "datasources", "observe.yaml"))));
        var root = (YamlDotNet.RepresentationModel.YamlMappingNode)yaml.Documents[0].RootNode;
        var ds = (YamlDotNet.RepresentationModel.YamlMappingNode)((YamlDotNet.RepresentationModel.YamlSequenceNode)root["datasources"]).Children.Single();
        Assert.Equal("graphite", ds["type"].ToString());
        return ds["uid"].ToString();
    }

    public static IEnumerable<JsonObject> Panels(JsonObject dashboard) =>
        dashboard["panels"]!.AsArray().Select(p => p!.AsObject())
            .SelectMany(p => p["panels"] is JsonArray nested ? [p, .. nested.Select(n => n!.AsObject())] : new[] { p });

    public static IEnumerable<JsonObject> Variables(JsonObject dashboard) =>
        dashboard["templating"]?["list"]?.AsArray().Select(v => v!.AsObject()) ?? [];

    public static IEnumerable<JsonObject> Annotations(JsonObject dashboard) =>
        dashboard["annotations"]?["list"]?.AsArray().Select(a => a!.AsObject()) ?? [];

    /// <summary>A Graphite variable's query: a string, or the query object's <c>target</c>.</summary>
    public static string VariableQuery(JsonObject variable) =>
        variable["query"] is JsonValue v ? v.GetValue<string>() : variable["query"]!["target"]!.GetValue<string>();

    /// <summary>Grafana's variable regex (<c>/pattern/flags</c>) applied to a found value: the first group if it has one, else the value; null when it does not match.</summary>
    public static string? ApplyVariableRegex(JsonObject variable, string value)
    {
        var text = variable["regex"]?.GetValue<string>() ?? "";
        if (text.Length == 0) return value;
        var last = text.LastIndexOf('/');
        var options = text[(last + 1)..].Contains('i') ? RegexOptions.IgnoreCase : RegexOptions.None;
        var m = Regex.Match(value, text[1..last], options);
        return !m.Success ? null : m.Groups.Count > 1 ? m.Groups[1].Value : value;
    }

    /// <summary>Every variable reference Grafana expands: <c>$name</c>, <c>${name}</c>, <c>${name:format}</c>, <c>[[name]]</c>.</summary>
    [GeneratedRegex(@"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")]
    public static partial Regex VariableReference();

    public static IEnumerable<string> References(string text) =>
        VariableReference().Matches(text).Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value)
            .Where(n => !n.StartsWith("__", StringComparison.Ordinal));

    public static string Substitute(string text, IReadOnlyDictionary<string, string> values) =>
        VariableReference().Replace(text, m =>
        {
            var name = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value;
            return values.TryGetValue(name, out var v) ? v : m.Value;
        });

    /// <summary>
    /// Grafana's Graphite <c>translateTime</c> on a raw range string, as it sends it for annotations (<c>/events/get_data</c>):
    /// <c>now-6h</c> → <c>-6h</c>, <c>now-30m</c> → <c>-30min</c> (first <c>m</c> only, as JavaScript's replace).
    /// </summary>
    public static string GraphiteTime(string grafanaTime)
    {
        if (grafanaTime == "now") return "now";
        Assert.True(grafanaTime.StartsWith("now-", StringComparison.Ordinal) && !grafanaTime.Contains('/'), $"only relative dashboard times are supported here: {grafanaTime}");
        var rel = grafanaTime[3..];
        var i = rel.IndexOf('m');
        if (i >= 0) rel = rel[..i] + "min" + rel[(i + 1)..];
        i = rel.IndexOf('M');
        if (i >= 0) rel = rel[..i] + "mon" + rel[(i + 1)..];
        return rel;
    }

    /// <summary>
    /// Grafana's Graphite <c>translateTime</c> on the parsed range, as it sends it to <c>/render</c> and <c>/metrics/find</c>:
    /// Unix seconds, <c>from</c> one second earlier and <c>until</c> one second later unless on a whole second.
    /// </summary>
    public static (long From, long Until) GraphiteRange(string grafanaFrom, string grafanaTo, DateTimeOffset now)
    {
        static DateTimeOffset Parse(string t, DateTimeOffset now)
        {
            if (t == "now") return now;
            var m = Regex.Match(t, @"^now-(\d+)([smhdw])$");
            Assert.True(m.Success, $"only now-<n><s|m|h|d|w> dashboard times are supported here: {t}");
            var n = int.Parse(m.Groups[1].Value);
            return now - m.Groups[2].Value switch
            {
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                "h" => TimeSpan.FromHours(n),
                "d" => TimeSpan.FromDays(n),
                _ => TimeSpan.FromDays(7 * n),
            };
        }
        var from = Parse(grafanaFrom, now);
        var until = Parse(grafanaTo, now);
        if (from.Second != 0) from = from.AddSeconds(-1);
        if (until.Second != 0) until = until.AddSeconds(1);
        return (from.ToUnixTimeSeconds(), until.ToUnixTimeSeconds());
    }
}
