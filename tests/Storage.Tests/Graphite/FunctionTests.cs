using Observe.Storage.Graphite;

namespace Observe.Storage.Tests.Graphite;

/// <summary>Each function on small hand-made series (10 s steps), against graphite-web 1.1.8 semantics.</summary>
public class FunctionTests
{
    private const long Now = 1_800_000_000;
    private const long T0 = Now - 1000; // multiple of 10
    private readonly MemorySeriesStore _store = new("10s:1d", () => Now);

    public FunctionTests()
    {
        // a.b.c: 1..6 ; a.x.c: 10,null,30,null,50,60 ; a.y.d: 2,2,2,2,2,2 ; counter with a reset
        double?[] abc = [1, 2, 3, 4, 5, 6];
        double?[] axc = [10, null, 30, null, 50, 60];
        double?[] ayd = [2, 2, 2, 2, 2, 2];
        double?[] cnt = [100, 110, 130, 5, 25, 45];
        double?[] neg = [-1, 2, -3, 4, -5, 6];
        Put("a.b.c", abc); Put("a.x.c", axc); Put("a.y.d", ayd); Put("ctr.hits", cnt); Put("neg.v", neg);
        Put("cpu;dc=east;host=h1", [1, 1, 1, 1, 1, 1]);
        Put("cpu;dc=east;host=h2", [3, 3, 3, 3, 3, 3]);
        Put("cpu;dc=west;host=h3", [5, 5, 5, 5, 5, 5]);
    }

    private void Put(string path, double?[] values)
    {
        for (var i = 0; i < values.Length; i++)
            if (values[i] is { } v) _store.Write(path, v, T0 + 10 + i * 10);
    }

    // from T0 → whisper returns slots T0+10 … T0+60 (6 points) with until = T0+65
    private List<TimeSeries> Eval(string target, long from = T0, long until = T0 + 65, GraphiteEventStore? events = null) =>
        Evaluator.EvaluateTarget(new RenderContext(from, until, Now, 0, _store, events), target);

    private static void Values(TimeSeries s, params double?[] expected)
    {
        var actual = s.Points();
        Assert.True(expected.Length == actual.Count, $"{s.Name}: expected {expected.Length} points, got {actual.Count}: [{string.Join(", ", actual)}]");
        for (var i = 0; i < expected.Length; i++)
        {
            if (expected[i] == null) Assert.True(actual[i] == null, $"{s.Name}[{i}] = {actual[i]}, expected null");
            else Assert.True(actual[i] != null && Math.Abs(actual[i]!.Value - expected[i]!.Value) < 1e-9, $"{s.Name}[{i}] = {actual[i]}, expected {expected[i]}");
        }
    }

    private TimeSeries One(string target)
    {
        var l = Eval(target);
        Assert.Single(l);
        return l[0];
    }

    [Fact]
    public void Fetch_follows_whisper_windows_and_sorts_by_name()
    {
        var l = Eval("a.*.c");
        Assert.Equal(["a.b.c", "a.x.c"], l.Select(s => s.Name));
        Assert.Equal(T0 + 10, l[0].Start);
        Assert.Equal(T0 + 70, l[0].End);
        Assert.Equal(10, l[0].Step);
        Values(l[1], 10, null, 30, null, 50, 60);
    }

    [Fact]
    public void Aggregates()
    {
        var s = One("sumSeries(a.*.c)");
        Assert.Equal("sumSeries(a.*.c)", s.Name);
        Values(s, 11, 2, 33, 4, 55, 66);
        Values(One("averageSeries(a.*.c)"), 5.5, 2, 16.5, 4, 27.5, 33);
        Values(One("maxSeries(a.*.c)"), 10, 2, 30, 4, 50, 60);
        Values(One("minSeries(a.*.c)"), 1, 2, 3, 4, 5, 6);
        // safeDiff drops nulls: [null, 2] -> 2
        Values(One("diffSeries(a.x.c, a.b.c)"), 9, 2, 27, 4, 45, 54);
        Assert.Equal("sumSeries(a.b.c,a.y.d)", One("sumSeries(a.b.c, a.y.d)").Name);
        Assert.Equal("countSeries(a.*.c)", One("countSeries(a.*.c)").Name);
        Values(One("countSeries(a.*.c)"), 2, 2, 2, 2, 2, 2);
        Assert.Empty(Eval("sumSeries(no.such.*)"));
    }

    [Fact]
    public void Aggregates_with_wildcards_and_groupBy()
    {
        var l = Eval("sumSeriesWithWildcards(a.*.c, 1)");
        Assert.Equal("a.c", Assert.Single(l).Name);
        Values(l[0], 11, 2, 33, 4, 55, 66);
        var avg = Eval("averageSeriesWithWildcards(a.*.*, 1)");
        Assert.Equal(["a.c", "a.d"], avg.Select(s => s.Name));
        var g = Eval("groupByNode(a.*.*, 2, 'sumSeries')");
        Assert.Equal(["c", "d"], g.Select(s => s.Name));
        Values(g[0], 11, 2, 33, 4, 55, 66);
        var g2 = Eval("groupByNodes(a.*.*, 'max', 0, 2)");
        Assert.Equal(["a.c", "a.d"], g2.Select(s => s.Name));
        Values(g2[0], 10, 2, 30, 4, 50, 60);
    }

    [Fact]
    public void Aliases()
    {
        Assert.Equal("x", One("alias(a.b.c, 'x')").Name);
        Assert.Equal(["b", "x"], Eval("aliasByNode(a.*.c, 1)").Select(s => s.Name));
        Assert.Equal(["b.c", "x.c"], Eval("aliasByNode(a.*.c, 1, -1)").Select(s => s.Name));
        Assert.Equal("a", One("aliasByNode(sumSeries(a.*.c), 0)").Name);
        Assert.Equal(["ab", "ax"], Eval("aliasSub(a.*.c, '^a\\.(\\w)\\.c$', 'a\\1')").Select(s => s.Name));
        Assert.Equal(["h1", "h2"], Eval("aliasByTags(seriesByTag('dc=east'), 'host')").Select(s => s.Name));
    }

    [Fact]
    public void Transforms()
    {
        var s = One("scale(a.b.c, 2.5)");
        Assert.Equal("scale(a.b.c,2.5)", s.Name);
        Values(s, 2.5, 5, 7.5, 10, 12.5, 15);
        var o = One("offset(a.x.c, -3)");
        Assert.Equal("offset(a.x.c,-3)", o.Name);
        Values(o, 7, null, 27, null, 47, 57);
        Values(One("absolute(neg.v)"), 1, 2, 3, 4, 5, 6);
        var sts = One("scaleToSeconds(a.b.c, 60)");
        Assert.Equal("scaleToSeconds(a.b.c,60)", sts.Name);
        Values(sts, 6, 12, 18, 24, 30, 36);
        Values(One("derivative(a.x.c)"), null, null, null, null, null, 10);
        Values(One("nonNegativeDerivative(ctr.hits)"), null, 10, 20, null, 20, 20);
        Values(One("nonNegativeDerivative(ctr.hits, 199)"), null, 10, 20, 75, 20, 20);
        var ps = One("perSecond(ctr.hits)");
        Assert.Equal("perSecond(ctr.hits)", ps.Name);
        Values(ps, null, 1, 2, null, 2, 2);
        Values(One("integral(a.x.c)"), 10, null, 40, null, 90, 150);
        Values(One("keepLastValue(a.x.c)"), 10, 10, 30, 30, 50, 60);
        Values(One("transformNull(a.x.c, -1)"), 10, -1, 30, -1, 50, 60);
        Assert.Equal("transformNull(a.x.c,-1)", One("transformNull(a.x.c, -1)").Name);
        Values(One("removeBelowValue(a.b.c, 3)"), null, null, 3, 4, 5, 6);
        Assert.Equal("removeBelowValue(a.b.c, 3)", One("removeBelowValue(a.b.c, 3)").Name);
        Values(One("removeAboveValue(a.b.c, 3)"), 1, 2, 3, null, null, null);
    }

    [Fact]
    public void Moving_windows_fetch_earlier_data()
    {
        // window of 2 points: needs the two slots before T0+10, which are empty here
        var m = One("movingAverage(a.b.c, 2)");
        Assert.Equal("movingAverage(a.b.c,2)", m.Name);
        Assert.Equal(T0 + 10, m.Start);
        Values(m, null, 1, 1.5, 2.5, 3.5, 4.5);
        var ms = One("movingSum(a.b.c, '20s')");
        Assert.Equal("movingSum(a.b.c,\"20s\")", ms.Name);
        Values(ms, null, 1, 3, 5, 7, 9);
    }

    [Fact]
    public void Summarize_and_hitcount()
    {
        var s = One("summarize(a.b.c, '30s')");
        Assert.Equal("summarize(a.b.c, \"30s\", \"sum\")", s.Name);
        Assert.Equal(30, s.Step);
        // buckets aligned to 30 s: T0 = 1799999000 is a multiple of 30? 1799999000 % 30 = 20
        Assert.Equal((T0 + 10) - (T0 + 10) % 30, s.Start);
        var h = One("hitcount(a.y.d, '30s')");
        Assert.Equal("hitcount(a.y.d, \"30s\")", h.Name);
        Assert.Equal(2 * 10 * 6, h.Points().Sum(v => v ?? 0));
        var sm = One("summarize(a.b.c, '1min', 'max', true)");
        Assert.Equal("summarize(a.b.c, \"1min\", \"max\", true)", sm.Name);
        Values(sm, 6);
    }

    [Fact]
    public void Ratios()
    {
        var d = One("divideSeries(a.x.c, a.b.c)");
        Assert.Equal("divideSeries(a.x.c,a.b.c)", d.Name);
        Values(d, 10, null, 10, null, 10, 10);
        var p = Eval("asPercent(a.*.c)");
        Assert.Equal("asPercent(a.b.c,sumSeries(a.*.c))", p[0].Name);
        Values(p[1], 100.0 * 10 / 11, null, 100.0 * 30 / 33, null, 100.0 * 50 / 55, 100.0 * 60 / 66);
        Values(One("asPercent(a.b.c, 10)"), 10, 20, 30, 40, 50, 60);
        Assert.Equal("asPercent(a.b.c,a.y.d)", One("asPercent(a.b.c, a.y.d)").Name);
    }

    [Fact]
    public void Selection_and_sorting()
    {
        Assert.Equal(["a.x.c"], Eval("highestCurrent(a.*.*, 1)").Select(s => s.Name));
        Assert.Equal(["a.x.c", "a.b.c"], Eval("highestAverage(a.*.*, 2)").Select(s => s.Name));
        Assert.Equal(["a.x.c"], Eval("highestMax(a.*.*, 1)").Select(s => s.Name));
        Assert.Equal(["a.y.d"], Eval("lowestCurrent(a.*.*, 1)").Select(s => s.Name));
        Assert.Equal(["a.b.c"], Eval("limit(a.*.*, 1)").Select(s => s.Name));
        Assert.Equal(["a.x.c", "a.b.c", "a.y.d"], Eval("sortByMaxima(a.*.*)").Select(s => s.Name));
        Assert.Equal(["a.y.d", "a.x.c", "a.b.c"], Eval("sortByName(a.*.*, reverse=true)").Select(s => s.Name));
        Assert.Equal(["a.b.c", "a.y.d"], Eval("exclude(a.*.*, 'x')").Select(s => s.Name));
        Assert.Equal(["a.x.c"], Eval("grep(a.*.*, 'x')").Select(s => s.Name));
    }

    [Fact]
    public void Percentile()
    {
        var p = One("percentileOfSeries(a.*.*, 50)");
        Assert.Equal("percentileOfSeries(a.*.*,50)", p.Name);
        Values(p, 2, 2, 3, 4, 5, 6);
        Assert.Equal(5.0, Evaluator.GetPercentile([1, 2, 3, 4, 5, 6, 7, 8, 9], 50, false));
        Assert.Equal(7.5, Evaluator.GetPercentile([1, 2, 3, 4, 5, 6, 7, 8, 9], 75, true));
    }

    [Fact]
    public void Tags()
    {
        Assert.Equal(["cpu;dc=east;host=h1", "cpu;dc=east;host=h2"], Eval("seriesByTag('dc=east')").Select(s => s.Name));
        Assert.Equal(["cpu;dc=east;host=h2", "cpu;dc=west;host=h3"], Eval("seriesByTag('name=cpu', 'host!=h1')").Select(s => s.Name));
        Assert.Equal(["cpu;dc=west;host=h3"], Eval("seriesByTag('name=~cp', 'dc=~w')").Select(s => s.Name));
        Assert.Equal("sumSeries(seriesByTag('dc=east'))", One("sumSeries(seriesByTag('dc=east'))").Name);
        var g = Eval("groupByTags(seriesByTag('name=cpu'), 'sum', 'dc')");
        Assert.Equal(["cpu;dc=east", "cpu;dc=west"], g.Select(s => s.Name));
        Values(g[0], 4, 4, 4, 4, 4, 4);
        Assert.Throws<GraphiteInputException>(() => Eval("seriesByTag('host!=h1')"));
    }

    [Fact]
    public void TimeShift_and_constantLine_and_consolidateBy()
    {
        var t = One("timeShift(a.b.c, '10s')");
        Assert.Equal("timeShift(a.b.c, \"-10s\")", t.Name);
        Values(t, null, 1, 2, 3, 4, 5);
        var c = One("constantLine(42)");
        Assert.Equal("42.0", c.Name);
        Assert.Equal(3, c.Values.Count);
        Assert.Equal(T0, c.Start);
        var cb = One("consolidateBy(a.b.c, 'max')");
        Assert.Equal("consolidateBy(a.b.c,\"max\")", cb.Name);
        Assert.Equal("max", cb.ConsolidationFunc);
        Assert.Equal("a.b.c", One("color(a.b.c, 'red')").Name);
        Assert.Equal("drawAsInfinite(a.b.c)", One("drawAsInfinite(a.b.c)").Name);
    }

    [Fact]
    public void Events_function_counts_events_per_second()
    {
        using var ev = GraphiteEventStore.InMemory();
        ev.Add("deploy", ["deploy", "api"], "x", T0 + 20);
        ev.Add("deploy", ["deploy"], "y", T0 + 20);
        ev.Add("other", ["ops"], "", T0 + 30);
        var s = Eval("events('deploy')", events: ev).Single();
        Assert.Equal("events(\"deploy\")", s.Name);
        Assert.Equal(1, s.Step);
        Assert.Equal(2, s.Values[20]);
        Assert.Null(s.Values[30]);
        Assert.Equal(3, Eval("events('*')", events: ev).Single().Values.Sum(v => v ?? 0));
    }

    [Fact]
    public void Nested_calls_and_mixed_steps_normalise_to_the_lcm()
    {
        var s = One("sumSeries(summarize(a.b.c, '20s', 'sum', true), a.y.d)");
        Assert.Equal(20, s.Step);
        var n = Eval("aliasByNode(movingAverage(scale(a.*.c, 2), 1), 1)");
        Assert.Equal(["b", "x"], n.Select(x => x.Name));
        Values(n[0], null, 2, 4, 6, 8, 10);
    }

    [Fact]
    public void Unknown_function_is_an_input_error_naming_the_position()
    {
        var e = Assert.Throws<GraphiteInputException>(() => Eval("sumSeries(nope(a.b.c))"));
        Assert.Contains("nope", e.Message);
        Assert.Contains("position 10", e.Message);
    }

    [Theory]
    [InlineData("alias(a.b.c, 'x', 'y')", "Too many parameters specified for function \"alias\"")]
    [InlineData("movingAverage(a.b.c, 2, bogus=1)", "Unexpected keyword arguments: bogus")]
    [InlineData("alias(a.b.c)", "Missing required parameter \"newName\"")]
    [InlineData("timeShift(a.b.c, 5)", "Invalid \"interval\" value specified for parameter \"timeShift\": 5")]
    [InlineData("keepLastValue(a.b.c, 2.5)", "Invalid \"intOrInf\" value specified for parameter \"limit\": 2.5")]
    [InlineData("sortByName(a.b.c, 'maybe')", "Invalid \"boolean\" value specified for parameter \"natural\": 'maybe'")]
    [InlineData("sumSeries(a.b.c, 5)", "Invalid \"seriesList\" value specified for parameter \"seriesLists\": 5")]
    public void Arguments_are_checked_against_the_declared_parameters(string target, string message)
    {
        var e = Assert.Throws<GraphiteInputException>(() => Eval(target));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Arguments_are_converted_as_graphite_webs_validators_convert_them()
    {
        // boolean parameters take 'true' and 1; integer ones a string of digits; a keyword finds its declared parameter
        Assert.Equal(["a.x.c", "a.b.c"], Eval("sortByName(a.*.c, reverse='true')").Select(s => s.Name));
        Assert.Equal(["a.x.c", "a.b.c"], Eval("sortByName(a.*.c, 0, 1)").Select(s => s.Name));
        Assert.Single(Eval("highest(a.*.c, '1')"));
        Values(One("keepLastValue(a.x.c, limit=1)"), 10, 10, 30, 30, 50, 60);
        // a keyword as graphite-web's Python signature spells it is that parameter (timeShift: alignDST, metadata alignDst)
        Assert.Equal(Eval("timeShift(a.b.c, '10s', true, true)").Single().Values, Eval("timeShift(a.b.c, '10s', alignDST=true)").Single().Values);
        Assert.Equal(Eval("timeShift(a.b.c, '10s', true, true)").Single().Values, Eval("timeShift(a.b.c, '10s', alignDst=true)").Single().Values);
        Assert.Contains("Unexpected keyword arguments: aligndst", Assert.Throws<GraphiteInputException>(() => Eval("timeShift(a.b.c, '10s', aligndst=true)")).Message);
    }

    [Fact]
    public void Json_rendering_consolidates_for_maxDataPoints()
    {
        var data = Eval("a.b.c");
        var req = new GraphiteApi.RenderRequest(["a.b.c"], T0, T0 + 65, Now, "json", 3, false, 0, null);
        var json = GraphiteApi.RenderJson(data, req);
        Assert.StartsWith("[{\"target\": \"a.b.c\"", json);
        Assert.Contains("\"datapoints\": [", json);
        var none = GraphiteApi.RenderJson(Eval("a.x.c"), req with { MaxDataPoints = null, NoNullPoints = true });
        Assert.DoesNotContain("null", none.Split("datapoints")[1]);
    }
}
