using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;

namespace Observe.Storage.Tsdb;

/// <summary>Graphite glob for one path node: <c>*</c>, <c>?</c>, <c>[a-z0-9]</c> (<c>[!x]</c> negates), <c>{a,b}</c>, mixed.</summary>
internal static class Glob
{
    private static readonly ConcurrentDictionary<string, Regex?> Cache = new();

    public static bool HasWildcards(string node) => node.AsSpan().IndexOfAny("*?[{") >= 0;

    public static bool IsMatch(string pattern, string node)
    {
        var re = Cache.GetOrAdd(pattern, Compile);
        return re == null ? pattern == node : re.IsMatch(node);
    }

    private static Regex? Compile(string p)
    {
        if (!HasWildcards(p)) return null;
        var sb = new StringBuilder("^");
        int depth = 0;
        for (int i = 0; i < p.Length; i++)
        {
            char c = p[i];
            switch (c)
            {
                case '*': sb.Append(".*"); break;
                case '?': sb.Append('.'); break;
                case '[':
                    int end = p.IndexOf(']', i + 1);
                    if (end < 0) { sb.Append(@"\["); break; }
                    var body = p.Substring(i + 1, end - i - 1);
                    sb.Append('[');
                    if (body.StartsWith('!')) { sb.Append('^'); body = body[1..]; }
                    sb.Append(body.Replace(@"\", @"\\").Replace("[", @"\["));
                    sb.Append(']');
                    i = end;
                    break;
                case '{': depth++; sb.Append("(?:"); break;
                case '}' when depth > 0: depth--; sb.Append(')'); break;
                case ',' when depth > 0: sb.Append('|'); break;
                default: sb.Append(Regex.Escape(c.ToString())); break;
            }
        }
        while (depth-- > 0) sb.Append(')');
        sb.Append('$');
        try { return new Regex(sb.ToString(), RegexOptions.CultureInvariant | RegexOptions.Compiled); }
        catch (ArgumentException) { return new Regex("^" + Regex.Escape(p) + "$"); }
    }
}

/// <summary>In-memory tree of Graphite name nodes. Not thread-safe; the store guards it.</summary>
internal sealed class MetricTrie
{
    private sealed class Node
    {
        public readonly Dictionary<string, Node> Children = new(StringComparer.Ordinal);
        public bool IsLeaf;
    }

    private readonly Node _root = new();

    public void Add(string path)
    {
        var n = _root;
        foreach (var part in path.Split('.'))
        {
            if (!n.Children.TryGetValue(part, out var c)) n.Children[part] = c = new Node();
            n = c;
        }
        n.IsLeaf = true;
    }

    /// <summary>
    /// Matching nodes. A path that is both a leaf and a branch (e.g. <c>a.b</c> and <c>a.b.c</c> both written)
    /// yields two entries, a leaf and a branch, as graphite-web does.
    /// </summary>
    public List<MetricNode> Find(string pattern)
    {
        var result = new List<MetricNode>();
        if (string.IsNullOrEmpty(pattern)) return result;
        var parts = pattern.Split('.');
        var level = new List<(string Path, Node Node)> { ("", _root) };
        for (int i = 0; i < parts.Length && level.Count > 0; i++)
        {
            var next = new List<(string, Node)>();
            var part = parts[i];
            bool wild = Glob.HasWildcards(part);
            foreach (var (path, node) in level)
            {
                if (!wild)
                {
                    if (node.Children.TryGetValue(part, out var c)) next.Add((path.Length == 0 ? part : path + "." + part, c));
                    continue;
                }
                foreach (var (name, c) in node.Children)
                    if (Glob.IsMatch(part, name)) next.Add((path.Length == 0 ? name : path + "." + name, c));
            }
            level = next;
        }
        level.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        foreach (var (path, node) in level)
        {
            if (node.IsLeaf) result.Add(new MetricNode(path, true));
            if (node.Children.Count > 0) result.Add(new MetricNode(path, false));
        }
        return result;
    }
}
