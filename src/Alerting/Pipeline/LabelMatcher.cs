using System.Text.RegularExpressions;

namespace Observe.Alerting.Pipeline;

/// <summary>One Alertmanager-style label matcher: <c>name=value</c>, <c>name!=value</c>, <c>name=~regex</c>, <c>name!~regex</c>.
/// A missing label matches as the empty string; regexes are anchored.</summary>
internal sealed class LabelMatcher
{
    public string Name { get; }
    public string Op { get; }
    public string Value { get; }
    private readonly Regex? _regex;

    private LabelMatcher(string name, string op, string value)
    {
        Name = name; Op = op; Value = value;
        if (op is "=~" or "!~") _regex = new Regex($"^(?:{value})$", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
    }

    public static bool TryParse(string text, out LabelMatcher matcher, out string error)
    {
        matcher = null!;
        var s = text.Trim();
        var i = s.IndexOfAny(['=', '!']);
        if (i <= 0) { error = $"'{text}' is not a matcher (name=value, name!=value, name=~regex, name!~regex)"; return false; }
        var name = s[..i].Trim();
        var rest = s[i..];
        var op = rest.StartsWith("=~") ? "=~" : rest.StartsWith("!~") ? "!~" : rest.StartsWith("!=") ? "!=" : rest.StartsWith('=') ? "=" : null;
        if (op == null || name.Length == 0) { error = $"'{text}' is not a matcher (name=value, name!=value, name=~regex, name!~regex)"; return false; }
        var value = rest[op.Length..].Trim();
        if (value.Length >= 2 && value[0] == '"' && value[^1] == '"') value = value[1..^1];
        try { matcher = new LabelMatcher(name, op, value); }
        catch (ArgumentException e) { error = $"'{text}': bad regex: {e.Message}"; return false; }
        error = "";
        return true;
    }

    public static LabelMatcher Parse(string text) =>
        TryParse(text, out var m, out var err) ? m : throw new FormatException(err);

    public static List<LabelMatcher> ParseAll(IEnumerable<string> texts) => texts.Select(Parse).ToList();

    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        var v = labels.TryGetValue(Name, out var x) ? x : "";
        return Op switch
        {
            "=" => v == Value,
            "!=" => v != Value,
            "=~" => _regex!.IsMatch(v),
            _ => !_regex!.IsMatch(v),
        };
    }

    public static bool All(IReadOnlyList<LabelMatcher> matchers, IReadOnlyDictionary<string, string> labels)
    {
        foreach (var m in matchers) if (!m.Matches(labels)) return false;
        return true;
    }

    public override string ToString() => $"{Name}{Op}{Value}";
}
