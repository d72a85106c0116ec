namespace Observe.Integration;

/// <summary>
/// The function calls in a render target, for coverage checks: each call's name, how many positional arguments it
/// gets (a piped series counts as the first) and which keywords it names. Strings are skipped, so a template such
/// as applyByNode's 'sumSeries(%.*)' is not a call.
/// </summary>
internal sealed record TargetCalls(string Function, int Positional, IReadOnlySet<string> Keywords)
{
    public static List<TargetCalls> Of(string target)
    {
        var calls = new List<TargetCalls>();
        var i = 0;
        Expr(target, ref i, calls);
        return calls;
    }

    private static void Expr(string s, ref int i, List<TargetCalls> calls)
    {
        Primary(s, ref i, calls, piped: false);
        while (true)
        {
            Ws(s, ref i);
            if (i >= s.Length || s[i] != '|') return;
            i++;
            Ws(s, ref i);
            Primary(s, ref i, calls, piped: true);
        }
    }

    /// <summary>Returns the keyword name when the primary is "name=value", else null.</summary>
    private static string? Primary(string s, ref int i, List<TargetCalls> calls, bool piped)
    {
        Ws(s, ref i);
        if (i < s.Length && s[i] is '\'' or '"')
        {
            var q = s[i++];
            while (i < s.Length && s[i] != q) i += s[i] == '\\' ? 2 : 1;
            i++;
            return null;
        }
        var start = i;
        var depth = 0;
        for (; i < s.Length; i++)
        {
            var c = s[i];
            if (c is '{' or '[') depth++;
            else if (c is '}' or ']') depth--;
            else if (depth == 0 && (c is '(' or ')' or ',' or '|' or '=' || char.IsWhiteSpace(c))) break;
        }
        var token = s[start..i];
        Ws(s, ref i);
        if (i < s.Length && s[i] == '=')
        {
            i++;
            Expr(s, ref i, calls);
            return token;
        }
        if (i >= s.Length || s[i] != '(') return null;
        i++;
        var positional = piped ? 1 : 0;
        var keywords = new HashSet<string>(StringComparer.Ordinal);
        var call = new TargetCalls(token, 0, keywords);
        var at = calls.Count;
        calls.Add(call);
        Ws(s, ref i);
        if (i < s.Length && s[i] == ')') i++;
        else
            while (i < s.Length)
            {
                var kw = ArgOrKeyword(s, ref i, calls);
                if (kw == null) positional++; else keywords.Add(kw);
                Ws(s, ref i);
                if (i < s.Length && s[i++] == ')') break;
            }
        calls[at] = call with { Positional = positional };
        return null;
    }

    private static string? ArgOrKeyword(string s, ref int i, List<TargetCalls> calls)
    {
        var kw = Primary(s, ref i, calls, piped: false);
        if (kw != null) return kw;
        while (true)
        {
            Ws(s, ref i);
            if (i >= s.Length || s[i] != '|') return null;
            i++;
            Primary(s, ref i, calls, piped: true);
        }
    }

    private static void Ws(string s, ref int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
    }
}
