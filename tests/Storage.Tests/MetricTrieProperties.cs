using FsCheck.Xunit;
using Observe.Storage.Tsdb;

namespace Observe.Storage.Tests;

/// <summary>
/// Issue 21: the light trie (copy-on-write child arrays, a dictionary only past <see cref="MetricTrie.SmallMax"/> children,
/// one shared node for leaf-only children, shared leaf names) finds exactly what graphite-web's semantics give over the
/// same set of names, worked out from the names themselves.
/// </summary>
public class MetricTrieProperties
{
    private static readonly string[] Leaves = ["mean", "count", "upper_90", "rate", "x"];

    [Property(MaxTest = 60)]
    public void Finds_what_the_set_of_names_gives(int seed)
    {
        var rnd = new Random(seed);
        var names = new List<string>();
        int n = rnd.Next(1, 400);
        for (int i = 0; i < n; i++)
        {
            int depth = rnd.Next(1, 5);
            // Segment 1 ranges wide (past SmallMax children), the last segment is often a shared leaf name, and
            // prefixes of other names occur (a leaf that is also a branch, added before or after its children).
            var parts = new string[depth];
            for (int d = 0; d < depth; d++)
                parts[d] = d == depth - 1 && rnd.Next(2) == 0 ? Leaves[rnd.Next(Leaves.Length)]
                    : d == 1 ? "k" + rnd.Next(80) : ((char)('a' + rnd.Next(3))).ToString();
            names.Add(string.Join('.', parts));
        }
        var trie = new MetricTrie();
        foreach (var name in names) trie.Add(name);
        var set = names.ToHashSet(StringComparer.Ordinal);
        string[] pieces = ["*", "a", "b", "k1*", "k?", "{a,c}", "[a-b]", "mean", "k7", "*n*", "x"];
        for (int q = 0; q < 30; q++)
        {
            var pattern = string.Join('.', Enumerable.Range(0, rnd.Next(1, 5)).Select(_ => pieces[rnd.Next(pieces.Length)]));
            Assert.Equal(Reference(set, pattern), trie.Find(pattern));
        }
    }

    [Fact]
    public void A_leaf_that_gains_children_stays_a_leaf_and_a_branch()
    {
        var t = new MetricTrie();
        t.Add("a.b");
        t.Add("a.c");
        t.Add("a.b.mean");
        t.Add("z.b");
        Assert.Equal([new MetricNode("a.b", true), new MetricNode("a.b", false), new MetricNode("a.c", true)], t.Find("a.*"));
        Assert.Equal([new MetricNode("a.b.mean", true)], t.Find("a.b.*"));
        // The other leaf named b (a shared leaf node before) did not gain a.b's children.
        Assert.Equal([new MetricNode("z.b", true)], t.Find("z.*"));
        Assert.Empty(t.Find("z.b.*"));
    }

    [Fact]
    public async Task Finds_during_adds_see_only_added_names()
    {
        var t = new MetricTrie();
        var names = Enumerable.Range(0, 20_000).Select(i => $"s.k{i % 300}.n{i}.{Leaves[i % Leaves.Length]}").ToArray();
        var writer = Task.Run(() => { foreach (var n in names) t.Add(n); });
        var all = names.ToHashSet(StringComparer.Ordinal);
        int finds = 0;
        while (!writer.IsCompleted || finds == 0)
        {
            foreach (var node in t.Find("s.k1*.*.*")) Assert.Contains(node.Path, all);
            finds++;
        }
        await writer;
        Assert.Equal(names.Count(n => n.StartsWith("s.k1", StringComparison.Ordinal)), t.Find("s.k1*.*.*").Count);
    }

    /// <summary>Graphite's find over a set of names: every distinct prefix of the pattern's depth whose segments match, a leaf if it is a name, a branch if a longer name extends it.</summary>
    private static List<MetricNode> Reference(HashSet<string> names, string pattern)
    {
        var parts = pattern.Split('.');
        var prefixes = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var segs = name.Split('.');
            if (segs.Length < parts.Length) continue;
            if (Enumerable.Range(0, parts.Length).All(i => Glob.IsMatch(parts[i], segs[i]))) prefixes.Add(string.Join('.', segs.Take(parts.Length)));
        }
        var result = new List<MetricNode>();
        foreach (var p in prefixes)
        {
            if (names.Contains(p)) result.Add(new MetricNode(p, true));
            if (names.Any(n => n.StartsWith(p + ".", StringComparison.Ordinal))) result.Add(new MetricNode(p, false));
        }
        return result;
    }

    /// <summary>
    /// Issue 21: leaf names are shared (one <c>"mean"</c> for every timer) even after many names with unique leaves — Etsy's
    /// legacy counters end in the key, once under <c>stats.</c> and once under <c>stats_counts.</c> — which on main filled
    /// the shared set, so every later timer leaf was a string of its own. Adding timers allocates as much after such a flood
    /// as without it.
    /// </summary>
    [Fact]
    public void Leaf_names_stay_shared_after_a_flood_of_unique_leaves()
    {
        string[] stats = ["count", "count_ps", "lower", "mean", "median", "std", "sum", "sum_squares", "upper", "upper_90", "mean_90", "sum_90"];
        long PerTimer(bool flood)
        {
            var trie = new MetricTrie();
            if (flood)
                for (int i = 0; i < 20_000; i++) { trie.Add($"stats.bench.counter.{i}"); trie.Add($"stats_counts.bench.counter.{i}"); }
            var names = Enumerable.Range(0, 5_000).SelectMany(i => stats.Select(s => $"stats.timers.bench.timer.{i}.{s}")).ToArray();
            long before = GC.GetAllocatedBytesForCurrentThread();
            foreach (var n in names) trie.Add(n);
            return (GC.GetAllocatedBytesForCurrentThread() - before) / 5_000;
        }
        long quiet = PerTimer(flood: false), flooded = PerTimer(flood: true);
        Assert.True(flooded <= quiet * 21 / 20, $"{flooded} bytes per timer after the flood, {quiet} without");
    }
}
