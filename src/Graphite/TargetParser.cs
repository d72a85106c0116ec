using System.Globalization;
using System.Text;

namespace Observe.Storage.Graphite;

/// <summary>A parsed Graphite target expression (graphite-web render/grammar.py).</summary>
internal abstract record TargetNode(int Position);
internal sealed record PathNode(int Position, string Path) : TargetNode(Position);
/// <summary>
/// A function call. <see cref="Raw"/> (the call's own text, for seriesByTag) is cut from the target only when asked:
/// kept as a string per node, a deeply nested target held the square of its length.
/// <see cref="Depth"/> is the nesting depth of the subtree (a path or a literal is 0, <c>f(a)</c> is 1).
/// </summary>
internal sealed record CallNode(int Position, string Name, IReadOnlyList<TargetNode> Args,
    IReadOnlyList<KeyValuePair<string, TargetNode>> Kwargs, string Source, int End) : TargetNode(Position)
{
    public string Raw => Source[Position..End];
    public int Depth { get; } = 1 + Math.Max(Args.Count == 0 ? 0 : Args.Max(DepthOf), Kwargs.Count == 0 ? 0 : Kwargs.Max(k => DepthOf(k.Value)));

    public static int DepthOf(TargetNode n) => n is CallNode c ? c.Depth : 0;
}
internal sealed record NumberNode(int Position, double Value, bool IsInteger) : TargetNode(Position);
internal sealed record StringNode(int Position, string Value) : TargetNode(Position);
internal sealed record BoolNode(int Position, bool Value) : TargetNode(Position);
internal sealed record NoneNode(int Position) : TargetNode(Position);
internal sealed record InfinityNode(int Position) : TargetNode(Position);

/// <summary>
/// Recursive-descent parser for graphite-web's target grammar: metric paths (globs, <c>{a,b}</c>,
/// <c>[0-9]</c>, <c>\</c>-escapes, tags <c>name;k=v</c>), function calls with positional and keyword
/// arguments, numbers (int, float, scientific), quoted strings, booleans, <c>None</c>, <c>inf</c>, and
/// pipes (<c>a.b | scale(2)</c>). Errors are <see cref="GraphiteInputException"/> naming the position.
/// Nesting (calls in calls, and pipe chains, which nest too) is bounded by <c>maxDepth</c>: past it the target is a
/// 400 before the recursion gets anywhere near the end of the stack (a stack overflow ends a .NET process).
/// </summary>
internal sealed class TargetParser
{
    /// <summary>Default of <c>storage.render.maxDepth</c>; Grafana dashboards nest a handful of calls.</summary>
    public const int DefaultMaxDepth = 64;
    /// <summary>The most <c>storage.render.maxDepth</c> may be set to (the parser and evaluator recurse per level).</summary>
    public const int MaxDepthCeiling = 1000;
    /// <summary>How much of a bad target an error message quotes.</summary>
    private const int QuotedChars = 200;

    private const string Symbols = "(){},.'\"\\|";
    private readonly string _s;
    private readonly int _maxDepth;
    private int _p, _depth;

    private TargetParser(string s, int maxDepth) { _s = s; _maxDepth = Math.Clamp(maxDepth, 1, MaxDepthCeiling); }

    public static TargetNode Parse(string target, int maxDepth = DefaultMaxDepth)
    {
        var parser = new TargetParser(target, maxDepth);
        TargetNode node;
        // maxDepth keeps the recursion shallow; this is the backstop should a thread's stack be smaller than assumed
        try { node = parser.ParseExpression(); }
        catch (InsufficientExecutionStackException) { throw parser.TooDeep(); }
        parser.SkipWs();
        if (parser._p != target.Length)
            throw parser.Error($"unexpected '{target[parser._p]}'");
        return node;
    }

    private GraphiteInputException Error(string what) =>
        new($"Invalid target \"{(_s.Length > QuotedChars ? _s[..QuotedChars] + "…" : _s)}\": {what} at position {_p}");

    private GraphiteLimitException TooDeep() =>
        new("storage.render.maxDepth", Error($"functions nested more than {_maxDepth} deep (storage.render.maxDepth)").Message);

    private void SkipWs() { while (_p < _s.Length && char.IsWhiteSpace(_s[_p])) _p++; }

    private bool Peek(char c) { SkipWs(); return _p < _s.Length && _s[_p] == c; }

    private void Expect(char c)
    {
        SkipWs();
        if (_p >= _s.Length) throw Error($"expected '{c}' but the target ended");
        if (_s[_p] != c) throw Error($"expected '{c}' but found '{_s[_p]}'");
        _p++;
    }

    private TargetNode ParseExpression()
    {
        SkipWs();
        var node = ParseCallOrPath();
        // pipes: x | f(args) == f(x, args)
        while (true)
        {
            var save = _p;
            SkipWs();
            if (_p < _s.Length && _s[_p] == '|')
            {
                _p++;
                SkipWs();
                var start = _p;
                var name = Identifier();
                if (name == null || !Peek('(')) throw Error("expected a function call after '|'");
                var call = ParseCallRest(start, name);
                // x | f(y) is f(x, y): one level deeper than x, however long the chain
                node = new CallNode(call.Position, call.Name, [node, .. call.Args], call.Kwargs, call.Source, call.End);
                if (((CallNode)node).Depth > _maxDepth) throw TooDeep();
                continue;
            }
            _p = save;
            return node;
        }
    }

    private TargetNode ParseCallOrPath()
    {
        SkipWs();
        var start = _p;
        var name = Identifier();
        if (name != null && Peek('('))
            return ParseCallRest(start, name);
        _p = start;
        return ParsePath();
    }

    private string? Identifier()
    {
        var start = _p;
        if (_p < _s.Length && (char.IsAsciiLetter(_s[_p]) || _s[_p] == '_'))
        {
            _p++;
            while (_p < _s.Length && (char.IsAsciiLetterOrDigit(_s[_p]) || _s[_p] == '_')) _p++;
            return _s[start.._p];
        }
        return null;
    }

    private CallNode ParseCallRest(int start, string name)
    {
        if (++_depth > _maxDepth) throw TooDeep();
        System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
        Expect('(');
        var args = new List<TargetNode>();
        var kwargs = new List<KeyValuePair<string, TargetNode>>();
        if (!Peek(')'))
        {
            while (true)
            {
                SkipWs();
                var save = _p;
                var argName = Identifier();
                if (argName != null && Peek('=') && !(_p + 1 < _s.Length && _s[_p + 1] == '~'))
                {
                    _p++; // '='
                    kwargs.Add(new(argName, ParseArg()));
                }
                else
                {
                    _p = save;
                    if (kwargs.Count > 0) throw Error("positional argument after keyword argument");
                    args.Add(ParseArg());
                }
                SkipWs();
                if (Peek(',')) { _p++; continue; }
                break;
            }
        }
        Expect(')');
        _depth--;
        var node = new CallNode(start, name, args, kwargs, _s, _p);
        if (node.Depth > _maxDepth) throw TooDeep();
        return node;
    }

    private bool FollowedByArgEnd()
    {
        var q = _p;
        while (q < _s.Length && char.IsWhiteSpace(_s[q])) q++;
        return q >= _s.Length || _s[q] == ',' || _s[q] == ')';
    }

    private bool Keyword(string word)
    {
        if (_p + word.Length > _s.Length) return false;
        if (!string.Equals(_s.Substring(_p, word.Length), word, StringComparison.OrdinalIgnoreCase)) return false;
        var after = _p + word.Length;
        if (after < _s.Length && (char.IsAsciiLetterOrDigit(_s[after]) || _s[after] == '_' || _s[after] == '$')) return false;
        // a keyword is only a keyword when the argument ends there (else it is a path like true.x)
        var save = _p;
        _p = after;
        var ok = FollowedByArgEnd();
        _p = save;
        return ok;
    }

    private TargetNode ParseArg()
    {
        SkipWs();
        var start = _p;
        if (_p >= _s.Length) throw Error("expected an argument but the target ended");
        if (Keyword("true")) { _p += 4; return new BoolNode(start, true); }
        if (Keyword("false")) { _p += 5; return new BoolNode(start, false); }
        var num = TryNumber();
        if (num != null) return num;
        if (Keyword("none")) { _p += 4; return new NoneNode(start); }
        var c = _s[_p];
        if (c == '\'' || c == '"') return ParseString();
        if (Keyword("inf")) { _p += 3; return new InfinityNode(start); }
        return ParseExpression();
    }

    private NumberNode? TryNumber()
    {
        var start = _p;
        var q = _p;
        if (q < _s.Length && _s[q] == '-') q++;
        var digits = q;
        while (q < _s.Length && char.IsAsciiDigit(_s[q])) q++;
        if (q == digits) return null;
        var isInt = true;
        if (q + 1 < _s.Length && _s[q] == '.' && char.IsAsciiDigit(_s[q + 1]))
        {
            q++;
            while (q < _s.Length && char.IsAsciiDigit(_s[q])) q++;
            isInt = false;
        }
        if (q < _s.Length && (_s[q] == 'e' || _s[q] == 'E'))
        {
            var e = q + 1;
            if (e < _s.Length && _s[e] == '-') e++;
            var ed = e;
            while (e < _s.Length && char.IsAsciiDigit(_s[e])) e++;
            if (e > ed) { q = e; isInt = false; }
        }
        var save = _p;
        _p = q;
        if (!FollowedByArgEnd()) { _p = save; return null; }
        var text = _s[start..q];
        return new NumberNode(start, double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture), isInt);
    }

    private StringNode ParseString()
    {
        var start = _p;
        var quote = _s[_p++];
        var sb = new StringBuilder();
        while (true)
        {
            if (_p >= _s.Length) { _p = start; throw Error("unterminated string"); }
            var c = _s[_p++];
            if (c == '\\' && _p < _s.Length) { sb.Append(c).Append(_s[_p++]); continue; }
            if (c == quote) break;
            sb.Append(c);
        }
        // graphite-web keeps the raw text between the quotes (no unescaping)
        return new StringNode(start, sb.ToString());
    }

    private PathNode ParsePath()
    {
        SkipWs();
        var start = _p;
        var sb = new StringBuilder();
        while (true)
        {
            var elemStart = sb.Length;
            ParsePathElement(sb);
            if (sb.Length == elemStart)
            {
                if (_p >= _s.Length) throw Error("expected a metric path or function but the target ended");
                throw Error($"unexpected '{_s[_p]}'");
            }
            if (_p < _s.Length && _s[_p] == '.') { sb.Append('.'); _p++; continue; }
            break;
        }
        return new PathNode(start, sb.ToString());
    }

    private void ParsePathElement(StringBuilder sb)
    {
        while (_p < _s.Length)
        {
            var c = _s[_p];
            if (c == '\\' && _p + 1 < _s.Length && (Symbols.Contains(_s[_p + 1]) || _s[_p + 1] == '='))
            {
                sb.Append(_s[_p + 1]);
                _p += 2;
            }
            else if (c == '{')
            {
                var close = _s.IndexOf('}', _p);
                if (close < 0) throw Error("unterminated '{'");
                var inner = _s[(_p + 1)..close];
                if (inner.Length == 0 || inner.Any(ch => ch is '(' or ')' or '{' or '.' or '\'' or '"' or '|' || char.IsWhiteSpace(ch)))
                    throw Error("invalid '{…}' alternation");
                sb.Append('{').Append(inner).Append('}');
                _p = close + 1;
            }
            else if (!char.IsWhiteSpace(c) && !char.IsControl(c) && !Symbols.Contains(c))
            {
                sb.Append(c);
                _p++;
            }
            else break;
        }
    }
}
