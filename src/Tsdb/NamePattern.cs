using System.Text.RegularExpressions;

namespace Observe.Storage.Tsdb;

/// <summary>
/// One storage-schemas or storage-aggregation pattern, matched exactly as <see cref="Regex.IsMatch(string)"/> would (issue 21:
/// restart). Most rules are an anchored literal (<c>^stats</c>, <c>\.count$</c>, <c>^stats\.gauges\.</c>): those are ordinal
/// string comparisons, and only the others become a compiled regex, whose construction (Reflection.Emit and JIT, which the
/// ReadyToRun file cannot hold) and evaluation for every series were on the critical path of each open.
/// </summary>
internal sealed class NamePattern
{
    private enum Form { Regex, Prefix, Suffix, Exact, Contains }

    private readonly Form _form;
    private readonly string _literal;
    private readonly Regex? _regex;

    private NamePattern(Form form, string literal, Regex? regex) => (_form, _literal, _regex) = (form, literal, regex);

    /// <summary>The pattern's matcher; null when it matches every name (<c>""</c> or <c>.*</c>, the usual catch-all).</summary>
    public static NamePattern? Of(string pattern)
    {
        if (pattern is "" or ".*") return null;
        bool start = pattern.StartsWith('^');
        bool end = pattern.Length > (start ? 1 : 0) && pattern.EndsWith('$') && !Escaped(pattern, pattern.Length - 1);
        var body = pattern.AsSpan(start ? 1 : 0, pattern.Length - (start ? 1 : 0) - (end ? 1 : 0));
        if (Literal(body) is { } literal)
            return new(start && end ? Form.Exact : start ? Form.Prefix : end ? Form.Suffix : Form.Contains, literal, null);
        return new(Form.Regex, "", new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled));
    }

    // .NET's '$' (no Multiline) matches at the end and before a final '\n'; '^' only at the start.
    public bool IsMatch(string name) => _form switch
    {
        Form.Prefix => name.StartsWith(_literal, StringComparison.Ordinal),
        Form.Suffix => name.EndsWith(_literal, StringComparison.Ordinal) || (name.EndsWith('\n') && name.AsSpan(0, name.Length - 1).EndsWith(_literal, StringComparison.Ordinal)),
        Form.Exact => name == _literal || (name.Length == _literal.Length + 1 && name[^1] == '\n' && name.StartsWith(_literal, StringComparison.Ordinal)),
        Form.Contains => name.Contains(_literal, StringComparison.Ordinal),
        _ => _regex!.IsMatch(name),
    };

    /// <summary>True when the character at <paramref name="i"/> follows an odd number of backslashes.</summary>
    private static bool Escaped(string pattern, int i)
    {
        int n = 0;
        while (i - n - 1 >= 0 && pattern[i - n - 1] == '\\') n++;
        return n % 2 == 1;
    }

    private const string Special = @".$^{[(|)*+?\";

    /// <summary>The text <paramref name="body"/> matches when it is a plain literal (escaped punctuation allowed); else null.</summary>
    private static string? Literal(ReadOnlySpan<char> body)
    {
        var s = new System.Text.StringBuilder(body.Length);
        for (int i = 0; i < body.Length; i++)
        {
            char c = body[i];
            if (c == '\\')
            {
                // Only an escaped metacharacter or '/', '-' is a literal: \d, \b, \x41, \1… are not.
                if (++i == body.Length || (Special.IndexOf(body[i]) < 0 && body[i] is not ('/' or '-' or ']' or '}'))) return null;
                s.Append(body[i]);
            }
            else if (Special.IndexOf(c) >= 0 || c is '#' or ' ' or '\t' or '\n' or '\r') return null;
            else s.Append(c);
        }
        return s.ToString();
    }
}
