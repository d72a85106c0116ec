using System.Collections.Concurrent;
using Observe.Storage.Graphite;

namespace Observe.Storage.Tsdb;

/// <summary>
/// Graphite glob for one path node: <c>*</c>, <c>?</c>, <c>[a-z0-9]</c> (<c>[!x]</c> or <c>[^x]</c> negates), <c>{a,b}</c>
/// (nestable), mixed. Compiled to a small automaton and run over the name as a set of states (Thompson's construction):
/// time is at most name length × pattern length, never exponential, where a backtracking regex took seconds for
/// <c>*a*a*a*a*a*a*a*b</c> against a long name. Compiling is cheap, so nothing is cached: each find compiles its own
/// pattern nodes once (a cache of every pattern ever asked for was memory that only grew).
/// </summary>
internal sealed class Glob
{
    private enum Op : byte { Char, Any, Class, Split, Jump, Match }

    private readonly record struct Inst(Op Op, char C = '\0', int X = 0, int Y = 0);

    private readonly string? _literal;
    private readonly Inst[] _prog = [];
    private readonly List<(bool Negate, List<(char Lo, char Hi)> Ranges)> _classes = [];

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
        }
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
                    int close = p.IndexOf(']', i + 1);
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

    private bool InClass(int index, char ch)
    {
        var (negate, ranges) = _classes[index];
        bool hit = false;
        foreach (var (lo, hi) in ranges) if (ch >= lo && ch <= hi) { hit = true; break; }
        return hit != negate;
    }
}

/// <summary>
/// In-memory tree of Graphite name nodes. One writer at a time (the store adds names under its lock); finds read
/// without any lock, concurrently with the writer: children live in concurrent dictionaries, whose enumeration is
/// safe during an add (a find may or may not see a name added meanwhile).
/// </summary>
internal sealed class MetricTrie
{
    private sealed class Node
    {
        public volatile ConcurrentDictionary<string, Node>? Children; // null for a leaf that is not also a branch (most nodes)
        public volatile bool IsLeaf;
    }

    private readonly Node _root = new() { Children = new(1, 31, StringComparer.Ordinal) };

    public void Add(string path)
    {
        var n = _root;
        foreach (var part in path.Split('.'))
        {
            var children = n.Children;
            if (children == null) n.Children = children = new ConcurrentDictionary<string, Node>(1, 1, StringComparer.Ordinal);
            if (!children.TryGetValue(part, out var c)) children[part] = c = new Node();
            n = c;
        }
        n.IsLeaf = true;
    }

    /// <summary>
    /// Matching nodes. A path that is both a leaf and a branch (e.g. <c>a.b</c> and <c>a.b.c</c> both written)
    /// yields two entries, a leaf and a branch, as graphite-web does. More than <paramref name="maxNodes"/> nodes
    /// matched at any level of the pattern is a 400 (<c>storage.maxFindResults</c>) before more are collected.
    /// </summary>
    public List<MetricNode> Find(string pattern, int maxNodes = int.MaxValue)
    {
        var result = new List<MetricNode>();
        if (string.IsNullOrEmpty(pattern)) return result;
        var parts = pattern.Split('.');
        var level = new List<(string Path, Node Node)> { ("", _root) };
        for (int i = 0; i < parts.Length && level.Count > 0; i++)
        {
            var next = new List<(string, Node)>();
            var part = parts[i];
            var glob = Glob.HasWildcards(part) ? Glob.Compile(part) : null;
            foreach (var (path, node) in level)
            {
                var children = node.Children;
                if (children == null) continue;
                if (glob == null)
                {
                    if (children.TryGetValue(part, out var c)) next.Add((path.Length == 0 ? part : path + "." + part, c));
                }
                else
                {
                    foreach (var (name, c) in children)
                    {
                        if (!glob.IsMatch(name)) continue;
                        next.Add((path.Length == 0 ? name : path + "." + name, c));
                        if (next.Count > maxNodes) throw TooMany(pattern, maxNodes);
                    }
                }
                if (next.Count > maxNodes) throw TooMany(pattern, maxNodes);
            }
            level = next;
        }
        level.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        foreach (var (path, node) in level)
        {
            if (node.IsLeaf) result.Add(new MetricNode(path, true));
            if (node.Children is { IsEmpty: false }) result.Add(new MetricNode(path, false));
        }
        return result;
    }

    private static GraphiteLimitException TooMany(string pattern, int max) =>
        new("storage.maxFindResults",
            $"the pattern \"{(pattern.Length > 200 ? pattern[..200] + "…" : pattern)}\" matches more than {max} nodes (storage.maxFindResults): make it narrower");
}
