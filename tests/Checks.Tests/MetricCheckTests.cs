using Observe.Checks.Kinds;
using Observe.Checks.Plugins;
using Observe.Storage;
using Observe.TestSupport;

namespace Observe.Checks.Tests;

public class MetricCheckTests
{

    /// <summary>Paths and globs only, as ISeriesQuery answers them; functions are covered through the real store in Integration.</summary>
    private sealed class FakeReader(Dictionary<string, double?[]> series) : ISeriesQuery
    {
        public (long From, long Until) LastFetch;
        public IReadOnlyList<QueriedSeries> Evaluate(string target, long from, long until)
        {
            if (target.Contains('(')) throw new FormatException($"unknown function in '{target}'");
            LastFetch = (from, until);
            var rx = new System.Text.RegularExpressions.Regex("^" + System.Text.RegularExpressions.Regex.Escape(target).Replace("\\*", "[^.]*") + "$");
            return series.Where(kv => rx.IsMatch(kv.Key)).Select(kv => new QueriedSeries(kv.Key, from, 60, kv.Value)).ToList();
        }
    }

    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly FakeReader Reader = new(new()
    {
        ["web.web1.errors"] = [1, null, 3, 5],
        ["web.web2.errors"] = [30, 40, null, 50],
        ["web.web3.errors"] = [null, null, null, null],
    });

    private static Task<CheckResult> Run(string target, string agg = "avg", string? warn = "10", string? crit = "40", CheckState noData = CheckState.Unknown) =>
        new MetricCheck(Reader, target, TimeSpan.FromMinutes(5), agg, Thresholds.Parse(warn, crit), noData, new ManualTimeProvider(Now)).RunAsync(default);

    [Theory]
    [InlineData("avg", CheckState.Ok, "3")]
    [InlineData("max", CheckState.Ok, "5")]
    [InlineData("sum", CheckState.Warning, "9")]
    [InlineData("last", CheckState.Ok, "5")]
    [InlineData("min", CheckState.Ok, "1")]
    public async Task One_series_aggregated_against_ranges(string agg, CheckState state, string value)
    {
        var r = await Run("web.web1.errors", agg, warn: "8", crit: "20");
        Assert.Equal(state, r.State);
        Assert.Equal($"METRIC {state.Upper()} - web.web1.errors = {value} ({agg} over 300s)", r.Output);
        Assert.Equal("web.web1.errors", Assert.Single(r.PerfData).Label);
        Assert.Equal((Now.ToUnixTimeSeconds() - 300, Now.ToUnixTimeSeconds()), Reader.LastFetch);
    }

    [Fact]
    public async Task Glob_takes_the_worst_series_and_names_it()
    {
        var edge = await Run("web.*.errors");            // web2's avg is 40: inside the inclusive 0..40, so only WARNING (> 10)
        Assert.Equal(CheckState.Warning, edge.State);
        var r = await Run("web.*.errors", crit: "35");
        Assert.Equal(CheckState.Critical, r.State);
        Assert.StartsWith("METRIC CRITICAL - 1 of 3 series outside thresholds (avg over 300s): web.web2.errors=40", r.Output);
        Assert.Contains("web.web2.errors", r.Output);
        Assert.Contains("no data: web.web3.errors", r.Output);
    }

    [Fact]
    public async Task Inside_ranges_and_no_data_policy()
    {
        Assert.Equal(CheckState.Critical, (await Run("web.web1.errors", warn: null, crit: "@0:5")).State);
        var none = await Run("web.nothing.errors", noData: CheckState.Critical);
        Assert.Equal(CheckState.Critical, none.State);
        Assert.Equal("METRIC CRITICAL - no series match 'web.nothing.errors'", none.Output);
        var empty = await Run("web.web3.errors");
        Assert.Equal(CheckState.Unknown, empty.State);
        Assert.Contains("no data for web.web3.errors", empty.Output);
    }

    [Fact]
    public async Task A_target_the_query_engine_refuses_is_unknown_with_the_reason()
    {
        var r = await Run("nosuchFunction(web.*.errors)");
        Assert.Equal(CheckState.Unknown, r.State);
        Assert.StartsWith("METRIC UNKNOWN - cannot evaluate 'nosuchFunction(web.*.errors)': unknown function", r.Output);
    }
}
