using System.Text;
using System.Text.RegularExpressions;

namespace Observe.Collector;

/// <summary>How scraped names become Graphite nodes and tags.</summary>
internal static class ScrapeNames
{
    public static bool IsNode(string s) => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    public static bool IsPath(string s) => s.Length > 0 && s.Split('.').All(IsNode);

    /// <summary>The default instance: host and port with <c>.</c> and <c>:</c> as <c>_</c> (Prometheus' <c>instance</c> label, one node).</summary>
    public static string InstanceOf(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) ? Node($"{u.Host}_{u.Port}") : "unknown";

    /// <summary>A JSON key or similar as one node: every character but letters, digits, <c>_</c> and <c>-</c> becomes <c>_</c>.</summary>
    public static void AppendNode(StringBuilder sb, ReadOnlySpan<char> s)
    {
        if (s.IsEmpty) { sb.Append('_'); return; }
        foreach (var c in s) sb.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '_');
    }

    public static string Node(string s)
    {
        var sb = new StringBuilder(s.Length);
        AppendNode(sb, s);
        return sb.ToString();
    }

    /// <summary>A label value as a Graphite tag value: carbon refuses <c>;</c> anywhere and <c>~</c> first; white space and
    /// control characters would break the plaintext wire.</summary>
    public static char TagChar(char c, bool first) => c is ';' || char.IsWhiteSpace(c) || char.IsControl(c) || (first && c == '~') ? '_' : c;
}

/// <summary>Include/exclude globs over the path below the prefix: <c>*</c> within one node, <c>**</c> across nodes,
/// <c>?</c> one character, <c>{a,b}</c> alternatives. Matched by a non-backtracking regex (linear in the name).</summary>
internal sealed class ScrapeGlob
{
    private readonly Regex _regex;

    private ScrapeGlob(Regex regex) => _regex = regex;

    public static bool IsValid(string glob) => glob.Length is > 0 and <= 256 && ToRegex(glob) is not null;

    public static ScrapeGlob? Create(string glob) => ToRegex(glob) is { } r
        ? new ScrapeGlob(new Regex(r, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant)) : null;

    public bool IsMatch(ReadOnlySpan<char> path) => _regex.IsMatch(path);

    private static string? ToRegex(string glob)
    {
        var sb = new StringBuilder("^");
        var inBraces = false;
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            switch (c)
            {
                case '*' when i + 1 < glob.Length && glob[i + 1] == '*': sb.Append(".*"); i++; break;
                case '*': sb.Append("[^.]*"); break;
                case '?': sb.Append("[^.]"); break;
                case '{' when !inBraces: sb.Append("(?:"); inBraces = true; break;
                case '}' when inBraces: sb.Append(')'); inBraces = false; break;
                case ',' when inBraces: sb.Append('|'); break;
                case '{' or '}': return null;
                default: sb.Append(Regex.Escape(c.ToString())); break;
            }
        }
        return inBraces ? null : sb.Append('$').ToString();
    }
}
