using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Observe.Alerting.Pipeline;
using Observe.Common;

namespace Observe.Alerting.Notifiers;

/// <summary>One way of telling a receiver (IRC, e-mail, PagerDuty, webhook). Throwing means "try again";
/// <see cref="EgressRejectedException"/> means retrying cannot help (<see cref="EgressPolicy"/> decides).</summary>
internal interface INotifier
{
    string Kind { get; }
    Task SendAsync(Notification notification, CancellationToken cancellationToken);
}

/// <summary>Notify stage: one bounded queue and worker per receiver integration, retries with the shared capped,
/// jittered <see cref="Backoff"/> on the clock, counts sent / failed / dropped per receiver, records the outcome in the history.</summary>
internal sealed class NotificationDelivery : INotificationQueue, IAsyncDisposable
{
    private readonly Dictionary<string, List<IntegrationQueue>> _receivers = new(StringComparer.Ordinal);
    private readonly AlertHistory _history;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly DeliveryOptions _options;
    private readonly CancellationTokenSource _stop = new();
    public long UnknownReceiver;

    public NotificationDelivery(IReadOnlyDictionary<string, IReadOnlyList<INotifier>> receivers, DeliveryOptions options, AlertHistory history, TimeProvider time, ILogger log)
    {
        _options = options; _history = history; _time = time; _log = log;
        foreach (var (name, notifiers) in receivers)
            _receivers[name] = notifiers.Select(n => new IntegrationQueue(this, name, n)).ToList();
    }

    public void Enqueue(Notification n)
    {
        if (!_receivers.TryGetValue(n.Receiver, out var queues))
        {
            Interlocked.Increment(ref UnknownReceiver);
            _history.Add(new(n.Time, "notify_failed", null, n.Receiver, null, "no such receiver"));
            return;
        }
        foreach (var q in queues) q.Enqueue(n);
    }

    public IReadOnlyList<ReceiverStats> Stats() =>
        _receivers.SelectMany(r => r.Value.Select(q => new ReceiverStats(r.Key, q.Notifier.Kind, Interlocked.Read(ref q.SentCount), Interlocked.Read(ref q.FailedCount),
            Interlocked.Read(ref q.DroppedCount), q.Depth, Interlocked.Read(ref q.AttemptsFailedCount)))).ToList();

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var q in _receivers.Values.SelectMany(x => x)) await q.StopAsync().ConfigureAwait(false);
        foreach (var n in _receivers.Values.SelectMany(x => x).Select(q => q.Notifier).OfType<IAsyncDisposable>()) await n.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private sealed class IntegrationQueue
    {
        private readonly NotificationDelivery _owner;
        private readonly string _receiver;
        private readonly Channel<Notification> _queue;
        private readonly Task _worker;
        private int _depth;
        public INotifier Notifier { get; }
        public long SentCount, FailedCount, DroppedCount, AttemptsFailedCount;
        public int Depth => Volatile.Read(ref _depth);

        public IntegrationQueue(NotificationDelivery owner, string receiver, INotifier notifier)
        {
            _owner = owner; _receiver = receiver; Notifier = notifier;
            _queue = Channel.CreateBounded<Notification>(new BoundedChannelOptions(Math.Max(1, owner._options.QueueCapacity))
            { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest }, Dropped);
            _worker = Task.Run(RunAsync);
        }

        private void Dropped(Notification n)
        {
            Interlocked.Decrement(ref _depth);
            // Dropped, not failed: failed means given up after every retry; both are on /metrics and in observe.notifications.*.
            Interlocked.Increment(ref DroppedCount);
            _owner._history.Add(new(n.Time, "notify_dropped", null, _receiver, null, $"{Notifier.Kind}: queue full, oldest notification dropped"));
        }

        public void Enqueue(Notification n)
        {
            Interlocked.Increment(ref _depth);
            _queue.Writer.TryWrite(n);
        }

        public async Task StopAsync()
        {
            _queue.Writer.TryComplete();
            try { await _worker.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }

        private async Task RunAsync()
        {
            var ct = _owner._stop.Token;
            var o = _owner._options;
            var backoff = new Backoff(DurationSyntax.Parse(o.InitialBackoff), DurationSyntax.Parse(o.MaxBackoff), _owner._time);
            var timeout = DurationSyntax.Parse(o.Timeout);
            try
            {
                await foreach (var n in _queue.Reader.ReadAllAsync(ct).ConfigureAwait(false))
                {
                    Interlocked.Decrement(ref _depth);
                    backoff.Reset();
                    for (var attempt = 1; ; attempt++)
                    {
                        string error;
                        var permanent = false;
                        try
                        {
                            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                            cts.CancelAfter(timeout);
                            await Notifier.SendAsync(n, cts.Token).ConfigureAwait(false);
                            Interlocked.Increment(ref SentCount);
                            _owner._history.Add(new(_owner._time.GetUtcNow(), "notified", n.Alerts.Count == 1 ? n.Alerts[0].Key : null, _receiver, null,
                                $"{Notifier.Kind}: {n.Kind.ToString().ToLowerInvariant()} ({n.Alerts.Count} alerts)"));
                            break;
                        }
                        catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
                        catch (Exception e) { error = e.Message; permanent = EgressPolicy.Classify(e) == EgressOutcome.Reject; }
                        Interlocked.Increment(ref AttemptsFailedCount);
                        if (permanent || attempt >= o.MaxAttempts)
                        {
                            Interlocked.Increment(ref FailedCount);
                            _owner._log.LogWarning("notification to {Receiver} via {Kind} failed after {Attempts} attempt(s): {Error}", _receiver, Notifier.Kind, attempt, error);
                            _owner._history.Add(new(_owner._time.GetUtcNow(), "notify_failed", n.Alerts.Count == 1 ? n.Alerts[0].Key : null, _receiver, null, $"{Notifier.Kind}: {error}"));
                            break;
                        }
                        // A warning from the first failure on: an alert that is not getting through is an operator's problem now (the backoff bounds the rate).
                        var delay = backoff.Next();
                        _owner._log.LogWarning("notification to {Receiver} via {Kind} failed (attempt {Attempt}), retrying in {Delay}: {Error}", _receiver, Notifier.Kind, attempt, delay, error);
                        await Task.Delay(delay, _owner._time, ct).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        }
    }
}
