namespace Observe.Storage.Graphite;

internal static partial class Evaluator
{
    /// <summary>
    /// Evaluates <paramref name="requested"/> over <c>[from, until]</c> under one <see cref="RenderBudget"/>: what <c>/render</c>
    /// runs for its targets and what <see cref="ISeriesQuery"/> and <see cref="ISeriesGraphs"/> call directly (no HTTP request).
    /// </summary>
    public static List<TimeSeries> EvaluateTargets(IReadOnlyList<string> requested, long from, long until, long now, double xFilesFactor,
        ISeriesReader reader, GraphiteEventStore? events, RenderLimitOptions? limits = null)
    {
        if (limits != null && requested.Count > limits.MaxTargets)
            throw new GraphiteLimitException("storage.render.maxTargets", $"{requested.Count} targets in one request; at most {limits.MaxTargets} (storage.render.maxTargets)");
        limits ??= new RenderLimitOptions();
        var targets = requested.Where(t => !string.IsNullOrWhiteSpace(t)).ToList();
        var nodes = targets.Select(t => TargetParser.Parse(t, limits.MaxDepth)).ToList();
        var ctx = new RenderContext(from, until, now, xFilesFactor, reader, events, PathExpressions(nodes), new RenderBudget(limits));
        var data = new List<TimeSeries>();
        // Only GraphiteInputException (and the request-value exceptions Guard lists) is the caller's error; anything else a
        // function throws is Observe's bug and goes on to Guard's 500.
        foreach (var node in nodes) data.AddRange(EvaluateTarget(ctx, node));
        return data;
    }
}
