using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Observe.Common;

namespace Observe.Collector.Pipeline;

/// <summary>
/// One sink's bounded queue and worker, shared by the metric and the log fan-out: a failed write is retried with
/// the shared capped, jittered <see cref="Backoff"/> (100 ms to 30 s) on the clock, the batch kept; only when the queue is full is its oldest batch dropped, counted and logged.
/// </summary>
internal sealed class SinkWorker<TBatch> : IAsyncDisposable where TBatch : class
{
    internal delegate ValueTask WriteBatch(TBatch batch, CancellationToken ct);

    private readonly string _name;
    private readonly WriteBatch _write;
    private readonly Func<TBatch, int> _size;
    private readonly ILogger _log;
    private readonly Channel<TBatch> _queue;
    private readonly Backoff _backoff;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;
    private long _written, _items, _failures, _dropped, _queued;
    private string? _lastError;

    public SinkWorker(string name, WriteBatch write, Func<TBatch, int> size, int capacity, ILogger log, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(30), _time);
        _name = name;
        _write = write;
        _size = size;
        _log = log;
        _queue = Channel.CreateBounded<TBatch>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        }, dropped =>
        {
            Interlocked.Increment(ref _dropped);
            Interlocked.Decrement(ref _queued);
            _log.LogError("sink {Sink}: queue full, dropped the oldest batch ({Items} items)", _name, _size(dropped));
        });
        _loop = Task.Run(Loop);
    }

    /// <summary>Written items are points for metric sinks and events for log sinks.</summary>
    public SinkStats Stats => new(_name, Interlocked.Read(ref _written), Interlocked.Read(ref _items),
        Interlocked.Read(ref _failures), Interlocked.Read(ref _dropped), Interlocked.Read(ref _queued), _lastError);

    public void Enqueue(TBatch batch)
    {
        Interlocked.Increment(ref _queued);
        _queue.Writer.TryWrite(batch);
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
            await foreach (var batch in _queue.Reader.ReadAllAsync(ct))
            {
                _backoff.Reset();
                while (true)
                {
                    try
                    {
                        await _write(batch, ct);
                        Interlocked.Increment(ref _written);
                        Interlocked.Add(ref _items, _size(batch));
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

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        // Give the worker a moment to write what is queued before shutting down.
        var done = await Task.WhenAny(_loop, Task.Delay(TimeSpan.FromSeconds(5)));
        if (done != _loop) _cts.Cancel();
        try { await _loop; } catch { }
    }
}
