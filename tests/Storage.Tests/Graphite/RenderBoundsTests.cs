using Observe.Storage.Graphite;

namespace Observe.Storage.Tests.Graphite;

/// <summary>
/// Issue 15, findings 1 and 5: nesting depth (calls and pipe chains) is bounded in the parser with a 400-class error
/// long before the stack ends, and functions that make more points than they read (summarize, hitcount, events) are
/// stopped by the request's produced-points budget before they allocate.
/// </summary>
public class RenderBoundsTests
{
    private const long Now = 1_800_000_000;

    [Fact]
    public void Fifty_thousand_nested_calls_are_an_input_error_naming_the_key_not_a_stack_overflow()
    {
        var target = string.Concat(Enumerable.Repeat("sumSeries(", 50_000)) + "hist.host0.cpu" + new string(')', 50_000);
        var e = Assert.Throws<GraphiteLimitException>(() => TargetParser.Parse(target));
        Assert.Equal("storage.render.maxDepth", e.Key);
        Assert.Contains("nested more than 64 deep", e.Message);
        Assert.True(e.Message.Length < 500, "the error quotes only the start of a huge target");
    }

    [Fact]
    public void A_pipe_chain_nests_too_and_is_bounded_the_same_way()
    {
        var target = "hist.host0.cpu" + string.Concat(Enumerable.Repeat("|scale(1)", 40_000));
        var e = Assert.Throws<GraphiteLimitException>(() => TargetParser.Parse(target));
        Assert.Equal("storage.render.maxDepth", e.Key);
        // Within the bound both forms parse, and to the same depth.
        var calls = (CallNode)TargetParser.Parse(string.Concat(Enumerable.Repeat("scale(", 64)) + "a" + string.Concat(Enumerable.Repeat(",1)", 64)));
        var pipes = (CallNode)TargetParser.Parse("a" + string.Concat(Enumerable.Repeat("|scale(1)", 64)));
        Assert.Equal(64, calls.Depth);
        Assert.Equal(64, pipes.Depth);
        Assert.Throws<GraphiteLimitException>(() => TargetParser.Parse("a" + string.Concat(Enumerable.Repeat("|scale(1)", 65))));
        // A pipe inside an argument adds to the depth of the call around it.
        Assert.Equal(3, ((CallNode)TargetParser.Parse("sumSeries(a|scale(1)|scale(2))")).Depth);
        Assert.Throws<GraphiteLimitException>(() => TargetParser.Parse("sumSeries(a|scale(1)|scale(2))", maxDepth: 2));
    }

    [Fact]
    public void A_deep_target_does_not_hold_the_square_of_its_length()
    {
        // Each call node used to keep its own text: 10 000 levels of a 230 KB target held ~2 GB.
        var target = string.Concat(Enumerable.Repeat("sumSeries(", 1000)) + "a" + new string(')', 1000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var node = (CallNode)TargetParser.Parse(target, maxDepth: 1000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1000, node.Depth);
        Assert.True(allocated < 2_000_000, $"parsing 1000 levels allocated {allocated} bytes");
        Assert.Equal(target, node.Raw);
    }

    private static MemorySeriesStore FiveYearsOfOneSeries()
    {
        // 10m points over 5 y: reading them is within the default read budget (262 800 points per series).
        var store = new MemorySeriesStore("10m:5y", () => Now);
        for (var h = 0; h < 24; h++) store.Write($"hist.host{h % 3}.cpu", h, Now - h * 3600);
        return store;
    }

    internal static List<TimeSeries> Render(ISeriesReader store, string target, string from, RenderLimitOptions? limits = null)
    {
        var req = new GraphiteApi.RenderRequest([target], AtTime.Parse(from, Now), Now, Now, "json", null, false, 0, null);
        return GraphiteApi.Evaluate(req, store, null, limits ?? new RenderLimitOptions());
    }

    [Theory]
    [InlineData("summarize(hist.*.cpu,\"1s\",\"sum\")", "summarize")]
    [InlineData("hitcount(hist.*.cpu,\"1s\")", "hitcount")]
    [InlineData("events(\"*\")", "events")]
    public void A_function_making_far_more_points_than_it_read_stops_before_allocating_them(string target, string function)
    {
        var store = FiveYearsOfOneSeries();
        // 5 y at 1 s is 157 M points per series (2.5 GB as a list of double?): the budget must trip first.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<GraphiteLimitException>(() => Render(store, target, "-5y"));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal("storage.render.maxPointsProduced", e.Key);
        Assert.Contains(function, e.Message);
        Assert.True(allocated < 100_000_000, $"{allocated} bytes allocated before the budget tripped");
        // The same targets over a range the budget allows evaluate normally.
        Assert.NotEmpty(Render(store, target, "-1h"));
    }

    [Fact]
    public void Nested_re_evaluating_functions_are_stopped_by_the_produced_budget()
    {
        // timeShift re-evaluates its argument: nested 30 deep that is 2^30 evaluations of the series.
        var store = new MemorySeriesStore("10s:1d", () => Now);
        store.Write("some.series", 1, Now - 60);
        var target = string.Concat(Enumerable.Repeat("timeShift(", 30)) + "some.series" + string.Concat(Enumerable.Repeat(",\"1s\")", 30));
        var e = Assert.Throws<GraphiteLimitException>(() => Render(store, target, "-1h",
            new RenderLimitOptions { MaxPoints = long.MaxValue, MaxPointsProduced = 1_000_000 }));
        Assert.Equal("storage.render.maxPointsProduced", e.Key);
    }

    [Fact]
    public void The_time_budget_ends_a_request_that_runs_too_long()
    {
        var time = new Observe.TestSupport.ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(Now));
        var budget = new RenderBudget(1000, 1000, 1000, TimeSpan.FromSeconds(30), time);
        budget.Take(10);
        time.Advance(TimeSpan.FromSeconds(31));
        var e = Assert.Throws<GraphiteLimitException>(() => budget.Take(10));
        Assert.Equal("storage.render.timeoutSeconds", e.Key);
    }

    [Fact]
    public void Tag_queries_run_under_the_time_budget_and_the_tags_filter_regex_has_a_timeout()
    {
        var time = new Observe.TestSupport.ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(Now));
        var budget = new RenderBudget(1000, 1000, 1000, TimeSpan.FromSeconds(30), time);
        time.Advance(TimeSpan.FromSeconds(31));
        var e = Assert.Throws<GraphiteLimitException>(() => TagQuery.FindSeries(["cpu;dc=east", "cpu;dc=west"], ["name=cpu"], budget));
        Assert.Equal("storage.render.timeoutSeconds", e.Key);

        // /tags?filter= is a user regex over tag names: (a+)+b against a 40-letter name backtracks 2^40 times.
        var store = new MemorySeriesStore("10s:1d", () => Now);
        store.Write("x;" + new string('a', 40) + "=v", 1, Now - 60);
        var p = new GraphiteApi.Params(new() { ["filter"] = ["(a+)+b"] });
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Assert.Throws<System.Text.RegularExpressions.RegexMatchTimeoutException>(() => GraphiteApi.TagList(p, store));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }
}
