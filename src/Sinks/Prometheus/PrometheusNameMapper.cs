using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;

namespace Observe.Storage.Sinks.Prometheus;

/// <summary>A Prometheus series: a valid metric name and its labels (valid names, sorted ordinally, without <c>__name__</c>).</summary>
internal sealed record PrometheusSeries(string Name, KeyValuePair<string, string>[] Labels)
{
    /// <summary>A key unique per name + label set (two Graphite paths may map to the same series).</summary>
    public string Key { get; } = BuildKey(Name, Labels);

    private static string BuildKey(string name, KeyValuePair<string, string>[] labels)
    {
        if (labels.Length == 0) return name;
        var sb = new StringBuilder(name);
        foreach (var (k, v) in labels) sb.Append('\0').Append(k).Append('\0').Append(v);
        return sb.ToString();
    }
}

/// <summary>
/// Graphite path (<c>name;k=v;…</c>) → Prometheus series, shared by remote-write and the <c>/metrics</c>
/// exposition so both name a series the same way. statsd_exporter's mapping semantics: glob rules
/// (<c>*</c> = <c>[^.]*</c>, whole path) in order, then regex rules in order (searched, not anchored);
/// the first match wins; <c>$1</c>/<c>${1}</c> expand captures in the name and label values.
/// Unmapped paths keep their name with every character outside <c>[a-zA-Z0-9_]</c> replaced by
/// <c>_</c> (so dots become underscores) and a leading digit prefixed with <c>_</c>. Graphite tags
/// become labels; a rule's labels win over a tag of the same name.
/// </summary>
internal sealed class PrometheusNameMapper
{
    private const int MaxCached = 200_000;
    private readonly Rule[] _rules;
    private readonly ConcurrentDictionary<string, PrometheusSeries?> _cache = new(StringComparer.Ordinal);

    private sealed record Rule(Regex Pattern, string? Name, KeyValuePair<string, string>[] Labels, bool Drop);

    public PrometheusNameMapper(IReadOnlyList<PrometheusMappingOptions> rules)
    {
        var globs = rules.Where(r => !IsRegex(r)).Select(r => Compile(r, GlobToRegex(r.Match)));
        var regexes = rules.Where(IsRegex).Select(r => Compile(r, r.Match));
        _rules = globs.Concat(regexes).ToArray();
    }

    public static PrometheusNameMapper Unmapped { get; } = new([]);

    private static bool IsRegex(PrometheusMappingOptions r) => string.Equals(r.MatchType, "regex", StringComparison.OrdinalIgnoreCase);

    private static Rule Compile(PrometheusMappingOptions r, string pattern) => new(
        new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled),
        r.Name,
        r.Labels.Select(kv => KeyValuePair.Create(kv.Key, kv.Value)).ToArray(),
        string.Equals(r.Action, "drop", StringComparison.OrdinalIgnoreCase));

    internal static string GlobToRegex(string glob) =>
        "^" + string.Join("([^.]*)", glob.Split('*').Select(Regex.Escape)) + "$";

    /// <summary>The series for <paramref name="graphitePath"/>, or null when a rule drops it or nothing valid is left.</summary>
    public PrometheusSeries? Map(string graphitePath)
    {
        if (_cache.TryGetValue(graphitePath, out var cached)) return cached;
        var mapped = MapUncached(graphitePath);
        // Bounded: a cardinality explosion costs recomputation, not memory.
        if (_cache.Count >= MaxCached) _cache.Clear();
        _cache[graphitePath] = mapped;
        return mapped;
    }

    private PrometheusSeries? MapUncached(string graphitePath)
    {
        var semi = graphitePath.IndexOf(';');
        var path = semi < 0 ? graphitePath : graphitePath[..semi];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (semi >= 0)
            foreach (var tag in graphitePath[(semi + 1)..].Split(';'))
            {
                var eq = tag.IndexOf('=');
                if (eq <= 0) continue;
                var key = SanitiseLabelName(tag[..eq]);
                if (key.Length > 0) labels[key] = tag[(eq + 1)..];
            }

        string name;
        Match? match = null;
        var rule = _rules.Length == 0 ? null : FirstMatch(path, out match);
        if (rule == null) name = SanitiseMetricName(path);
        else
        {
            if (rule.Drop) return null;
            name = SanitiseMetricName(Expand(rule.Name!, match!));
            foreach (var (k, v) in rule.Labels) labels[k] = Expand(v, match!);
        }
        if (name.Length == 0) return null;
        var sorted = labels.Where(kv => kv.Value.Length > 0) // Prometheus treats an empty value as no label
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
        return new PrometheusSeries(name, sorted);
    }

    private Rule? FirstMatch(string path, out Match? match)
    {
        foreach (var r in _rules)
        {
            var m = r.Pattern.Match(path);
            if (m.Success) { match = m; return r; }
        }
        match = null;
        return null;
    }

    private static readonly Regex Placeholder = new(@"\$\{(\d+)\}|\$(\d+)", RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <summary>Expands <c>${n}</c> and <c>$n</c> (digits only, so <c>$1_total</c> means capture 1 then "_total").</summary>
    internal static string Expand(string template, Match match) =>
        template.Contains('$')
            ? Placeholder.Replace(template, p =>
            {
                var n = int.Parse(p.Groups[1].Success ? p.Groups[1].Value : p.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                return n < match.Groups.Count ? match.Groups[n].Value : "";
            })
            : template;

    /// <summary><c>[a-zA-Z_][a-zA-Z0-9_]*</c>: anything else becomes <c>_</c>; a leading digit gets a <c>_</c> prefix.</summary>
    internal static string SanitiseMetricName(string s)
    {
        if (s.Length == 0) return s;
        var sb = new StringBuilder(s.Length + 1);
        if (char.IsAsciiDigit(s[0])) sb.Append('_');
        foreach (var c in s) sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        return sb.ToString();
    }

    /// <summary>Like metric names; names starting with <c>__</c> are reserved by Prometheus, so such a tag gets a <c>tag</c> prefix.</summary>
    internal static string SanitiseLabelName(string s)
    {
        var n = SanitiseMetricName(s);
        return n.StartsWith("__", StringComparison.Ordinal) ? "tag" + n : n;
    }

    internal static bool IsValidLabelName(string s) =>
        s.Length > 0 && !s.StartsWith("__", StringComparison.Ordinal) && !char.IsAsciiDigit(s[0]) && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    /// <summary>Problems in <paramref name="rules"/>, keyed by the path below <paramref name="prefix"/>.</summary>
    public static IEnumerable<(string Key, string Message)> Validate(IReadOnlyList<PrometheusMappingOptions> rules, string prefix)
    {
        for (var i = 0; i < rules.Count; i++)
        {
            var r = rules[i];
            var key = $"{prefix}[{i}]";
            if (string.IsNullOrEmpty(r.Match)) yield return ($"{key}.match", "required");
            var type = r.MatchType.ToLowerInvariant();
            if (type is not ("glob" or "regex")) yield return ($"{key}.matchType", $"'{r.MatchType}' is not glob or regex");
            else if (type == "regex" && !string.IsNullOrEmpty(r.Match))
            {
                string? error = null;
                try { _ = new Regex(r.Match); } catch (ArgumentException e) { error = e.Message; }
                if (error != null) yield return ($"{key}.match", $"invalid regular expression: {error}");
            }
            var action = r.Action.ToLowerInvariant();
            if (action is not ("map" or "drop")) yield return ($"{key}.action", $"'{r.Action}' is not map or drop");
            if (action == "map" && string.IsNullOrWhiteSpace(r.Name)) yield return ($"{key}.name", "required unless action is drop");
            foreach (var label in r.Labels.Keys)
                if (!IsValidLabelName(label)) yield return ($"{key}.labels.{label}", "not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)");
        }
    }
}
