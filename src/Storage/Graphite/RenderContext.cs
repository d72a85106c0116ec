namespace Observe.Storage.Graphite;

/// <summary>graphite-web's requestContext: the time window and the stores a target is evaluated against.</summary>
/// <remarks>
/// <see cref="Prefetched"/> mirrors graphite-web's prefetch: only path expressions (and seriesByTag calls)
/// reachable through positional arguments are fetched; a path given only as a keyword argument
/// (<c>transformNull(x, 0, referenceSeries=y)</c>) evaluates to an empty list there, and here. Null = fetch anything.
/// </remarks>
internal sealed record RenderContext(long StartTime, long EndTime, long Now, double XFilesFactor,
    ISeriesReader Reader, GraphiteEventStore? Events, IReadOnlySet<string>? Prefetched = null, PointBudget? Budget = null)
{
    public RenderContext WithWindow(long start, long end) => this with { StartTime = start, EndTime = end };
}

/// <summary>How many points one render request may still read; a fetch beyond it ends the request with a 400.</summary>
internal sealed class PointBudget(long max)
{
    private long _used;

    public void Take(int points)
    {
        _used += points;
        if (_used > max)
            throw new GraphiteInputException($"this request reads more than {max} points (storage.render.maxPoints): use a shorter time range or fewer series");
    }
}
