using System.Text.Json;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Enumerates graphite-web 1.1.8's SeriesFunctions (its /functions endpoint, which lists exactly that registry)
/// from the real graphite-web the differential fixture starts, and fails naming each one Observe lacks.
/// </summary>
public sealed class GraphiteFunctionCoverageTests(GraphiteDifferentialFixture fx, ITestOutputHelper output) : IClassFixture<GraphiteDifferentialFixture>
{
    /// <summary>
    /// Functions not implemented yet (issue 18). This set may only shrink: the test fails if one listed here is
    /// implemented (remove it, add a differential target) or if a function is missing without being listed.
    /// </summary>
    public static readonly SortedSet<string> NotYet = new(StringComparer.Ordinal)
    {
    };

    [Fact]
    public async Task Every_graphite_web_series_function_is_implemented_or_listed_as_not_yet()
    {
        using var g = JsonDocument.Parse((await fx.Http.GetStringAsync(fx.GraphiteUrl + "/functions")).Replace("Infinity", "1e9999").Replace("NaN", "null"));
        using var o = JsonDocument.Parse(await fx.Http.GetStringAsync(fx.ObserveUrl + "/functions"));
        var graphite = g.RootElement.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var observe = o.RootElement.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        Assert.True(graphite.Count >= 140, $"graphite-web listed only {graphite.Count} functions");
        var missing = graphite.Where(n => !observe.Contains(n)).Order(StringComparer.Ordinal).ToList();
        output.WriteLine($"graphite-web: {graphite.Count} functions, Observe: {observe.Count}, missing {missing.Count}: {string.Join(", ", missing)}");
        var unlisted = missing.Where(n => !NotYet.Contains(n)).ToList();
        Assert.True(unlisted.Count == 0, "graphite-web functions missing from Observe: " + string.Join(", ", unlisted));
        var done = NotYet.Where(n => !missing.Contains(n)).ToList();
        Assert.True(done.Count == 0, "implemented (or not graphite-web functions): remove from NotYet: " + string.Join(", ", done));
    }

    /// <summary>Every implemented function is held against graphite-web by at least one differential target.</summary>
    [Fact]
    public async Task Every_observe_function_has_a_differential_target()
    {
        using var o = JsonDocument.Parse(await fx.Http.GetStringAsync(fx.ObserveUrl + "/functions"));
        var uncovered = o.RootElement.EnumerateObject().Select(p => p.Name)
            .Where(n => !GraphiteDifferentialTests.Targets.Concat(GraphiteDifferentialTests.NowRelativeTargets).Append("randomWalk(").Append("randomWalkFunction(").Any(t => t.Contains(n + "(", StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal).ToList();
        output.WriteLine("without a differential target: " + string.Join(", ", uncovered));
        var unlisted = uncovered.Where(n => !NotYetCovered.Contains(n)).ToList();
        Assert.True(unlisted.Count == 0, "functions without a differential target: " + string.Join(", ", unlisted));
    }

    /// <summary>Implemented before issue 18 without a differential target; may only shrink.</summary>
    public static readonly SortedSet<string> NotYetCovered = new(StringComparer.Ordinal) { };
}
