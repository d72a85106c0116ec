using Observe.Storage.Graphite;

namespace Observe.Storage.Tests.Graphite;

/// <summary>
/// Issue 21 (query side): the render limits bound what a request costs — points held in memory at once, points read
/// (CPU), time — not the points a fleet-wide aggregate reads, so sumSeries over 1 000 series × 6 h answers with the
/// default limits while a request with no practical bound is still refused naming the key.
/// </summary>
public class RenderCostBoundsTests
{
    private const long Now = 1_800_000_000;

    private static MemorySeriesStore Fleet(int hosts, string retentions)
    {
        var store = new MemorySeriesStore(retentions, () => Now);
        for (var h = 0; h < hosts; h++)
            for (var t = 0; t < 3; t++) store.Write($"fleet.host{h:D4}.requests", h + t * 0.5, Now - 60 - t * 10);
        return store;
    }

    [Theory]
    [InlineData("sumSeries(fleet.*.requests)", "sumSeries")]
    [InlineData("averageSeries(fleet.*.requests)", "averageSeries")]
    [InlineData("maxSeries(fleet.*.requests)", "maxSeries")]
    [InlineData("aggregate(fleet.*.requests,\"min\")", "minSeries")]
    public void A_fleet_aggregate_of_1000_series_over_6_hours_answers_with_the_default_limits(string target, string name)
    {
        // 1 000 series × 2 160 points (6 h at 10 s) = 2.16 M points read: more than the old maxPoints (2 M) refused.
        var store = Fleet(1000, "10s:6h");
        var result = Assert.Single(RenderBoundsTests.Render(store, target, "-6h"));
        Assert.Equal($"{name}(fleet.*.requests)", result.Name);
        Assert.Equal(2160, result.Values.Count);
        Assert.Equal(3, result.Values.Count(v => v.HasValue));
    }

    [Fact]
    public void Materialising_the_same_fleet_is_refused_by_the_points_held_at_once()
    {
        // scale() needs every input series at once: 2.16 M points held is past storage.render.maxPoints.
        var store = Fleet(1000, "10s:6h");
        var e = Assert.Throws<GraphiteLimitException>(() => RenderBoundsTests.Render(store, "sumSeries(scale(fleet.*.requests,1))", "-6h"));
        Assert.Equal("storage.render.maxPoints", e.Key);
        Assert.Contains("holds more than 2000000 points at once", e.Message);
    }

    [Fact]
    public void A_fleet_sum_over_5_years_is_refused_by_the_points_read_cost_bound()
    {
        // 400 series × 262 800 points (5 y at 10 m) = 105 M points decoded: no dashboard needs that at once.
        var store = Fleet(400, "10m:5y");
        var e = Assert.Throws<GraphiteLimitException>(() => RenderBoundsTests.Render(store, "sumSeries(fleet.*.requests)", "-5y"));
        Assert.Equal("storage.render.maxPointsRead", e.Key);
        Assert.Contains("reads more than 100000000 points", e.Message);
    }
}

/// <summary>The streamed fold gives the very bits the materialising aggregate gives (group() defeats streaming, changing nothing else).</summary>
public class StreamingAggregateIdentityTests
{
    private const long Now = 1_800_000_000;

    [Theory]
    [InlineData("sumSeries({0})")]
    [InlineData("averageSeries({0})")]
    [InlineData("minSeries({0})")]
    [InlineData("maxSeries({0})")]
    [InlineData("sum({0})")]
    [InlineData("avg({0})")]
    [InlineData("aggregate({0},\"total\",0.3)")]
    [InlineData("aggregate({0},\"avg\")")]
    public void Streamed_and_materialised_aggregates_agree_to_the_bit(string shape)
    {
        var store = new MemorySeriesStore("10s:1h", () => Now);
        var rng = new Random(21);
        double[] odd = [double.NaN, -0.0, 0.0, 1e300, -1e300, 1e-300, 0.1, double.PositiveInfinity];
        for (var h = 0; h < 40; h++)
            for (var t = 0; t < 360; t++)
                if (rng.NextDouble() < 0.6)
                    store.Write($"mix.h{h:D2}", rng.NextDouble() < 0.05 ? odd[rng.Next(odd.Length)] : rng.NextDouble() * 1e6 - 5e5, Now - 10 * t);
        // aggregate() takes one series list
        string[] inputs = shape.StartsWith("aggregate", StringComparison.Ordinal) ? ["mix.*"] : ["mix.*", "mix.h0*,mix.h1*"];
        foreach (var input in inputs)
        {
            var streamed = RenderBoundsTests.Render(store, string.Format(shape, input), "-1h");
            var materialised = RenderBoundsTests.Render(store, string.Format(shape, string.Join(",", input.Split(',').Select(p => $"group({p})"))), "-1h");
            var a = Assert.Single(streamed);
            var b = Assert.Single(materialised);
            Assert.Equal((b.Start, b.End, b.Step, b.XFilesFactor), (a.Start, a.End, a.Step, a.XFilesFactor));
            Assert.Equal(b.Tags.OrderBy(k => k.Key), a.Tags.OrderBy(k => k.Key));
            Assert.Equal(b.Values.Select(Bits), a.Values.Select(Bits));
        }
    }

    private static long? Bits(double? v) => v is { } d ? BitConverter.DoubleToInt64Bits(d) : null;
}
