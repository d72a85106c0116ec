namespace Observe.Storage.Graphite;

/// <summary>graphite-web's requestContext: the time window and the stores a target is evaluated against.</summary>
internal sealed record RenderContext(long StartTime, long EndTime, long Now, double XFilesFactor,
    ISeriesReader Reader, GraphiteEventStore? Events)
{
    public RenderContext WithWindow(long start, long end) => this with { StartTime = start, EndTime = end };
}
