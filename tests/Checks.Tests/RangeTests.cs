using Observe.Checks.Plugins;

namespace Observe.Checks.Tests;

/// <summary>The threshold table of the Nagios plugin development guidelines ("Threshold and ranges").</summary>
public class RangeTests
{
    [Theory]
    // 10: alert if < 0 or > 10 (outside {0 .. 10})
    [InlineData("10", -1, true)]
    [InlineData("10", 0, false)]
    [InlineData("10", 10, false)]
    [InlineData("10", 10.0001, true)]
    [InlineData("10", 5, false)]
    // 10: — alert if < 10 (outside {10 .. ∞})
    [InlineData("10:", 9.99, true)]
    [InlineData("10:", 10, false)]
    [InlineData("10:", 1e12, false)]
    // ~:10 — alert if > 10 (outside {-∞ .. 10})
    [InlineData("~:10", 10.01, true)]
    [InlineData("~:10", 10, false)]
    [InlineData("~:10", -1e12, false)]
    // 10:20 — alert if < 10 or > 20
    [InlineData("10:20", 9, true)]
    [InlineData("10:20", 10, false)]
    [InlineData("10:20", 20, false)]
    [InlineData("10:20", 21, true)]
    // @10:20 — alert if ≥ 10 and ≤ 20 (inside, inclusive)
    [InlineData("@10:20", 9, false)]
    [InlineData("@10:20", 10, true)]
    [InlineData("@10:20", 15, true)]
    [InlineData("@10:20", 20, true)]
    [InlineData("@10:20", 20.5, false)]
    // the guidelines' further examples
    [InlineData("~:0", 0, false)]
    [InlineData("~:0", 0.1, true)]
    [InlineData("@0:0", 0, true)]
    [InlineData("@0:0", 1, false)]
    [InlineData("-5:-1", -3, false)]
    [InlineData("-5:-1", 0, true)]
    [InlineData("1.5:2.5", 2.5, false)]
    [InlineData("1e1", 11, true)]
    [InlineData("~:", 1e300, false)]
    [InlineData("~:", -1e300, false)]
    public void Alerts_as_the_guidelines_say(string range, double value, bool alerts) =>
        Assert.Equal(alerts, NagiosRange.Parse(range).Alerts(value));

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("10:abc")]
    [InlineData("20:10")]
    [InlineData("1:2:3")]
    [InlineData("@")]
    [InlineData(":")]
    [InlineData("~")]
    [InlineData("10~")]
    [InlineData("nan")]
    [InlineData("inf")]
    public void Rejects_bad_syntax(string range)
    {
        Assert.False(NagiosRange.TryParse(range, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Theory]
    [InlineData(5, CheckState.Ok)]
    [InlineData(11, CheckState.Warning)]
    [InlineData(21, CheckState.Critical)]
    [InlineData(-1, CheckState.Critical)]
    public void Critical_wins_over_warning(double value, CheckState expected) =>
        Assert.Equal(expected, Thresholds.Parse("10", "0:20").Evaluate(value));
}
