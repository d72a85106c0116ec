namespace Observe.Storage.Graphite;

/// <summary>graphite-web's requestContext: the time window and the stores a target is evaluated against.</summary>
/// <remarks>
/// <see cref="Prefetched"/> mirrors graphite-web's prefetch: only path expressions (and seriesByTag calls)
/// reachable through positional arguments are fetched; a path given only as a keyword argument
/// (<c>transformNull(x, 0, referenceSeries=y)</c>) evaluates to an empty list there, and here. Null = fetch anything.
/// </remarks>
internal sealed record RenderContext(long StartTime, long EndTime, long Now, double XFilesFactor,
    ISeriesReader Reader, GraphiteEventStore? Events, IReadOnlySet<string>? Prefetched = null, RenderBudget? Budget = null)
{
    public RenderContext WithWindow(long start, long end) => this with { StartTime = start, EndTime = end };
}

/// <summary>
/// What one render request may cost. Memory: points it holds at once (<c>storage.render.maxPoints</c>: series read and not
/// yet folded away — an aggregate streams its inputs, so it holds one series and its accumulator — plus nothing
/// released) and points output by function calls (<c>storage.render.maxPointsProduced</c>: a function that makes many
/// points from few — summarize or hitcount with a short interval over years, events() — asks <see cref="EnsureRoom"/>
/// before it allocates). Work: points decoded from the store (<c>storage.render.maxPointsRead</c>, a CPU bound that trips
/// the same way on any machine) and wall time (<c>storage.render.timeoutSeconds</c>, checked whenever points are counted
/// and in quadratic loops). Past any of them the request ends with a 400 naming the key. One request evaluates on one thread.
/// </summary>
internal sealed class RenderBudget(long maxHeld, long maxRead, long maxProduced, TimeSpan timeout, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly long _started = (time ?? TimeProvider.System).GetTimestamp();
    private long _read, _held, _heldPeak, _produced;

    public RenderBudget(RenderLimitOptions limits, TimeProvider? time = null)
        : this(limits.MaxPoints, limits.MaxPointsRead, limits.MaxPointsProduced, TimeSpan.FromSeconds(limits.TimeoutSeconds), time) { }

    public long Read => _read;
    public long HeldPeak => _heldPeak;
    public long Produced => _produced;

    /// <summary>Counts points read from the store, held until <see cref="Release"/>.</summary>
    public void Take(int points)
    {
        _read += points;
        _held += points;
        _heldPeak = Math.Max(_heldPeak, _held);
        if (_held > maxHeld)
            throw new GraphiteLimitException("storage.render.maxPoints",
                $"this request holds more than {maxHeld} points at once (storage.render.maxPoints): aggregate the series (sumSeries, averageSeries…) directly, or use a shorter time range or fewer series");
        if (_read > maxRead)
            throw new GraphiteLimitException("storage.render.maxPointsRead",
                $"this request reads more than {maxRead} points from the store (storage.render.maxPointsRead): use a shorter time range or fewer series");
        CheckTime();
    }

    /// <summary>Points read earlier that a streaming aggregate has folded and dropped.</summary>
    public void Release(int points) => _held -= points;

    /// <summary>Throws unless <paramref name="points"/> more output points fit; call before allocating them.</summary>
    public void EnsureRoom(long points, string function)
    {
        if (points > maxProduced - _produced)
            throw new GraphiteLimitException("storage.render.maxPointsProduced",
                $"{function} would output {points} points, more than this request may produce ({maxProduced}, storage.render.maxPointsProduced): use a longer interval, a shorter time range or fewer series");
        CheckTime();
    }

    /// <summary>Counts points a function call output.</summary>
    public void Produce(long points, string function)
    {
        EnsureRoom(points, function);
        _produced += points;
    }

    public void CheckTime()
    {
        if (_time.GetElapsedTime(_started) > timeout)
            throw new GraphiteLimitException("storage.render.timeoutSeconds",
                $"this request took longer than {timeout.TotalSeconds:0} s to evaluate (storage.render.timeoutSeconds)");
    }
}
