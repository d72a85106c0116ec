namespace Observe.Storage.Tsdb;

/// <summary>
/// Graphite glob for one path node: <c>*</c>, <c>?</c>, <c>[a-z0-9]</c> (<c>[!x]</c> or <c>[^x]</c> negates), <c>{a,b}</c>
/// (nestable), mixed — the semantics of the regex translation it replaced, without its backtracking (seconds to forever
/// for <c>*a*a*a*a*a*a*a*b</c> against a long name). Braces are expanded (up to <see cref="MaxAlternatives"/>) and each
/// alternative, a run of fixed-width pieces between stars, is matched greedily: prefix and suffix in place, each
/// middle piece at its leftmost place (vectorised IndexOf for plain text) — at most name length × pattern length steps.
/// More alternatives than that run on a small automaton over sets of states (Thompson's construction), equally bounded.
/// Compiling is cheap, so nothing is cached: each find compiles its pattern nodes once (a cache of every pattern ever
/// asked for was memory that only grew).
/// </summary>
internal sealed class Glob
{
    private enum Op : byte { Char, Any, Class, Split, Jump, Match }

    private readonly record struct Inst(Op Op, char C = '\0', int X = 0, int Y = 0);

    /// <summary>Brace expansions matched piece by piece; beyond this many the automaton runs instead.</summary>
    private const int MaxAlternatives = 64;

    private readonly string? _literal;
    private readonly Inst[] _prog = [];
    private readonly List<(bool Negate, List<(char Lo, char Hi)> Ranges)> _classes = [];
    private readonly Alternative[]? _alternatives;

    private Glob(string pattern)
    {
        if (!HasWildcards(pattern)) { _literal = pattern; return; }
        var prog = new List<Inst>();
        try
        {
            var end = CompileSeq(pattern, 0, prog, topLevel: true);
            if (end != pattern.Length) throw new FormatException();
            prog.Add(new Inst(Op.Match));
            _prog = [.. prog];
        }
        catch (FormatException)
        {
            // What the regex translation did with a pattern it could not compile (an empty or reversed class): match it literally.
            _literal = pattern;
            _classes.Clear();
            return;
        }
        int at = 0;
        var expanded = ExpandSeq(pattern, ref at, topLevel: true);
        if (expanded != null) _alternatives = [.. expanded.Select(items => new Alternative(items))];
    }

    public static bool HasWildcards(string node) => node.AsSpan().IndexOfAny("*?[{") >= 0;

    public static Glob Compile(string pattern) => new(pattern);

    /// <summary>One-off match (tests, config): compiles <paramref name="pattern"/> each call.</summary>
    public static bool IsMatch(string pattern, string node) => Compile(pattern).IsMatch(node);

    /// <summary>
    /// Emits the sequence starting at <paramref name="i"/> up to the end, or (inside braces) up to the ',' or '}' that ends
    /// this alternative; returns the index of that delimiter (or the pattern's length).
    /// </summary>
    private int CompileSeq(string p, int i, List<Inst> prog, bool topLevel)
    {
        while (i < p.Length)
        {
            char c = p[i];
            switch (c)
            {
                case '*':
                    // L: split(L+1, L+3); L+1: any; L+2: jump L
                    int l = prog.Count;
                    prog.Add(new Inst(Op.Split, X: l + 1, Y: l + 3));
                    prog.Add(new Inst(Op.Any));
                    prog.Add(new Inst(Op.Jump, X: l));
                    i++;
                    break;
                case '?': prog.Add(new Inst(Op.Any)); i++; break;
                case '[':
                    int close = ClassEnd(p, i);
                    if (close < 0) { prog.Add(new Inst(Op.Char, '[')); i++; break; }
                    prog.Add(new Inst(Op.Class, X: ParseClass(p.AsSpan(i + 1, close - i - 1))));
                    i = close + 1;
                    break;
                case '{':
                    i = CompileAlternatives(p, i + 1, prog);
                    break;
                case '}' or ',' when !topLevel:
                    return i;
                default: prog.Add(new Inst(Op.Char, c)); i++; break;
            }
        }
        return i;
    }

    /// <summary>Alternatives after a '{' up to its '}' (an unclosed brace ends with the pattern, as the regex translation did).</summary>
    private int CompileAlternatives(string p, int i, List<Inst> prog)
    {
        var jumpsToEnd = new List<int>();
        while (true)
        {
            int split = prog.Count;
            prog.Add(default); // patched: split(this alternative, the next)
            int end = CompileSeq(p, i, prog, topLevel: false);
            jumpsToEnd.Add(prog.Count);
            prog.Add(default); // patched: jump past the last alternative
            prog[split] = new Inst(Op.Split, X: split + 1, Y: prog.Count);
            if (end < p.Length && p[end] == ',') { i = end + 1; continue; }
            // the last alternative: its split's second branch would try "nothing"; make it a dead end instead
            prog[split] = new Inst(Op.Jump, X: split + 1);
            foreach (var j in jumpsToEnd) prog[j] = new Inst(Op.Jump, X: prog.Count);
            return end < p.Length ? end + 1 : end;
        }
    }

    /// <summary>A class body as .NET's regex read it: '!' or '^' first negates, a-z ranges, '-' first or last literal.</summary>
    /// <summary>
    /// The ']' closing the class opened at <paramref name="open"/>, or -1. As fnmatch (graphite-web's matcher): a ']' first in
    /// the class (after an optional '!' or '^') is a member, not the end, so <c>[]!?]</c> is the class of ']', '!' and '?'.
    /// </summary>
    private static int ClassEnd(string p, int open)
    {
        int j = open + 1;
        if (j < p.Length && p[j] is '!' or '^') j++; // both negate here (as the regex translation did)
        if (j < p.Length && p[j] == ']') j++;
        return j < p.Length ? p.IndexOf(']', j) : -1;
    }

    private int ParseClass(ReadOnlySpan<char> body)
    {
        bool negate = false;
        if (body.Length > 0 && body[0] == '!') { negate = true; body = body[1..]; }
        else if (body.Length > 0 && body[0] == '^') { negate = true; body = body[1..]; }
        if (body.Length == 0) throw new FormatException("empty class");
        var ranges = new List<(char, char)>();
        for (int k = 0; k < body.Length; k++)
        {
            char lo = body[k];
            if (k + 2 < body.Length && body[k + 1] == '-')
            {
                char hi = body[k + 2];
                if (hi < lo) throw new FormatException("reversed range");
                ranges.Add((lo, hi));
                k += 2;
            }
            else ranges.Add((lo, lo));
        }
        _classes.Add((negate, ranges));
        return _classes.Count - 1;
    }

    public bool IsMatch(ReadOnlySpan<char> s)
    {
        if (_literal != null) return s.SequenceEqual(_literal);
        // '*' and '?' never match a newline (the regex '.'); the piecewise matcher lets '*' span anything
        if (_alternatives != null && s.IndexOf('\n') < 0)
        {
            foreach (var alt in _alternatives) if (alt.IsMatch(s, this)) return true;
            return false;
        }
        return RunAutomaton(s);
    }

    private bool RunAutomaton(ReadOnlySpan<char> s)
    {
        int n = _prog.Length;
        // Two state lists and a per-step mark: each state is added at most once per character.
        Span<int> bufA = n <= 256 ? stackalloc int[n] : new int[n];
        Span<int> bufB = n <= 256 ? stackalloc int[n] : new int[n];
        Span<int> mark = n <= 256 ? stackalloc int[n] : new int[n];
        mark.Fill(-1);
        int countA = 0, countB;
        AddState(bufA, ref countA, mark, 0, 0);
        var cur = bufA; var next = bufB;
        for (int pos = 0; pos < s.Length; pos++)
        {
            char ch = s[pos];
            countB = 0;
            for (int k = 0; k < countA; k++)
            {
                var inst = _prog[cur[k]];
                bool ok = inst.Op switch
                {
                    Op.Char => inst.C == ch,
                    Op.Any => ch != '\n', // as the regex '.' it replaced
                    Op.Class => InClass(inst.X, ch),
                    _ => false,
                };
                if (ok) AddState(next, ref countB, mark, cur[k] + 1, pos + 1);
            }
            if (countB == 0) return false;
            var t = cur; cur = next; next = t;
            countA = countB;
        }
        for (int k = 0; k < countA; k++) if (_prog[cur[k]].Op == Op.Match) return true;
        return false;
    }

    private void AddState(Span<int> list, ref int count, Span<int> mark, int pc, int step)
    {
        // Follows splits and jumps; an explicit stack keeps deep alternations off the call stack.
        Span<int> stack = stackalloc int[64];
        int[]? big = null;
        int sp = 0;
        stack[sp++] = pc;
        while (sp > 0)
        {
            int x = big != null ? big[--sp] : stack[--sp];
            if (mark[x] == step) continue;
            mark[x] = step;
            var inst = _prog[x];
            if (inst.Op is Op.Split or Op.Jump)
            {
                int need = sp + 2;
                if (big == null && need > stack.Length) { big = new int[_prog.Length * 2 + 2]; stack[..sp].CopyTo(big); }
                if (inst.Op == Op.Split)
                {
                    if (big != null) { big[sp++] = inst.Y; big[sp++] = inst.X; }
                    else { stack[sp++] = inst.Y; stack[sp++] = inst.X; }
                }
                else if (big != null) big[sp++] = inst.X;
                else stack[sp++] = inst.X;
                continue;
            }
            list[count++] = x;
        }
    }

    // ---------------- brace expansion and piecewise matching ----------------

    private enum Kind : byte { Char, Any, Class, Star }

    private readonly record struct Item(Kind Kind, char C = '\0', int Class = 0);

    /// <summary>
    /// Every expansion of the sequence at <paramref name="i"/> (up to the ',' or '}' ending it inside braces) as items,
    /// parsed as <see cref="CompileSeq"/> does; null when there would be more than <see cref="MaxAlternatives"/>.
    /// </summary>
    private List<List<Item>>? ExpandSeq(string p, ref int i, bool topLevel)
    {
        var acc = new List<List<Item>> { new() };
        void Append(Item item) { foreach (var a in acc) a.Add(item); }
        while (i < p.Length)
        {
            char c = p[i];
            switch (c)
            {
                case '*': Append(new Item(Kind.Star)); i++; break;
                case '?': Append(new Item(Kind.Any)); i++; break;
                case '[':
                    int close = ClassEnd(p, i);
                    if (close < 0) { Append(new Item(Kind.Char, '[')); i++; break; }
                    Append(new Item(Kind.Class, Class: ParseClass(p.AsSpan(i + 1, close - i - 1))));
                    i = close + 1;
                    break;
                case '{':
                    i++;
                    var options = new List<List<Item>>();
                    while (true)
                    {
                        var sub = ExpandSeq(p, ref i, topLevel: false);
                        if (sub == null) return null;
                        options.AddRange(sub);
                        if (i < p.Length && p[i] == ',') { i++; continue; }
                        if (i < p.Length) i++; // the closing '}' (an unclosed brace ends with the pattern)
                        break;
                    }
                    if ((long)acc.Count * options.Count > MaxAlternatives) return null;
                    acc = [.. from a in acc from o in options select (List<Item>)[.. a, .. o]];
                    break;
                case '}' or ',' when !topLevel:
                    return acc;
                default: Append(new Item(Kind.Char, c)); i++; break;
            }
        }
        return acc;
    }

    /// <summary>One brace-free alternative: fixed-width pieces between stars.</summary>
    private sealed class Alternative
    {
        private readonly Item[][] _pieces;   // pieces[0] is before the first star, pieces[^1] after the last
        private readonly string?[] _text;    // a piece's plain text when it is only literal characters (for IndexOf)

        public Alternative(List<Item> items)
        {
            var pieces = new List<Item[]> { };
            var current = new List<Item>();
            foreach (var item in items)
            {
                if (item.Kind == Kind.Star) { pieces.Add([.. current]); current.Clear(); }
                else current.Add(item);
            }
            pieces.Add([.. current]);
            _pieces = [.. pieces];
            _text = [.. _pieces.Select(p => p.All(x => x.Kind == Kind.Char) ? new string([.. p.Select(x => x.C)]) : null)];
        }

        public bool IsMatch(ReadOnlySpan<char> s, Glob g)
        {
            var first = _pieces[0];
            if (_pieces.Length == 1) return s.Length == first.Length && At(0, s, 0, g);
            var last = _pieces[^1];
            if (s.Length < first.Length + last.Length) return false;
            if (!At(0, s, 0, g) || !At(_pieces.Length - 1, s, s.Length - last.Length, g)) return false;
            int pos = first.Length, end = s.Length - last.Length;
            // Leftmost placement of each middle piece is never worse for the pieces after it: no backtracking needed.
            for (int k = 1; k < _pieces.Length - 1; k++)
            {
                var piece = _pieces[k];
                if (piece.Length == 0) continue;
                int found = _text[k] is { } text ? s[pos..end].IndexOf(text, StringComparison.Ordinal) : Scan(piece, s[pos..end], g);
                if (found < 0) return false;
                pos += found + piece.Length;
            }
            return true;
        }

        private static int Scan(Item[] piece, ReadOnlySpan<char> s, Glob g)
        {
            for (int at = 0; at + piece.Length <= s.Length; at++) if (At(piece, s, at, g)) return at;
            return -1;
        }

        private bool At(int k, ReadOnlySpan<char> s, int at, Glob g) =>
            _text[k] is { } text ? s.Slice(at, text.Length).SequenceEqual(text) : At(_pieces[k], s, at, g);

        private static bool At(Item[] piece, ReadOnlySpan<char> s, int at, Glob g)
        {
            for (int k = 0; k < piece.Length; k++)
            {
                var item = piece[k];
                char ch = s[at + k];
                bool ok = item.Kind switch { Kind.Char => item.C == ch, Kind.Any => ch != '\n', _ => g.InClass(item.Class, ch) };
                if (!ok) return false;
            }
            return true;
        }
    }

    private bool InClass(int index, char ch)
    {
        var (negate, ranges) = _classes[index];
        bool hit = false;
        foreach (var (lo, hi) in ranges) if (ch >= lo && ch <= hi) { hit = true; break; }
        return hit != negate;
    }
}
