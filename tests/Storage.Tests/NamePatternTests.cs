using System.Text.RegularExpressions;
using Observe.Storage.Tsdb;

namespace Observe.Storage.Tests;

/// <summary>Rule patterns matched without a regex where they are literals (issue 21) must match exactly what the regex matches.</summary>
public sealed class NamePatternTests
{
    private static readonly string[] Patterns =
    [
        .. new StorageOptions().Schemas.Select(r => r.Pattern), .. new StorageOptions().Aggregation.Select(r => r.Pattern),
        "^", "$", "^$", "sum", "^a.b$", @"^a\.b$", @"a\$", @"\\$", @"^x\\", @"\.count$", @"^stats\.timers\.", "a]b", "a}b", @"a\]b",
        @"\.upper(_\d+)?$", "^a{2}", @"\d$", @"^\w", "a|b", @"^a\-b", @"^a\/b", "^.*", "count$|sum$",
    ];

    private static readonly string[] Names =
    [
        "", "\n", "stats", "stats.timers.api.count", "stats_counts.api", "stats.gauges.x", "a.b", "a.b\n", "aXb", "a$", "x\\", "x\\y",
        "y\\", "s.count", "s.count\n", "s.count\n\n", "s.countx", ".count", "count", "s.upper_90", "s.upper", "s.upper_x", "aab",
        "a]b", "a}b", "a-b", "a/b", "7", "checks.web.state", "deploys.shop.duration_seconds", "logs.shop.error", "t;host=a.count",
        "sum", "x.sum", "x.sum\n", "a.lower", "A.COUNT",
    ];

    [Fact]
    public void Every_pattern_matches_exactly_the_names_its_regex_matches()
    {
        foreach (var p in Patterns)
        {
            var regex = new Regex(p, RegexOptions.CultureInvariant | RegexOptions.Compiled); // as the rules were matched before
            var pattern = NamePattern.Of(p);
            foreach (var n in Names)
                Assert.True(regex.IsMatch(n) == (pattern?.IsMatch(n) ?? true), $"pattern {p} on {n.Replace("\n", "\\n")}: regex says {regex.IsMatch(n)}");
        }
    }
}
