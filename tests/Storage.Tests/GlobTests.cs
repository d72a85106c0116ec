using Observe.Storage.Tsdb;

namespace Observe.Storage.Tests;

public class GlobTests
{
    [Theory]
    [InlineData("abc", "abc", true)]
    [InlineData("abc", "abd", false)]
    [InlineData("*", "anything", true)]
    [InlineData("a*", "abc", true)]
    [InlineData("a*", "bac", false)]
    [InlineData("*c", "abc", true)]
    [InlineData("a?c", "abc", true)]
    [InlineData("a?c", "abbc", false)]
    [InlineData("[a-c]x", "bx", true)]
    [InlineData("[a-c]x", "dx", false)]
    [InlineData("[0-9][0-9]", "42", true)]
    [InlineData("[!0-9]x", "ax", true)]
    [InlineData("[!0-9]x", "1x", false)]
    [InlineData("{foo,bar}", "bar", true)]
    [InlineData("{foo,bar}", "baz", false)]
    [InlineData("web{1,2}", "web2", true)]
    [InlineData("web{1,2}", "web3", false)]
    [InlineData("a*{b,c}[0-9]", "axxc7", true)]
    [InlineData("a*{b,c}[0-9]", "axxd7", false)]
    [InlineData("a*{b,c}[0-9]", "ab", false)]
    [InlineData("{a*,x?}", "x1", true)]
    [InlineData("{a*,x?}", "x12", false)]
    [InlineData("a+b", "a+b", true)]
    [InlineData("a(b", "a(b", true)]
    public void MatchesOneNode(string pattern, string node, bool expected) => Assert.Equal(expected, Glob.IsMatch(pattern, node));

    [Fact]
    public void Trie_finds_branches_and_leaves()
    {
        var t = new MetricTrie();
        foreach (var p in new[] { "stats.web1.cpu", "stats.web2.cpu", "stats.db1.cpu", "stats.web1", "stats.web1.mem.free" })
            t.Add(p);
        Assert.Equal(["stats.web1.cpu", "stats.web2.cpu"], t.Find("stats.web*.cpu").Select(n => n.Path));
        Assert.All(t.Find("stats.web*.cpu"), n => Assert.True(n.IsLeaf));
        // stats.web1 is both a leaf and a branch: graphite-web lists it twice.
        Assert.Equal([new MetricNode("stats.web1", true), new MetricNode("stats.web1", false), new MetricNode("stats.web2", false)],
            t.Find("stats.web?"));
        Assert.Equal(["stats.db1", "stats.web1", "stats.web1", "stats.web2"], t.Find("stats.*").Select(n => n.Path));
        Assert.Equal(["stats.web1.mem"], t.Find("stats.{web1,db1}.m[a-z]m").Select(n => n.Path));
        Assert.Empty(t.Find("nope.*"));
        Assert.Single(t.Find("stats"));
    }
}
