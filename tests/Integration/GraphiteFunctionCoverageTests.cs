using System.Net;
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
            .Where(n => !GraphiteDifferentialTests.Targets.Concat(GraphiteDifferentialTests.NowRelativeTargets).Concat(GraphiteDifferentialTests.RandomTargets).Any(t => t.Contains(n + "(", StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal).ToList();
        output.WriteLine("without a differential target: " + string.Join(", ", uncovered));
        var unlisted = uncovered.Where(n => !NotYetCovered.Contains(n)).ToList();
        Assert.True(unlisted.Count == 0, "functions without a differential target: " + string.Join(", ", unlisted));
    }

    /// <summary>
    /// /functions serves graphite-web's metadata for every function: name, group, Python signature and each parameter's name, type,
    /// required, default, multiple, options and suggestions, as Grafana's function editor reads them. Descriptions are Observe's
    /// (the first paragraph of graphite-web's docstring), so they are only required to be there.
    /// </summary>
    [Fact]
    public async Task Functions_metadata_equals_graphite_webs_for_every_function()
    {
        using var g = await FunctionsJson(fx.GraphiteUrl + "/functions");
        using var o = await FunctionsJson(fx.ObserveUrl + "/functions");
        var differ = new List<string>();
        foreach (var gf in g.RootElement.EnumerateObject())
        {
            if (!o.RootElement.TryGetProperty(gf.Name, out var of)) { differ.Add(gf.Name + ": missing"); continue; }
            foreach (var key in new[] { "name", "function", "module", "group", "params" })
                if (Canonical(gf.Value.GetProperty(key)) != Canonical(of.GetProperty(key)))
                    differ.Add($"{gf.Name}.{key}: graphite-web {Canonical(gf.Value.GetProperty(key))}\n    observe {Canonical(of.GetProperty(key))}");
            Assert.False(string.IsNullOrWhiteSpace(of.GetProperty("description").GetString()), gf.Name + " has no description");
        }
        output.WriteLine($"{g.RootElement.EnumerateObject().Count()} functions compared");
        Assert.True(differ.Count == 0, $"{differ.Count} differences:\n" + string.Join("\n", differ));
        Assert.Equal(g.RootElement.EnumerateObject().Select(p => p.Name), o.RootElement.EnumerateObject().Select(p => p.Name));
    }

    /// <summary>?grouped=true, ?group=, /functions/&lt;name&gt; and an unknown name answer as graphite-web's views do.</summary>
    [Fact]
    public async Task Functions_grouped_filtered_single_and_unknown_answer_as_graphite_web()
    {
        using (var g = await FunctionsJson(fx.GraphiteUrl + "/functions?grouped=true"))
        using (var o = await FunctionsJson(fx.ObserveUrl + "/functions?grouped=true"))
            Assert.Equal(Groups(g), Groups(o));
        using (var g = await FunctionsJson(fx.GraphiteUrl + "/functions?group=Alias"))
        using (var o = await FunctionsJson(fx.ObserveUrl + "/functions?group=Alias"))
            Assert.Equal(g.RootElement.EnumerateObject().Select(p => p.Name), o.RootElement.EnumerateObject().Select(p => p.Name));
        foreach (var name in new[] { "movingAverage", "groupByNode", "smartSummarize", "keepLastValue" })
        {
            using var g = await FunctionsJson($"{fx.GraphiteUrl}/functions/{name}");
            using var o = await FunctionsJson($"{fx.ObserveUrl}/functions/{name}");
            Assert.Equal(Canonical(g.RootElement.GetProperty("params")), Canonical(o.RootElement.GetProperty("params")));
            Assert.Equal(g.RootElement.GetProperty("function").GetString(), o.RootElement.GetProperty("function").GetString());
        }
        var gr = await fx.Http.GetAsync(fx.GraphiteUrl + "/functions/noSuchFunction");
        var or = await fx.Http.GetAsync(fx.ObserveUrl + "/functions/noSuchFunction");
        Assert.Equal(HttpStatusCode.NotFound, gr.StatusCode);
        Assert.Equal(gr.StatusCode, or.StatusCode);
        Assert.Equal(await gr.Content.ReadAsStringAsync(), await or.Content.ReadAsStringAsync());

        static string Groups(JsonDocument d) => string.Join("; ", d.RootElement.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => p.Name + ": " + string.Join(",", p.Value.EnumerateObject().Select(f => f.Name).Order(StringComparer.Ordinal))));
    }

    // graphite-web writes Python's Infinity for limit=inf where its encoder misses it; Observe writes 1e9999 throughout
    private async Task<JsonDocument> FunctionsJson(string url) =>
        JsonDocument.Parse((await fx.Http.GetStringAsync(url)).Replace("Infinity", "1e9999"));

    private static string Canonical(JsonElement e) => JsonSerializer.Serialize(e);

    /// <summary>
    /// Every optional parameter of every function is exercised by some differential target: a call with at least
    /// that many positional arguments (a piped series counts as the first), or the parameter named as a keyword.
    /// </summary>
    [Fact]
    public async Task Every_optional_parameter_has_a_differential_target()
    {
        using var o = JsonDocument.Parse(await fx.Http.GetStringAsync(fx.ObserveUrl + "/functions"));
        var calls = GraphiteDifferentialTests.Targets.Concat(GraphiteDifferentialTests.NowRelativeTargets)
            .Concat(GraphiteDifferentialTests.RandomTargets).Concat(GraphiteDifferentialTests.KnownDeviations.Keys).SelectMany(TargetCalls.Of).ToList();
        var uncovered = new List<string>();
        var pairs = 0;
        foreach (var f in o.RootElement.EnumerateObject())
        {
            var ps = f.Value.GetProperty("params").EnumerateArray().ToList();
            for (var i = 0; i < ps.Count; i++)
            {
                if (ps[i].TryGetProperty("required", out var r) && r.GetBoolean()) continue; // graphite-web writes "required" only when true
                var name = ps[i].GetProperty("name").GetString()!;
                pairs++;
                if (calls.Any(c => c.Function == f.Name && (c.Positional > i || c.Keywords.Contains(name)))) continue;
                if (!ParamsThatCannotDiffer.ContainsKey($"{f.Name}.{name}")) uncovered.Add($"{f.Name}.{name}");
            }
        }
        output.WriteLine($"{pairs} optional (function, parameter) pairs; {ParamsThatCannotDiffer.Count} allowlisted");
        Assert.True(uncovered.Count == 0, $"{uncovered.Count} optional parameters no differential target exercises: " + string.Join(", ", uncovered));
    }

    /// <summary>
    /// Optional parameters that cannot change a differential run's output, each with why. Everything else needs a target.
    /// </summary>
    public static readonly Dictionary<string, string> ParamsThatCannotDiffer = new(StringComparer.Ordinal)
    {
    };

    /// <summary>Implemented before issue 18 without a differential target; may only shrink.</summary>
    public static readonly SortedSet<string> NotYetCovered = new(StringComparer.Ordinal) { };
}
