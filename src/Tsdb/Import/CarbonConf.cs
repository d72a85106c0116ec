using System.Globalization;
using System.Text;
using Observe.Storage.Tsdb;

namespace Observe.Storage.Import;

/// <summary>
/// <c>observe import carbon-conf storage-schemas.conf [storage-aggregation.conf]</c>: carbon's rule files as the
/// equivalent <c>storage.schemas</c> / <c>storage.aggregation</c> YAML (docs/configuration.md), in carbon's order (first
/// match wins in both), with carbon's own fallbacks appended when no rule matches everything: <c>60s:7d</c> for
/// retention (carbon's defaultArchive) and average with xFilesFactor 0.5 (whisper's default). A rule without
/// xFilesFactor or aggregationMethod gets whisper's default for it, as carbon does.
/// </summary>
public static class CarbonConf
{
    /// <summary>Sections of a carbon rule file, in order: name and lower-cased keys (configparser lower-cases them).</summary>
    internal static List<(string Name, Dictionary<string, string> Keys)> ParseIni(string text, string file)
    {
        var sections = new List<(string, Dictionary<string, string>)>();
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';') continue;
            if (line[0] == '[')
            {
                if (!line.EndsWith(']')) throw new FormatException($"{file}:{lineNo}: section header without ']'");
                sections.Add((line[1..^1].Trim(), new Dictionary<string, string>(StringComparer.Ordinal)));
                continue;
            }
            int eq = line.IndexOfAny(['=', ':']);
            if (eq <= 0) throw new FormatException($"{file}:{lineNo}: expected 'key = value'");
            if (sections.Count == 0) throw new FormatException($"{file}:{lineNo}: key before the first [section]");
            sections[^1].Item2[line[..eq].Trim().ToLowerInvariant()] = line[(eq + 1)..].Trim();
        }
        return sections;
    }

    /// <summary>The <c>storage:</c> YAML; problems (a rule Observe cannot keep) become <c># skipped</c> comments and are listed in <paramref name="problems"/>.</summary>
    public static string ToObserveYaml(string schemasText, string? aggregationText, List<string> problems, string schemasFile = "storage-schemas.conf", string aggregationFile = "storage-aggregation.conf")
    {
        var y = new StringBuilder();
        y.Append(CultureInfo.InvariantCulture, $"# from {schemasFile}{(aggregationText != null ? $" and {aggregationFile}" : "")} by `observe import carbon-conf`; first match wins, as in carbon\n");
        y.Append("storage:\n  schemas:\n");
        bool catchAll = false;
        foreach (var (name, keys) in ParseIni(schemasText, schemasFile))
        {
            if (!keys.TryGetValue("pattern", out var pattern) || !keys.TryGetValue("retentions", out var retentions))
            {
                Skip(y, problems, $"{schemasFile} [{name}]: needs pattern and retentions");
                continue;
            }
            retentions = string.Join(',', retentions.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
            try { Schema.Parse(name, retentions); _ = new System.Text.RegularExpressions.Regex(pattern); }
            catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
            {
                Skip(y, problems, $"{schemasFile} [{name}]: {e.Message}");
                continue;
            }
            y.Append(CultureInfo.InvariantCulture, $"    - {{name: {Quote(name)}, pattern: {Quote(pattern)}, retentions: {Quote(retentions)}}}\n");
            catchAll |= MatchesEverything(pattern);
        }
        if (!catchAll) y.Append("    - {name: carbon_default, pattern: '.*', retentions: '60s:7d'}   # carbon's retention for unmatched metrics\n");
        if (aggregationText == null) return y.ToString();
        y.Append("  aggregation:\n");
        catchAll = false;
        foreach (var (name, keys) in ParseIni(aggregationText, aggregationFile))
        {
            if (!keys.TryGetValue("pattern", out var pattern)) { Skip(y, problems, $"{aggregationFile} [{name}]: needs a pattern"); continue; }
            var method = keys.GetValueOrDefault("aggregationmethod", "average");
            var xffText = keys.GetValueOrDefault("xfilesfactor", "0.5");
            try
            {
                Aggregation.ParseMethod(method);
                _ = new System.Text.RegularExpressions.Regex(pattern);
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                Skip(y, problems, $"{aggregationFile} [{name}]: {e.Message} (Observe rolls up with average, sum, min, max or last)");
                continue;
            }
            if (!double.TryParse(xffText, NumberStyles.Float, CultureInfo.InvariantCulture, out var xff) || xff is < 0 or > 1)
            {
                Skip(y, problems, $"{aggregationFile} [{name}]: xFilesFactor '{xffText}' is not between 0 and 1");
                continue;
            }
            y.Append(CultureInfo.InvariantCulture, $"    - {{name: {Quote(name)}, pattern: {Quote(pattern)}, xFilesFactor: {xff.ToString("R", CultureInfo.InvariantCulture)}, aggregationMethod: {method.Trim().ToLowerInvariant()}}}\n");
            catchAll |= MatchesEverything(pattern);
        }
        if (!catchAll) y.Append("    - {name: carbon_default, pattern: '.*', xFilesFactor: 0.5, aggregationMethod: average}   # whisper's default\n");
        return y.ToString();
    }

    private static bool MatchesEverything(string pattern) => pattern is ".*" or "^.*" or ".*$" or "^.*$" or "" or ".";

    private static void Skip(StringBuilder y, List<string> problems, string problem)
    {
        problems.Add(problem);
        y.Append("    # skipped: ").Append(problem.Replace('\n', ' ')).Append('\n');
    }

    /// <summary>A YAML single-quoted scalar (no escapes inside but '' for a quote, so regex backslashes stay as written).</summary>
    private static string Quote(string s) => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";
}
