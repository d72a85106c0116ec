using System.Buffers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Common;

namespace Observe.Storage.Sinks.Spool;

/// <summary>
/// Hands the spool's records to its target one at a time, in order, and acts on each
/// <see cref="DeliveryOutcome"/>. Failures back off with the shared <see cref="Backoff"/> from 100 ms up to
/// <c>retryMax</c> (jittered, so many sinks recovering together do not hit the server in step); a thrown
/// exception is classified by <see cref="EgressPolicy"/>.
/// </summary>
internal sealed class SpoolDelivery : IAsyncDisposable
{
    private static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(100);

    private readonly DiskSpool _spool;
    private readonly ISpoolTarget _target;
    private readonly Backoff _backoff;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private long _retries;
    private volatile string? _lastError;

    public SpoolDelivery(DiskSpool spool, ISpoolTarget target, TimeSpan retryMax, TimeProvider? time = null, ILogger? log = null)
    {
        _spool = spool;
        _target = target;
        _backoff = new Backoff(InitialBackoff, retryMax, time);
        _log = log ?? NullLogger.Instance;
    }

    public long Retries => Interlocked.Read(ref _retries);
    public string? LastError => _lastError;

    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    private async Task RunAsync(CancellationToken ct)
    {
        byte[]? buffer = null;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (!_spool.TryReadHead(ref buffer, out var position, out var length))
                {
                    await _spool.WaitForDataAsync(ct);
                    continue;
                }
                DeliveryOutcome outcome;
                try
                {
                    outcome = await _target.DeliverAsync(buffer.AsMemory(0, length), ct);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return; // not committed: delivered again after restart
                }
                catch (Exception e)
                {
                    var error = e.GetType().Name + ": " + e.Message;
                    outcome = EgressPolicy.Classify(e) == EgressOutcome.Reject ? DeliveryOutcome.Reject(error) : DeliveryOutcome.Retry(error);
                }
                switch (outcome.Status)
                {
                    case DeliveryStatus.Delivered:
                        _spool.CommitHead(position);
                        _backoff.Reset();
                        continue;
                    case DeliveryStatus.Rejected:
                        _lastError = outcome.Error;
                        _log.LogWarning("Sink {Sink} rejected a record ({Bytes} bytes), kept in dead-letter: {Error}", _target.Name, length, outcome.Error);
                        _spool.RejectHead(position, buffer.AsSpan(0, length));
                        continue;
                    case DeliveryStatus.RetryRemaining:
                        _spool.ReplaceHead(position, outcome.Remaining.Span);
                        break;
                }
                Interlocked.Increment(ref _retries);
                if (_lastError != outcome.Error && _backoff.Failures == 0)
                    _log.LogWarning("Sink {Sink} delivery failed, will retry: {Error}", _target.Name, outcome.Error);
                _lastError = outcome.Error;
                await _backoff.WaitAsync(ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException)
        {
            // the spool was closed under us at shutdown
        }
        finally
        {
            if (buffer != null) ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_loop != null)
        {
            try { await _loop; }
            catch (OperationCanceledException) { }
        }
        _stop.Dispose();
    }
}
