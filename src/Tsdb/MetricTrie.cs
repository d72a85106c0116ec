using System.Collections.Concurrent;
using Observe.Storage.Graphite;

namespace Observe.Storage.Tsdb;

/// <summary>
/// In-memory tree of Graphite name nodes. One writer at a time (the store adds names under its lock); finds read
/// without any lock, concurrently with the writer: a node's children are an immutable array, replaced whole when a child
/// is added, while there are at most <see cref="SmallMax"/>, and a concurrent dictionary (whose enumeration is safe during
/// an add) once there are more. A find may or may not see a name added meanwhile.
/// Kept light because there is a node per name segment (issue 21: a dictionary per branch and a string split off every
/// added name cost ≈ 100 bytes per series): a child that is only a leaf (most: <c>….k123.mean</c>) points at one shared
/// leaf node, and leaf names are shared strings (one <c>"mean"</c> for every timer); adding a name allocates nothing for
/// the segments that already exist. Child arrays of shared leaf names only are themselves shared (one array for the leaves
/// of every timer instead of one per timer).
/// </summary>
internal sealed class MetricTrie
{
    /// <summary>Children kept in a copy-on-write array up to this many; more go into a concurrent dictionary.</summary>
    internal const int SmallMax = 32;
    /// <summary>Distinct leaf names shared; beyond that a new leaf name is its own string (unique names gain nothing from sharing).</summary>
    private const int SharedNamesMax = 4096;

    private sealed class Node
    {
        /// <summary>null, an <see cref="Entry"/>[] never changed once published, or a <see cref="ConcurrentDictionary{TKey, TValue}"/>.</summary>
        public volatile object? Kids;
        public volatile bool IsLeaf;
    }

    private readonly record struct Entry(string Name, Node Node);

    /// <summary>Every child that is a leaf and not also a branch: it never has children, so one node serves them all.</summary>
    private static readonly Node LeafOnly = new() { IsLeaf = true };

    private readonly Node _root = new();
    /// <summary>Shared names and how often each was asked for.</summary>
    private readonly Dictionary<string, SharedString> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SharedString>.AlternateLookup<ReadOnlySpan<char>> _nameLookup;

    private sealed class SharedString(string s)
    {
        public readonly string S = s;
        public int Uses = 2;
    }

    /// <summary>
    /// Leaf names seen once lately (cleared when <see cref="SharedNamesMax"/> is reached): a name is shared from its second
    /// sighting on, and when the shared set is full the names asked for only twice leave it. Issue 21: sharing every new
    /// leaf name filled the set with unique ones (Etsy's legacy counter names end in the key, once under <c>stats.</c> and
    /// once under <c>stats_counts.</c>), after which every timer's <c>mean</c>, <c>upper</c>, … was a string of its own
    /// (1.4 M strings, ≈ 60 MB, and an array of leaves per timer, at 100 000 timers).
    /// </summary>
    private readonly Dictionary<string, string> _seenOnce = new(StringComparer.Ordinal);
    private int _refusedSincePurge;
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _seenOnceLookup;

    public MetricTrie()
    {
        _nameLookup = _names.GetAlternateLookup<ReadOnlySpan<char>>();
        _seenOnceLookup = _seenOnce.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Adds a dot-separated name (segments as <c>string.Split('.')</c> gives them). One writer at a time.</summary>
    public void Add(string path)
    {
        _lastLeafShared = false;
        var n = _root;
        int start = 0;
        while (true)
        {
            int dot = path.IndexOf('.', start);
            if (dot < 0) break;
            n = GetOrAddBranch(n, path.AsSpan(start, dot - start));
            start = dot + 1;
        }
        var leaf = path.AsSpan(start);
        if (Child(n, leaf) is { } c) { if (!c.IsLeaf) c.IsLeaf = true; }
        else
        {
            var name = SharedName(leaf, share: true, out _lastLeafShared);
            AddChild(n, name, LeafOnly);
        }
    }

    /// <summary>Child arrays of only leaf-only children named by shared names, one copy of each (every timer's <c>mean, upper, …</c>).</summary>
    private readonly Dictionary<Entry[], Entry[]> _leafSets = new(LeafSetComparer.Instance);
    /// <summary>Distinct leaf sets kept for sharing; beyond that a new set is its own array.</summary>
    private const int LeafSetsMax = 4096;
    private bool _lastLeafShared;

    /// <summary>
    /// The shared copy of <paramref name="b"/> (<paramref name="a"/> plus one leaf) when both are sets of shared leaf names: issue
    /// 21, 100 000 timers each held an identical array of their 14 leaves (≈ 250 bytes each).
    /// </summary>
    private Entry[] ShareLeafSet(Entry[]? a, Entry[] b)
    {
        if (!_lastLeafShared || b[^1].Node != LeafOnly) return b;
        if (a != null && !(_leafSets.TryGetValue(a, out var known) && ReferenceEquals(known, a))) return b;
        if (_leafSets.TryGetValue(b, out var same)) return same;
        if (_leafSets.Count < LeafSetsMax) _leafSets[b] = b;
        return b;
    }

    /// <summary>Equal when the same names (by reference: shared strings) in the same order, every child the shared leaf node.</summary>
    private sealed class LeafSetComparer : IEqualityComparer<Entry[]>
    {
        public static readonly LeafSetComparer Instance = new();

        public bool Equals(Entry[]? x, Entry[]? y)
        {
            if (x == null || y == null || x.Length != y.Length) return false;
            for (int i = 0; i < x.Length; i++)
                if (!ReferenceEquals(x[i].Name, y[i].Name) || x[i].Node != LeafOnly || y[i].Node != LeafOnly) return false;
            return true;
        }

        public int GetHashCode(Entry[] a)
        {
            var h = new HashCode();
            foreach (var e in a) h.Add(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(e.Name));
            return h.ToHashCode();
        }
    }

    private Node GetOrAddBranch(Node n, ReadOnlySpan<char> name)
    {
        var c = Child(n, name);
        if (c == LeafOnly)
        {
            // A leaf gains children: it becomes a node of its own, still a leaf.
            var b = new Node { IsLeaf = true };
            ReplaceChild(n, name, b);
            return b;
        }
        if (c != null) return c;
        c = new Node();
        AddChild(n, SharedName(name, share: false, out _), c);
        return c;
    }

    /// <summary>The shared string for a name (added to the shared set when <paramref name="share"/> and there is room).</summary>
    private string SharedName(ReadOnlySpan<char> name, bool share, out bool isShared)
    {
        if (isShared = _nameLookup.TryGetValue(name, out var shared)) { shared!.Uses++; return shared.S; }
        if (!share) return new string(name);
        if (_seenOnceLookup.TryGetValue(name, out var s))
        {
            // The second time: the first one's string becomes the shared one.
            _seenOnce.Remove(s);
            // A full set is thinned at most once per 1 024 names refused (a scan of it each time would be quadratic).
            if (_names.Count >= SharedNamesMax && ++_refusedSincePurge >= 1024)
            {
                _refusedSincePurge = 0;
                foreach (var (key, value) in _names)
                    if (value.Uses <= 2) _names.Remove(key); // allowed while enumerating (.NET Core 3.0 on)
            }
            if (isShared = _names.Count < SharedNamesMax) _names[s] = new SharedString(s);
            return s;
        }
        s = new string(name);
        if (_seenOnce.Count >= SharedNamesMax) _seenOnce.Clear();
        _seenOnce[s] = s;
        return s;
    }

    private static Node? Child(Node n, ReadOnlySpan<char> name)
    {
        switch (n.Kids)
        {
            case Entry[] a:
                foreach (ref readonly var e in a.AsSpan())
                    if (name.SequenceEqual(e.Name)) return e.Node;
                return null;
            case ConcurrentDictionary<string, Node> d:
                return d.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out var c) ? c : null;
            default:
                return null;
        }
    }

    private void AddChild(Node n, string name, Node child)
    {
        switch (n.Kids)
        {
            case null:
                n.Kids = ShareLeafSet(null, [new Entry(name, child)]);
                break;
            case Entry[] a when a.Length < SmallMax:
                var b = new Entry[a.Length + 1];
                a.CopyTo(b, 0);
                b[^1] = new Entry(name, child);
                n.Kids = ShareLeafSet(a, b);
                break;
            case Entry[] a:
                var d = new ConcurrentDictionary<string, Node>(1, SmallMax * 2, StringComparer.Ordinal);
                foreach (var e in a) d[e.Name] = e.Node;
                d[name] = child;
                n.Kids = d;
                break;
            case ConcurrentDictionary<string, Node> dict:
                dict[name] = child;
                break;
        }
    }

    private static void ReplaceChild(Node n, ReadOnlySpan<char> name, Node child)
    {
        switch (n.Kids)
        {
            case Entry[] a:
                var b = (Entry[])a.Clone();
                for (int i = 0; i < b.Length; i++)
                    if (name.SequenceEqual(b[i].Name)) b[i] = new Entry(b[i].Name, child);
                n.Kids = b;
                break;
            case ConcurrentDictionary<string, Node> d:
                d.GetAlternateLookup<ReadOnlySpan<char>>()[name] = child;
                break;
        }
    }

    private static bool HasChildren(Node n) => n.Kids switch
    {
        Entry[] a => a.Length > 0,
        ConcurrentDictionary<string, Node> d => !d.IsEmpty,
        _ => false,
    };

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
                if (glob == null)
                {
                    if (Child(node, part) is { } c) next.Add((path.Length == 0 ? part : path + "." + part, c));
                }
                else
                {
                    switch (node.Kids)
                    {
                        case Entry[] a:
                            foreach (var (name, c) in a) Matched(name, c);
                            break;
                        case ConcurrentDictionary<string, Node> d:
                            foreach (var (name, c) in d) Matched(name, c);
                            break;
                    }
                }
                if (next.Count > maxNodes) throw TooMany(pattern, maxNodes);

                void Matched(string name, Node c)
                {
                    if (!glob!.IsMatch(name)) return;
                    next.Add((path.Length == 0 ? name : path + "." + name, c));
                    if (next.Count > maxNodes) throw TooMany(pattern, maxNodes);
                }
            }
            level = next;
        }
        level.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        foreach (var (path, node) in level)
        {
            if (node.IsLeaf) result.Add(new MetricNode(path, true));
            if (HasChildren(node)) result.Add(new MetricNode(path, false));
        }
        return result;
    }

    private static GraphiteLimitException TooMany(string pattern, int max) =>
        new("storage.maxFindResults",
            $"the pattern \"{(pattern.Length > 200 ? pattern[..200] + "…" : pattern)}\" matches more than {max} nodes (storage.maxFindResults): make it narrower");
}
