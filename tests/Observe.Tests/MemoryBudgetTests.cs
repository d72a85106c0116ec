using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector;
using Observe.Host;
using Observe.TestSupport;

namespace Observe.Observe.Tests;

/// <summary>
/// limits.memory (issue 15 #6, issue 21): one budget, read every second on the one clock. Past 75 % the stages give
/// memory back (at most every 10 s); past 90 % of what is left, new keys and series are refused; each step counted.
/// </summary>
public class MemoryBudgetTests
{
    private sealed class Relief(Action onRelieve) : IMemoryRelief
    {
        public int Calls;
        public string Name => "fake";
        public void Relieve() { Calls++; onRelieve(); }
    }

    [Fact]
    public void Exceeding_the_budget_relieves_first_then_refuses_new_and_counts_each_step()
    {
        const long budget = 1000;
        long used = 500, freedByRelief = 0;
        var time = new ManualTimeProvider();
        var relief = new Relief(() => used -= freedByRelief);
        using var g = new MemoryGovernor(budget, () => used, () => [relief], time, NullLogger.Instance);
        var levels = new List<MemoryPressure>();
        void Second() { time.Advance(TimeSpan.FromSeconds(1)); levels.Add(g.Level); }

        Second();                                   // 50 %: nothing gives way
        Assert.Equal(MemoryPressure.None, g.Level);
        Assert.Equal(0, relief.Calls);

        used = 800; freedByRelief = 100;            // 80 %: relief gives back enough: back under the first threshold
        Second();
        Assert.Equal(1, relief.Calls);
        Assert.Equal(MemoryPressure.None, g.Level);

        used = 950; freedByRelief = 0;              // relief cannot run again within 10 s; 95 %: refuse new things
        Second();
        Assert.Equal(1, relief.Calls);
        Assert.Equal(MemoryPressure.RefuseNew, g.Level);
        Assert.Equal(1, g.RefusingEntered);

        for (int i = 0; i < 10; i++) Second();      // still over: relieved again every 10 s, the level stays, counted once
        Assert.Equal(2, relief.Calls);
        Assert.Equal(2, g.Reliefs);
        Assert.Equal(1, g.RefusingEntered);

        used = 850;                                 // between the thresholds: relieve only, new things allowed again
        Second();
        Assert.Equal(MemoryPressure.Relieve, g.Level);
        used = 100;
        Second();
        Assert.Equal(MemoryPressure.None, g.Level);
        // The order never skips a step upwards without relief having been tried first.
        Assert.True(levels.IndexOf(MemoryPressure.RefuseNew) > 0 && relief.Calls > 0);
    }

    [Theory]
    [InlineData("auto", 750L)]
    [InlineData("off", 0L)]
    [InlineData("50%", 500L)]
    [InlineData("2KB", 2048L)]
    [InlineData("1MB", 1L << 20)]
    [InlineData("2GB", 2L << 30)]
    [InlineData("12345", 12345L)]
    [InlineData("lots", null)]
    [InlineData("150%", null)]
    [InlineData("-5MB", null)]
    [InlineData("9000000000GB", null)]
    [InlineData("17179869184GB", null)]
    public void Budget_parses_auto_off_sizes_and_shares(string text, long? expected) =>
        Assert.Equal(expected, MemoryGovernor.ParseBudget(text, 1000));

    [Fact]
    public void A_malformed_budget_is_a_problem_naming_its_key()
    {
        var (c, problems) = ConfigTests.LoadText("limits: {memory: lots}\n");
        Assert.Equal("lots", c.Limits.Memory);
        Assert.Contains(problems, p => p.KeyPath == "limits.memory");
        Assert.Equal("auto", ConfigTests.LoadText("http: {port: 8080}\n").Item1.Limits.Memory);
    }
}
