using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Observe.Alerting.Notifiers;
using Observe.Alerting.Pipeline;

namespace Observe.Alerting;

/// <summary>Builds the pipeline and its notifiers from <see cref="AlertingOptions"/> and runs the group timers.</summary>
internal sealed class AlertingService : IHostedService, IAsyncDisposable
{
    public AlertPipeline Pipeline { get; }
    public NotificationDelivery Delivery { get; }
    public IrcClient? Irc { get; }
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private CancellationTokenSource? _cts;
    private Task? _ticker;

    public AlertingService(AlertingOptions options, TimeProvider time, ILoggerFactory logs, string? stateDir = null, AlertingCluster? cluster = null, IAlertGraphs? graphs = null)
    {
        _time = time;
        _log = logs.CreateLogger("Observe.Alerting");
        var history = new AlertHistory(options.HistoryLimit);
        var ircChannels = options.Receivers.Where(r => r.Irc != null).Select(r => r.Irc!.Channel).ToList();
        if (ircChannels.Count > 0 && !string.IsNullOrWhiteSpace(options.Irc.Server))
            Irc = new IrcClient(options.Irc, ircChannels, time, logs.CreateLogger("Observe.Alerting.Irc"));
        var receivers = new Dictionary<string, IReadOnlyList<INotifier>>(StringComparer.Ordinal);
        foreach (var r in options.Receivers)
        {
            var list = new List<INotifier>();
            if (r.Irc != null && Irc != null) list.Add(new IrcNotifier(Irc, r.Irc, options.Irc, options.Templates));
            if (r.Email != null) list.Add(new EmailNotifier(options.Smtp, r.Email, options.Templates, graphs, logs.CreateLogger("Observe.Alerting.Email")));
            if (r.Pagerduty != null) list.Add(new PagerDutyNotifier(_http, r.Pagerduty));
            if (r.Webhook != null) list.Add(new WebhookNotifier(_http, r.Webhook));
            receivers[r.Name] = list;
        }
        Delivery = new NotificationDelivery(receivers, options.Delivery, history, time, logs.CreateLogger("Observe.Alerting.Notify"));
        var log = logs.CreateLogger("Observe.Alerting");
        Pipeline = new AlertPipeline(options, Delivery, time, log, history,
            stateDir != null ? Path.Combine(stateDir, "silences.json") : null,
            !options.PersistState ? null
            : cluster != null ? new Pipeline.Persistence.PostgresAlertStateStore(cluster.ConnectionString, cluster.Node, cluster.NodeTimeout, options.HistoryLimit, time)
            : stateDir != null ? new Pipeline.Persistence.SqliteAlertStateStore(Path.Combine(stateDir, "state.db"), options.HistoryLimit, log) : null);
    }

    /// <summary>The stage's snapshot for <see cref="AlertingStatList"/>: read at scrape and flush time, so sending pays nothing.</summary>
    public AlertingStats Stats() => new(Delivery.Stats(), Irc?.QueueDepth);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        NotifierDependencies.LoadAll(_log);
        Irc?.Start();
        _cts = new CancellationTokenSource();
        _ticker = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250), _time);
            try { while (await timer.WaitForNextTickAsync(_cts.Token).ConfigureAwait(false)) Pipeline.Tick(); }
            catch (OperationCanceledException) { }
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // A host may be stopped again after it was disposed (a test disposing twice): nothing left to stop then.
        if (Volatile.Read(ref _disposed) == 1) return;
        if (_cts != null) await _cts.CancelAsync().ConfigureAwait(false);
        if (_ticker != null) await _ticker.ConfigureAwait(false);
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        // The container may dispose it twice (registered as itself and as a hosted service).
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await Delivery.DisposeAsync().ConfigureAwait(false);
        Pipeline.CloseStore();
        if (Irc != null) await Irc.DisposeAsync().ConfigureAwait(false);
        _http.Dispose();
        _cts?.Dispose();
    }
}
