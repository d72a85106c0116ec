using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Observe.Collector.Statsd;

namespace Observe.Collector.Pipeline;

/// <summary>
/// Flushes the StatsD aggregator on wall-clock boundaries of the flush interval (:00, :10, :20 … for
/// 10 s), so every Observe node flushes at the same instants and Graphite slots line up with the step.
/// </summary>
internal sealed class FlushScheduler : IAsyncDisposable
{
    private readonly StatsdAggregator _aggregator;
    private readonly SinkFanout _fanout;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly int _intervalMs;
    private readonly CancellationTokenSource _cts = new();
    private readonly Lock _flushLock = new();
    private Task? _loop;
    private long _flushes, _lastFlushMs, _lastFlushPoints;
    private double _lastFlushSeconds;

    private readonly IReadOnlyList<IFlushMetricSource> _sources;

    public FlushScheduler(StatsdAggregator aggregator, SinkFanout fanout, int intervalMs, TimeProvider time, ILogger log,
        IReadOnlyList<IFlushMetricSource>? sources = null)
    {
        _sources = sources ?? [];
        _aggregator = aggregator;
        _fanout = fanout;
        _intervalMs = intervalMs;
        _time = time;
        _log = log;
    }

    public long Flushes => Interlocked.Read(ref _flushes);
    public long LastFlushUnixMs => Interlocked.Read(ref _lastFlushMs);
    public long LastFlushPoints => Interlocked.Read(ref _lastFlushPoints);
    public double LastFlushSeconds => Volatile.Read(ref _lastFlushSeconds);

    public void Start() => _loop = Task.Run(Loop);

    /// <summary>Milliseconds from <paramref name="nowMs"/> to the next multiple of the interval.</summary>
    internal static long DelayToNextBoundary(long nowMs, int intervalMs) => intervalMs - (nowMs % intervalMs);

    private async Task Loop()
    {
        var ct = _cts.Token;
        long last = 0;
        while (!ct.IsCancellationRequested)
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            // Stamped with the boundary it was scheduled for: a timer that fires a millisecond early would otherwise
            // stamp the previous boundary and overwrite that flush in every store that keeps one value per slot.
            var boundary = Math.Max(now + DelayToNextBoundary(now, _intervalMs), last + _intervalMs);
            try { await Task.Delay(TimeSpan.FromMilliseconds(boundary - now), _time, ct); }
            catch (OperationCanceledException) { return; }
            FlushOnce(boundary);
            last = boundary;
        }
    }

    /// <summary>One flush: aggregate, then hand the batch to every sink's queue (tags in the client's order: <see cref="SinkFanout"/>).</summary>
    /// <param name="stampMs">The flush's timestamp; by default now (the scheduler runs it on the boundary).</param>
    public void FlushOnce(long? stampMs = null)
    {
        lock (_flushLock) FlushLocked(stampMs);
    }

    /// <summary>
    /// Ends the schedule with one last flush. Waiting for the end of the current interval (when it is at most
    /// <paramref name="maxWait"/> away) makes that flush a whole interval stamped on its boundary, like every other;
    /// flushing at once would stamp a part-interval, and the next process's first flush of the same interval would
    /// overwrite it in a store with one value per slot. <paramref name="closeInput"/> runs right before the last flush,
    /// so that nothing arrives after it. Returns how long it waited.
    /// </summary>
    public async Task<TimeSpan> StopAsync(bool waitForBoundary, TimeSpan maxWait, Func<Task> closeInput)
    {
        _cts.Cancel();
        if (_loop != null) { try { await _loop; } catch { } }
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var delay = DelayToNextBoundary(now, _intervalMs);
        var waited = waitForBoundary && delay <= maxWait.TotalMilliseconds ? TimeSpan.FromMilliseconds(delay) : TimeSpan.Zero;
        if (waited > TimeSpan.Zero)
        {
            _log.LogInformation("stopping: receiving StatsD until the flush interval ends in {Ms} ms", delay);
            await Task.Delay(waited, _time);
        }
        await closeInput();
        // Stamped with the end of the interval the data belongs to: stamping it now would put it into the slot of the
        // previous flush and replace that.
        FlushOnce(now + delay);
        return waited;
    }

    private void FlushLocked(long? stampMs)
    {
        var sw = Stopwatch.StartNew();
        var nowMs = stampMs ?? _time.GetUtcNow().ToUnixTimeMilliseconds();
        var trace = new FlushTrace(nowMs, _fanout.SinkCount, SlowFlush, Delivered);
        MetricBatch batch;
        try
        {
            batch = _aggregator.Flush(nowMs, _sources.Count == 0 ? 0 : _sourcePoints + 64);
            trace.Snapshot = _aggregator.LastSnapshotTime;
            trace.Build = _aggregator.LastBuildTime;
            var sourcesStart = Stopwatch.GetTimestamp();
            batch = WithSourcePoints(batch);
            trace.Sources = Stopwatch.GetElapsedTime(sourcesStart);
        }
        catch (Exception e)
        {
            _log.LogError(e, "statsd flush failed");
            return;
        }
        trace.Points = batch.Points.Count;
        var publishStart = Stopwatch.GetTimestamp();
        // A sink that writes the batch before the hand-off to the others ends reports publish as 0 (a trivially quick flush).
        var published = _fanout.Publish(batch, trace);
        trace.Publish = Stopwatch.GetElapsedTime(publishStart);
        if (!published) Delivered(trace);
        Volatile.Write(ref _lastFlushSeconds, sw.Elapsed.TotalSeconds);
        Interlocked.Exchange(ref _lastFlushMs, nowMs);
        Interlocked.Exchange(ref _lastFlushPoints, batch.Points.Count);
        Interlocked.Increment(ref _flushes);
    }

    /// <summary>Points the sources added to the last flush: the aggregator leaves that much room (and 64 more) in its list.</summary>
    private int _sourcePoints;

    /// <summary>A flush slower than this, from its start until the last sink wrote it, is logged with its phases.</summary>
    internal TimeSpan SlowFlush { get; init; } = TimeSpan.FromSeconds(1);

    private FlushPhaseStats? _lastPhases;

    /// <summary>The last flush that every sink has written, by phase (null before the first).</summary>
    public FlushPhaseStats? LastPhases => Volatile.Read(ref _lastPhases);

    /// <summary>Every sink wrote the flush of <paramref name="trace"/> (on the last sink's worker): its phases for /stats, and
    /// one line when it was slow.</summary>
    private void Delivered(FlushTrace trace)
    {
        var delivered = Stopwatch.GetElapsedTime(trace.Start);
        var gen2 = GC.CollectionCount(2) - trace.Gen2AtStart;
        var paused = GC.GetTotalPauseDuration() - trace.PauseAtStart;
        Volatile.Write(ref _lastPhases, new FlushPhaseStats(trace.StampMs, trace.Points, trace.Snapshot.TotalSeconds, trace.Build.TotalSeconds,
            trace.Sources.TotalSeconds, trace.Publish.TotalSeconds, delivered.TotalSeconds, gen2, paused.TotalSeconds));
        if (delivered <= SlowFlush) return;
        var sinks = new System.Text.StringBuilder();
        var names = _fanout.SinkNames;
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        for (var i = 0; i < trace.Sinks.Length; i++)
        {
            var (queued, write, detail) = trace.Sinks[i];
            if (i > 0) sinks.Append("; ");
            sinks.Append(inv, $"{names[i]} queued {queued.TotalSeconds:F2} s, wrote {write.TotalSeconds:F2} s");
            if (detail != null) sinks.Append(" (").Append(detail).Append(')');
        }
        _log.LogInformation("flush {Stamp} of {Points} points delivered in {Delivered:F2} s: snapshot {Snapshot:F2} s, build {Build:F2} s, observe.* {Sources:F2} s, publish {Publish:F2} s; {Sinks}; {Gen2} gen2 GCs, GC paused {Paused:F2} s ({TotalPaused:F2} s since start); GCs {Kinds}",
            trace.StampMs / 1000, trace.Points, delivered.TotalSeconds, trace.Snapshot.TotalSeconds, trace.Build.TotalSeconds, trace.Sources.TotalSeconds,
            trace.Publish.TotalSeconds, sinks.ToString(), gen2, paused.TotalSeconds, GC.GetTotalPauseDuration().TotalSeconds, GcCensus.Instance.Snapshot().Since(trace.GcAtStart));
    }

    private MetricBatch WithSourcePoints(MetricBatch batch)
    {
        if (_sources.Count == 0) return batch;
        // The aggregator's list is this flush's own: the sources append to it rather than to a copy (issue 21: at 1.6 M
        // points a copy was 38 MB more on the large-object heap every flush, which RSS kept until a full collection).
        var points = batch.Points as List<MetricPoint> ?? [.. batch.Points];
        int own = points.Count;
        foreach (var source in _sources)
        {
            var before = points.Count;
            try { source.AddPoints(batch.Timestamp, points); }
            catch (Exception e)
            {
                // A broken source must not cost the StatsD data of this flush.
                points.RemoveRange(before, points.Count - before);
                _log.LogWarning(e, "flush metric source {Source} failed", source.GetType().Name);
            }
        }
        _sourcePoints = points.Count - own;
        return ReferenceEquals(points, batch.Points) ? batch : batch with { Points = points };
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        if (_loop != null) { try { await _loop; } catch { } }
    }
}
