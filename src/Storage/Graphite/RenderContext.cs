namespace Observe.Storage.Graphite;

/// <summary>graphite-web's requestContext: the time window and the stores a target is evaluated against.</summary>
/// <remarks>
/// <see cref="Prefetched"/> mirrors graphite-web's prefetch: only path expressions (and seriesByTag calls)
/// reachable through positional arguments are fetched; a path given only as a keyword argument
/// (<c>transformNull(x, 0, referenceSeries=y)</c>) evaluates to an empty list there, and here. Null = fetch anything.
/// </remarks>
internal sealed record RenderContext(long StartTime, long EndTime, long Now, double XFilesFactor,
    ISeriesReader Reader, GraphiteEventStore? Events, IReadOnlySet<string>? Prefetched = null)
{
    public RenderContext WithWindow(long start, long end) => this with { StartTime = start, EndTime = end };
}
