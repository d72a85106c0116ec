using Observe.Alerting.Pipeline;

namespace Observe.Alerting.Tests;

public class RoutingTests
{
    private static Dictionary<string, string> L(params string[] kv) => kv.Select(s => s.Split('=')).ToDictionary(p => p[0], p => p[1]);

    [Fact]
    public void The_tree_is_matched_depth_first_with_continue_and_children_inherit()
    {
        var tree = new RouteTree(new RouteOptions
        {
            Receiver = "default", GroupBy = ["host"], GroupWait = "10s",
            Routes =
            [
                new RouteOptions { Receiver = "irc", Matchers = ["source=deploy"] },
                new RouteOptions
                {
                    Matchers = ["team=~web|shop"], Continue = true, GroupInterval = "1m",
                    Routes = [new RouteOptions { Receiver = "pager", Matchers = ["severity=critical"] }],
                },
                new RouteOptions { Receiver = "mail", Matchers = ["team!=db"] },
            ],
        });
        Assert.Equal(["irc"], tree.Match(L("source=deploy", "team=web")).Select(r => r.Receiver));
        var crit = tree.Match(L("team=web", "severity=critical", "host=a"));
        Assert.Equal(["pager", "mail"], crit.Select(r => r.Receiver));
        Assert.Equal(TimeSpan.FromMinutes(1), crit[0].GroupInterval);
        Assert.Equal(TimeSpan.FromSeconds(10), crit[0].GroupWait);
        // team=web matched the second route, whose child did not: the route itself takes it, and continue goes on.
        Assert.Equal(["default", "mail"], tree.Match(L("team=web", "severity=warning")).Select(r => r.Receiver));
        Assert.Equal(["default"], tree.Match(L("team=db")).Select(r => r.Receiver));
    }

    [Fact]
    public void Group_keys_use_the_group_by_labels_or_every_label()
    {
        var byHost = new RouteTree(new RouteOptions { Receiver = "r", GroupBy = ["host"] }).Root;
        Assert.Equal(byHost.GroupFor(L("host=a", "check=x")).Key, byHost.GroupFor(L("host=a", "check=y")).Key);
        Assert.NotEqual(byHost.GroupFor(L("host=a")).Key, byHost.GroupFor(L("host=b")).Key);
        var all = new RouteTree(new RouteOptions { Receiver = "r", GroupBy = ["..."] }).Root;
        Assert.NotEqual(all.GroupFor(L("host=a", "check=x")).Key, all.GroupFor(L("host=a", "check=y")).Key);
    }

    [Theory]
    [InlineData("host=web1", "web1", true)]
    [InlineData("host!=web1", "web1", false)]
    [InlineData("host=~web[0-9]+", "web12", true)]
    [InlineData("host=~web", "web12", false)] // anchored
    [InlineData("host!~db.*", "web1", true)]
    [InlineData("host=\"web1\"", "web1", true)]
    public void Matchers(string matcher, string host, bool expected) =>
        Assert.Equal(expected, LabelMatcher.Parse(matcher).Matches(L($"host={host}")));

    [Fact]
    public void A_missing_label_matches_as_empty()
    {
        Assert.True(LabelMatcher.Parse("team=").Matches(L("host=a")));
        Assert.False(LabelMatcher.TryParse("=x", out _, out var err));
        Assert.Contains("not a matcher", err);
        Assert.False(LabelMatcher.TryParse("a=~(", out _, out err));
    }
}
