using Observe.Collector;

namespace Observe.Storage.Tsdb;

/// <summary>
/// The embedded store while it opens (issue 21: the first /render soon after a restart). The open runs on its own thread
/// from the moment the host is built, so the other stages start and HTTP listens meanwhile instead of after it. Writes wait
/// for it (a flush is acknowledged only once stored); reads wait at most <c>storage.render.timeoutSeconds</c> (the
/// Graphite API awaits <see cref="ISeriesReader.Opened"/> without holding a thread and answers 503 beyond it); a failed
/// open is rethrown to every caller and stops the host (<see cref="ISeriesReader.Opened"/> faults).
/// </summary>
internal sealed class StoreOpening : ISeriesReader, IMetricSink, IMemoryRelief, IDisposable
{
    private readonly Task<TimeSeriesStore> _open;
    private readonly TimeSpan _wait;
    private int _disposed;

    public StoreOpening(Func<TimeSeriesStore> open, TimeSpan wait)
    {
        _wait = wait;
        _open = Task.Factory.StartNew(open, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public Task Opened => _open;

    /// <summary>The store once open, for callers that may wait as long as it takes (an import's request).</summary>
    public Task<TimeSeriesStore> Opening => _open;

    /// <summary>The open store; waits at most the read wait for it (<see cref="TimeoutException"/> beyond) and rethrows what the open threw.</summary>
    public TimeSeriesStore Store
    {
        get
        {
            if (_open.IsCompletedSuccessfully) return _open.Result;
            try
            {
                if (!_open.Wait(_wait))
                    throw new TimeoutException($"the embedded store is still opening after {_wait.TotalSeconds:F0} s (storage.render.timeoutSeconds)");
            }
            catch (AggregateException) { }
            return _open.GetAwaiter().GetResult();
        }
    }

    // ---- IMetricSink: a flush that arrives during the open waits for it ----

    public string Name => "tsdb";

    public ValueTask WriteAsync(MetricBatch batch, CancellationToken cancellationToken) =>
        _open.IsCompletedSuccessfully ? _open.Result.WriteAsync(batch, cancellationToken) : WriteWhenOpenAsync(batch, cancellationToken);

    public string? DescribeLastWrite() => _open.IsCompletedSuccessfully ? _open.Result.DescribeLastWrite() : null;

    private async ValueTask WriteWhenOpenAsync(MetricBatch batch, CancellationToken cancellationToken) =>
        await (await _open.WaitAsync(cancellationToken)).WriteAsync(batch, cancellationToken);

    // ---- IMemoryRelief: nothing to give back before the open ----

    public void Relieve()
    {
        if (_open.IsCompletedSuccessfully) _open.Result.Relieve();
    }

    // ---- ISeriesReader ----

    public IReadOnlyList<MetricNode> Find(string pattern) => Store.Find(pattern);
    public IReadOnlyList<string> TaggedSeries() => Store.TaggedSeries();
    public SeriesWindow? Fetch(string series, long from, long until) => Store.Fetch(series, from, until);
    public SeriesWindow? ZeroWindow(string series, long from, long until) => Store.ZeroWindow(series, from, until);
    public bool FetchInto(string series, long from, long until, SlotBuffer buf) => Store.FetchInto(series, from, until, buf);
    public bool ParallelFetch => true;

    /// <summary>
    /// Checkpoints the head and closes the store once its open has finished (the host disposes this after every stage stopped,
    /// so the last flush is stored): the next start loads the checkpoint instead of replaying the head (TimeSeriesStoreShutdown.cs).
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try { _open.Wait(); }
        catch (AggregateException) { return; }
        _open.Result.CheckpointForShutdown();
        _open.Result.Dispose();
    }
}
