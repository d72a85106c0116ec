using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Observe.Collector.Pipeline;

/// <summary>
/// Delivers every batch to every sink. Each sink has its own queue and worker, so a slow or failed
/// sink never delays the others or the flush. A failed write is retried with capped backoff, the
/// batch kept; only when a sink's queue is full is its oldest batch dropped, and that is counted and logged.
/// </summary>
internal sealed class SinkFanout : IAsyncDisposable
{
    private readonly List<SinkWorker> _workers;

    public SinkFanout(IEnumerable<IMetricSink> sinks, int queueCapacity, ILogger log)
    {
        _workers = sinks.Select(s => new SinkWorker(s, queueCapacity, log)).ToList();
    }

    public IReadOnlyList<SinkStats> Stats => _workers.Select(w => w.Stats).ToList();

    public void Publish(MetricBatch batch)
    {
        if (batch.Points.Count == 0) return;
        foreach (var w in _workers) w.Enqueue(batch);
    }

    /// <summary>Waits until every queued batch has been written (or the token fires).</summary>
    public async Task DrainAsync(CancellationToken ct)
    {
        foreach (var w in _workers) await w.DrainAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var w in _workers) await w.DisposeAsync();
    }

    private sealed class SinkWorker : IAsyncDisposable
    {
        private readonly IMetricSink _sink;
        private readonly ILogger _log;
        private readonly Channel<MetricBatch> _queue;
        private readonly CancellationTokenSource _cts = new();
        private readonly Task _loop;
        private long _written, _points, _failures, _dropped, _queued;
        private string? _lastError;

        public SinkWorker(IMetricSink sink, int capacity, ILogger log)
        {
            _sink = sink;
            _log = log;
            _queue = Channel.CreateBounded<MetricBatch>(new BoundedChannelOptions(capacity)
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
            }, dropped =>
            {
                Interlocked.Increment(ref _dropped);
                Interlocked.Decrement(ref _queued);
                _log.LogError("sink {Sink}: queue full, dropped the oldest batch ({Points} points at {Ts})", _sink.Name, dropped.Points.Count, dropped.Timestamp);
            });
            _loop = Task.Run(Loop);
        }

        public SinkStats Stats => new(_sink.Name, Interlocked.Read(ref _written), Interlocked.Read(ref _points),
            Interlocked.Read(ref _failures), Interlocked.Read(ref _dropped), Interlocked.Read(ref _queued), _lastError);

        public void Enqueue(MetricBatch batch)
        {
            Interlocked.Increment(ref _queued);
            _queue.Writer.TryWrite(batch);
        }

        public async Task DrainAsync(CancellationToken ct)
        {
            while (Interlocked.Read(ref _queued) > 0) await Task.Delay(10, ct);
        }

        private async Task Loop()
        {
            var ct = _cts.Token;
            try
            {
                await foreach (var batch in _queue.Reader.ReadAllAsync(ct))
                {
                    var delay = TimeSpan.FromMilliseconds(100);
                    while (true)
                    {
                        try
                        {
                            await _sink.WriteAsync(batch, ct);
                            Interlocked.Increment(ref _written);
                            Interlocked.Add(ref _points, batch.Points.Count);
                            break;
                        }
                        catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
                        catch (Exception e)
                        {
                            Interlocked.Increment(ref _failures);
                            _lastError = e.Message;
                            _log.LogWarning("sink {Sink}: write failed ({Error}); retrying in {Delay} ms", _sink.Name, e.Message, delay.TotalMilliseconds);
                            await Task.Delay(delay, ct);
                            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 30_000));
                        }
                    }
                    Interlocked.Decrement(ref _queued);
                }
            }
            catch (OperationCanceledException) { }
        }

        public async ValueTask DisposeAsync()
        {
            _queue.Writer.TryComplete();
            // Give the worker a moment to write what is queued before shutting down.
            var done = await Task.WhenAny(_loop, Task.Delay(TimeSpan.FromSeconds(5)));
            if (done != _loop) _cts.Cancel();
            try { await _loop; } catch { }
        }
    }
}

