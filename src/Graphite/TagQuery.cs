using System.Text.RegularExpressions;

namespace Observe.Storage.Graphite;

/// <summary>graphite-web tag expressions (<c>tag=v</c>, <c>tag!=v</c>, <c>tag=~re</c>, <c>tag!=~re</c>) over tagged series.</summary>
internal static class TagQuery
{
    public static (string Tag, string Op, string Spec) ParseTagSpec(string spec)
    {
        var m = Regex.Match(spec, "^([^;!=]+)(!?=~?)([^;]*)$");
        if (!m.Success) throw new GraphiteInputException($"Invalid tagspec {spec}");
        return (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value);
    }

    /// <summary>Canonical tagged path <c>name;k1=v1;k2=v2</c> (tags sorted).</summary>
    public static string Format(IReadOnlyDictionary<string, string> tags) =>
        tags.GetValueOrDefault("name", "") + string.Concat(tags.Where(t => t.Key != "name").Select(t => $";{t.Key}={t.Value}").OrderBy(x => x, StringComparer.Ordinal));

    public static Dictionary<string, string>? Parse(string path)
    {
        var segments = path.Split(';');
        if (segments[0].Length == 0) return null;
        var tags = new Dictionary<string, string>();
        foreach (var seg in segments.Skip(1))
        {
            var kv = seg.Split('=', 2);
            if (kv.Length != 2 || kv[0].Length == 0 || kv[1].Length == 0) return null;
            tags[kv[0]] = kv[1];
        }
        tags["name"] = segments[0].TrimStart('~');
        return tags;
    }

    private static Regex Anchored(string spec) => new("^(?:" + spec + ")", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    /// <summary>Series matching every expression; <paramref name="budget"/>'s time limit is checked per series (user regexes, each up to 1 s).</summary>
    public static List<string> FindSeries(IEnumerable<string> tagged, IReadOnlyList<string> exprs, RenderBudget? budget = null)
    {
        var filters = exprs.Select(ParseTagSpec).Select(f => (f.Tag, f.Op, f.Spec, Re: f.Op.EndsWith('~') ? Anchored(f.Spec) : null)).ToList();
        if (!filters.Any(f => (f.Op == "=" && f.Spec != "") || (f.Op == "=~" && !f.Re!.IsMatch(""))))
            throw new GraphiteInputException("At least one tagspec must not match the empty string");
        var result = new List<string>();
        foreach (var path in tagged)
        {
            budget?.CheckTime();
            var tags = Parse(path);
            if (tags == null) continue;
            var ok = true;
            foreach (var f in filters)
            {
                var value = tags.GetValueOrDefault(f.Tag, "");
                if ((f.Op == "=" && value != f.Spec) || (f.Op == "=~" && !f.Re!.IsMatch(value))
                    || (f.Op == "!=" && value == f.Spec) || (f.Op == "!=~" && f.Re!.IsMatch(value)))
                { ok = false; break; }
            }
            if (ok) result.Add(Format(tags));
        }
        result.Sort(StringComparer.Ordinal);
        return result.Distinct().ToList();
    }
}
