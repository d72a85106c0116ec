using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Observe.Common;

namespace Observe.Collector.Pipeline;

/// <summary>
/// One sink's bounded queue and worker, shared by the metric and the log fan-out: a failed write is retried with
/// the shared capped, jittered <see cref="Backoff"/> (100 ms to 30 s) on the clock, the batch kept; only when the queue is full is its oldest batch dropped, counted and logged.
/// The last batch's wait in the queue and its write (retries included) are kept for /stats (issue 21: where a slow flush goes);
/// a batch enqueued with a tag is reported to <c>written</c> with those two times once written.
/// </summary>
internal sealed class SinkWorker<TBatch> : IAsyncDisposable where TBatch : class
{
    internal delegate ValueTask WriteBatch(TBatch batch, CancellationToken ct);
    /// <summary>Told on the worker thread once a tagged batch is written: the tag, its wait in the queue, its write.</summary>
    internal delegate void Written(object tag, TimeSpan queued, TimeSpan write);

    /// <summary>A batch as queued: when (Stopwatch ticks), and what to tell once it is written.</summary>
    private readonly record struct Item(TBatch Batch, long Enqueued, object? Tag);

    private readonly string _name;
    private readonly WriteBatch _write;
    private readonly Func<TBatch, int> _size;
    private readonly ILogger _log;
    private readonly Channel<Item> _queue;
    private readonly Written? _written;
    private readonly Backoff _backoff;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;
    private long _batchesWritten, _items, _failures, _dropped, _queued, _lastQueuedTicks, _lastWriteTicks;
    private string? _lastError;

    public SinkWorker(string name, WriteBatch write, Func<TBatch, int> size, int capacity, ILogger log, TimeProvider? time = null, Written? written = null)
    {
        _written = written;
        _time = time ?? TimeProvider.System;
        _backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(30), _time);
        _name = name;
        _write = write;
        _size = size;
        _log = log;
        _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        }, dropped =>
        {
            Interlocked.Increment(ref _dropped);
            Interlocked.Decrement(ref _queued);
            _log.LogError("sink {Sink}: queue full, dropped the oldest batch ({Items} items)", _name, _size(dropped.Batch));
        });
        _loop = Task.Run(Loop);
    }

    /// <summary>Written items are points for metric sinks and events for log sinks.</summary>
    public SinkStats Stats => new(_name, Interlocked.Read(ref _batchesWritten), Interlocked.Read(ref _items),
        Interlocked.Read(ref _failures), Interlocked.Read(ref _dropped), Interlocked.Read(ref _queued), _lastError)
    {
        LastQueueWaitSeconds = Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _lastQueuedTicks)).TotalSeconds,
        LastWriteSeconds = Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _lastWriteTicks)).TotalSeconds,
    };

    /// <param name="tag">given back to the worker's <c>written</c> callback once this batch is written (null: not told)</param>
    public void Enqueue(TBatch batch, object? tag = null)
    {
        Interlocked.Increment(ref _queued);
        _queue.Writer.TryWrite(new Item(batch, Stopwatch.GetTimestamp(), tag));
    }

    public async Task DrainAsync(CancellationToken ct)
    {
        while (Interlocked.Read(ref _queued) > 0) await Task.Delay(10, ct);
    }

    /// <summary>Gives up what is queued and the write being retried (the host said stop now), so that dispose does not wait.</summary>
    public void Abort() => _cts.Cancel();

    private async Task Loop()
    {
        var ct = _cts.Token;
        try
        {
            await foreach (var (batch, enqueued, tag) in _queue.Reader.ReadAllAsync(ct))
            {
                _backoff.Reset();
                var started = Stopwatch.GetTimestamp();
                while (true)
                {
                    try
                    {
                        await _write(batch, ct);
                        var done = Stopwatch.GetTimestamp();
                        Interlocked.Exchange(ref _lastQueuedTicks, started - enqueued);
                        Interlocked.Exchange(ref _lastWriteTicks, done - started);
                        Interlocked.Increment(ref _batchesWritten);
                        Interlocked.Add(ref _items, _size(batch));
                        if (tag != null) Tell(tag, Stopwatch.GetElapsedTime(enqueued, started), Stopwatch.GetElapsedTime(started, done));
                        break;
                    }
                    catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
                    catch (Exception e)
                    {
                        Interlocked.Increment(ref _failures);
                        _lastError = e.Message;
                        var delay = _backoff.Next();
                        _log.LogWarning("sink {Sink}: write failed ({Error}); retrying in {Delay} ms", _name, e.Message, (long)delay.TotalMilliseconds);
                        await Task.Delay(delay, _time, ct);
                    }
                }
                Interlocked.Decrement(ref _queued);
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>The written callback; what it throws is logged, never taken for a failed write (which would write the batch again).</summary>
    private void Tell(object tag, TimeSpan queued, TimeSpan write)
    {
        try { _written?.Invoke(tag, queued, write); }
        catch (Exception e) { _log.LogWarning(e, "sink {Sink}: reporting a written batch failed", _name); }
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
