using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Observe.Integration;

/// <summary>
/// Static checks of the provisioned dashboards that Grafana itself would catch (or silently get wrong) on import:
/// a valid JSON model of schemaVersion ≥ 38 (Grafana 10+), stable unique uids, unique panel ids, every query on the
/// provisioned data source by uid, a unit on every panel that draws series, no host names, no undefined variables.
/// </summary>
public partial class DashboardLintTests
{
    private static readonly string[] SeriesPanelTypes = ["timeseries", "state-timeline", "status-history", "stat", "gauge", "bargauge", "barchart"];
    private static readonly string[] KnownPanelTypes = [.. SeriesPanelTypes, "row", "text", "table"];

    /// <summary>Unit ids from Grafana's valueFormats (packages/grafana-data/src/valueFormats/categories.ts) that fit Observe's
    /// series; Grafana shows an unknown id as a bare suffix, so a typo would go unnoticed.</summary>
    private static readonly string[] GrafanaUnits =
    [
        "none", "short", "percent", "percentunit", "locale", "sci",
        "ns", "µs", "ms", "s", "m", "h", "d", "dtdurationms", "dtdurations",
        "cps", "ops", "reqps", "rps", "wps", "iops", "cpm", "opm", "rpm", "wpm",
        "pps", "bps", "Bps", "bits", "bytes", "decbits", "decbytes",
    ];

    [Fact]
    public void Every_dashboard_is_a_valid_Grafana_10_model_on_the_provisioned_datasource_with_units_and_no_hosts()
    {
        var uid = GrafanaDashboards.ProvisionedDatasourceUid();
        Assert.Equal("observe-graphite", uid);
        var dashboards = GrafanaDashboards.Load();
        Assert.Equal(["checks.json", "deploys.json", "front-end.json", "observe-itself.json", "service-overview.json"], dashboards.Select(d => d.File));
        var problems = new List<string>();
        void Check(bool ok, string file, string what) { if (!ok) problems.Add($"{file}: {what}"); }

        var uids = new HashSet<string>();
        foreach (var (file, d) in dashboards)
        {
            // The JSON model: what Grafana needs to import it, and a stable identity (uid ≤ 40 characters, id null).
            var dashUid = d["uid"]?.GetValue<string>() ?? "";
            Check(Regex.IsMatch(dashUid, "^[a-zA-Z0-9_-]{1,40}$"), file, $"uid '{dashUid}' must be 1–40 of [a-zA-Z0-9_-]");
            Check(uids.Add(dashUid), file, $"uid '{dashUid}' is used twice");
            Check(d["id"] is null, file, "id must be null (Grafana assigns it; a fixed id clashes on import)");
            Check(d["title"]?.GetValue<string>() is { Length: > 0 }, file, "title missing");
            Check(d["schemaVersion"]?.GetValue<int>() >= 38, file, $"schemaVersion {d["schemaVersion"]} < 38 (Grafana 10)");
            Check(d["time"]?["from"]?.GetValue<string>() is { Length: > 0 } && d["time"]?["to"]?.GetValue<string>() is { Length: > 0 }, file, "time range missing");
            Check(d["panels"] is JsonArray { Count: > 0 }, file, "no panels");
            Check(d["templating"]?["list"] is JsonArray, file, "templating.list missing");
            Check(d["annotations"]?["list"] is JsonArray, file, "annotations.list missing");

            var defined = GrafanaDashboards.Variables(d).Select(v => v["name"]!.GetValue<string>()).ToHashSet();
            var ids = new HashSet<int>();
            foreach (var p in GrafanaDashboards.Panels(d))
            {
                var id = p["id"]?.GetValue<int>() ?? -1;
                var title = p["title"]?.GetValue<string>() ?? "";
                var where = $"panel {id} '{title}'";
                Check(id > 0 && ids.Add(id), file, $"{where}: panel id missing or not unique");
                var type = p["type"]?.GetValue<string>() ?? "";
                Check(KnownPanelTypes.Contains(type), file, $"{where}: unknown panel type '{type}'");
                var g = p["gridPos"];
                Check(g?["h"] != null && g["w"] != null && g["x"] != null && g["y"] != null && g["x"]!.GetValue<int>() + g["w"]!.GetValue<int>() <= 24,
                    file, $"{where}: gridPos must have h, w, x, y within 24 columns");
                if (type is "row" or "text") continue;
                Check(p["datasource"]?["uid"]?.GetValue<string>() == uid && p["datasource"]?["type"]?.GetValue<string>() == "graphite", file, $"{where}: datasource is not {{graphite, {uid}}}");
                if (SeriesPanelTypes.Contains(type))
                {
                    var unit = p["fieldConfig"]?["defaults"]?["unit"]?.GetValue<string>() ?? "";
                    Check(unit.Length > 0, file, $"{where}: no unit (fieldConfig.defaults.unit)");
                    Check(unit.Length == 0 || GrafanaUnits.Contains(unit), file, $"{where}: '{unit}' is not a Grafana unit id");
                }
                var targets = p["targets"]?.AsArray() ?? [];
                Check(targets.Count > 0, file, $"{where}: no targets");
                var refIds = new HashSet<string>();
                foreach (var t in targets)
                {
                    Check(refIds.Add(t!["refId"]?.GetValue<string>() ?? ""), file, $"{where}: refId missing or repeated");
                    Check(t["datasource"]?["uid"]?.GetValue<string>() == uid, file, $"{where}: target {t["refId"]} not on datasource {uid}");
                    var target = t["target"]?.GetValue<string>() ?? "";
                    Check(target.Length > 0, file, $"{where}: empty target");
                    foreach (var name in GrafanaDashboards.References(target))
                        Check(defined.Contains(name), file, $"{where}: target uses undefined variable ${name}");
                }
            }
            foreach (var v in GrafanaDashboards.Variables(d))
            {
                var name = v["name"]!.GetValue<string>();
                Check(v["datasource"]?["uid"]?.GetValue<string>() == uid, file, $"variable {name}: datasource is not {uid}");
                Check(GrafanaDashboards.VariableQuery(v).Length > 0, file, $"variable {name}: empty query");
            }
            foreach (var a in GrafanaDashboards.Annotations(d))
            {
                var name = a["name"]?.GetValue<string>();
                Check(a["datasource"]?["uid"]?.GetValue<string>() == uid, file, $"annotation {name}: datasource is not {uid}");
                Check(a["target"]?["tags"] is JsonArray { Count: > 0 } || a["target"]?["target"]?.GetValue<string>() is { Length: > 0 }, file, $"annotation {name}: neither tags nor a target");
                foreach (var tag in a["target"]?["tags"]?.AsArray().Select(x => x!.GetValue<string>()) ?? [])
                    foreach (var n in GrafanaDashboards.References(tag)) Check(defined.Contains(n), file, $"annotation {name}: undefined variable ${n}");
            }

            // No host names or addresses anywhere: the data source (by uid) is the only way to Observe.
            var text = d.ToJsonString();
            foreach (Match m in HostLike().Matches(text)) problems.Add($"{file}: hard-coded host '{m.Value}'");
        }

        // The provisioning files name no host either: the URL and the dashboards' path come from the environment.
        foreach (var yaml in Directory.GetFiles(Path.Combine(GrafanaDashboards.Dir, "provisioning"), "*.yaml", SearchOption.AllDirectories))
        {
            var lines = File.ReadAllLines(yaml).Where(l => !l.TrimStart().StartsWith('#'));
            foreach (var line in lines)
                foreach (Match m in HostLike().Matches(line)) problems.Add($"{Path.GetFileName(yaml)}: hard-coded host '{m.Value}' in: {line.Trim()}");
        }
        Assert.Contains("url: ${OBSERVE_URL}", File.ReadAllText(Path.Combine(GrafanaDashboards.Dir, "provisioning", "datasources", "observe.yaml")));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_lint_catches_what_it_is_for()
    {
        // The host pattern is what the lint relies on: it must see URLs, addresses and localhost, and not Graphite paths or units.
        Assert.Matches(HostLike(), "\"url\": \"http://grafana.example.com:3000\"");
        Assert.Matches(HostLike(), "stats.10.0.0.1.requests");
        Assert.Matches(HostLike(), "localhost:8080");
        Assert.Matches(HostLike(), "graphite.internal");
        Assert.DoesNotMatch(HostLike(), "aliasByNode(stats.timers.$service.latency.upper_90, 2, 4)");
        Assert.DoesNotMatch(HostLike(), "\"unit\": \"reqps\"");
        Assert.Equal(["service", "env", "check"], GrafanaDashboards.References("a.$service.${env}.[[check]].$__interval"));
    }

    [GeneratedRegex(@"https?://|\blocalhost\b|\b\d{1,3}(\.\d{1,3}){3}\b|\b[a-z0-9-]+\.(com|net|org|io|local|lan|internal)\b", RegexOptions.IgnoreCase)]
    private static partial Regex HostLike();
}
