using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Observe.Alerting;
using Observe.Checks.Kinds;
using Observe.Checks.State;
using Observe.Collector;
using Observe.Common;
using Quartz;

namespace Observe.Checks.Scheduling;

/// <summary>One configured check with its state machine and last result.</summary>
internal sealed class CheckEntry(string host, HostOptions hostOptions, CheckOptions options, ICheck check, ServiceStateMachine machine, bool isHostCheck)
{
    public string Host { get; } = host;
    public string Name { get; } = options.Name.Length == 0 && isHostCheck ? HostCheckName : options.Name;
    public string Kind => Options.Kind;
    public HostOptions HostOptions { get; set; } = hostOptions;
    public CheckOptions Options { get; set; } = options;
    public ICheck Check { get; set; } = check;
    public ServiceStateMachine Machine { get; } = machine;
    public bool IsHostCheck { get; } = isHostCheck;
    public readonly object Gate = new();
    public CheckResult? Last;
    public DateTimeOffset? NextCheck;
    public double? LastLatency;
    public readonly Queue<CheckEvent> History = new();
    public bool IsPassive => Kind == "passive";
    /// <summary>When the last passive result arrived (or, before any, when the check was created).</summary>
    public DateTimeOffset LastPassive;
    /// <summary>Cluster: the node whose result this copy holds (the node running the check). Only it tells Alerting
    /// about the check, so one node owns the check's notifications, announcements included; null = not known yet.</summary>
    public string? Runner;
    public string Key => $"{Host}/{Name}";
    public const string HostCheckName = "_host";
}

/// <summary>
/// Schedules every check with Quartz.NET (in-memory store): one job per check with a one-shot trigger that the job
/// re-arms after each run at check_interval, or retry_interval while SOFT; first runs are spread over the interval
/// by a hash of the check's key; [DisallowConcurrentExecution] keeps a check from overlapping itself. A check that
/// throws becomes UNKNOWN with the reason; nothing a check does stops the scheduler.
/// </summary>
internal sealed partial class CheckEngine : IHostedService, ICheckStates, IServiceCheckReceiver, IChecksReloader, IAsyncDisposable
{
    private volatile ChecksOptions _options;
    private readonly Observe.Storage.ISeriesQuery? _series;
    private readonly SemaphoreSlim _reloadGate = new(1, 1);
    private readonly IAlertSink? _alerts;
    private readonly IReadOnlyList<IMetricSink> _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    // Copy-on-write: jobs read it while a reload swaps in a new dictionary.
    private volatile Dictionary<string, CheckEntry> _entries = new(StringComparer.Ordinal);
    private IScheduler? _scheduler;
    private StandaloneSchedulerFactory? _factory;
    private CancellationTokenSource? _tickCts;
    private Task? _ticker;
    private Task? _passiveLoop;
    private Task? _metricLoop;
    // Metric points go through a queue so that a slow or dead sink never delays a check; the oldest points go first when it is full.
    private readonly System.Threading.Channels.Channel<MetricPoint> _points =
        System.Threading.Channels.Channel.CreateBounded<MetricPoint>(new System.Threading.Channels.BoundedChannelOptions(100_000)
        { SingleReader = true, FullMode = System.Threading.Channels.BoundedChannelFullMode.DropOldest });
    private readonly System.Threading.Channels.Channel<(CheckEntry Entry, CheckState State, string Output)> _passive =
        System.Threading.Channels.Channel.CreateBounded<(CheckEntry, CheckState, string)>(new System.Threading.Channels.BoundedChannelOptions(10_000) { SingleReader = true });
    internal const string EngineKey = "observe.checks.engine";

    public CheckEngine(ChecksOptions options, IAlertSink? alerts, IEnumerable<IMetricSink> metrics, TimeProvider time, ILoggerFactory logs,
        Observe.Storage.ISeriesQuery? series = null, State.Persistence.ICheckStateStore? stateStore = null)
    {
        _options = options; _alerts = alerts; _metrics = metrics.ToList(); _time = time; _series = series; _log = logs.CreateLogger("Observe.Checks");
        _entries = BuildEntries(options, _entries);
        // Restored here, before any check can run or any API call can act.
        if (stateStore != null)
        {
            _state = new State.Persistence.CheckStatePersister(stateStore, DurationSyntax.Parse(options.State.WriteDelay, "checks.state.writeDelay"),
                DurationSyntax.Parse(options.State.HistoryRetention, "checks.state.historyRetention"), time, _log);
            _state.Restore(_entries.Values);
            _state.StartSync(key => _entries.GetValueOrDefault(key), ApplyRemoteAsync);
        }
    }

    private readonly State.Persistence.CheckStatePersister? _state;
    internal State.Persistence.CheckStatePersister? Persistence => _state;

    /// <summary>Entries for <paramref name="options"/>, keeping the state machine (and so state, acks, downtimes, flap history) of every check that keeps its host/name.</summary>
    private Dictionary<string, CheckEntry> BuildEntries(ChecksOptions options, Dictionary<string, CheckEntry> old)
    {
        var now = _time.GetUtcNow();
        var result = new Dictionary<string, CheckEntry>(StringComparer.Ordinal);
        foreach (var h in options.Hosts)
        {
            if (h.HostCheck is { } hc) Add(h, hc, true);
            foreach (var c in h.Checks) Add(h, c, false);
        }
        return result;

        void Add(HostOptions h, CheckOptions c, bool isHost)
        {
            var name = isHost ? CheckEntry.HostCheckName : c.Name;
            var check = ChecksConfig.Build(h, c, options, _series, _time);
            var policy = ChecksConfig.Policy(c, options);
            if (old.TryGetValue($"{h.Name}/{name}", out var e))
            {
                lock (e.Gate) { e.HostOptions = h; e.Options = c; e.Check = check; e.Machine.Policy = policy; }
            }
            else e = new CheckEntry(h.Name, h, c, check, new ServiceStateMachine(policy, now), isHost) { LastPassive = now };
            result[e.Key] = e;
        }
    }

    /// <summary>Applies a new <c>checks:</c> section without losing state; refuses (returning the problems) a config that does not validate.</summary>
    public async Task<IReadOnlyList<ConfigProblem>> ReloadAsync(ChecksOptions options, CancellationToken cancellationToken)
    {
        var problems = ChecksConfig.Validate(options);
        if (problems.Count > 0) return problems;
        await _reloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The scheduler's store is built at start: a changed checks.cluster waits for the next start.
            var running = _options.Cluster;
            var cl = options.Cluster;
            if ((cl.Enabled, cl.ConnectionString, cl.InstanceId, cl.CheckinInterval, cl.CheckinMisfireThreshold, cl.CreateSchema, cl.TablePrefix) !=
                (running.Enabled, running.ConnectionString, running.InstanceId, running.CheckinInterval, running.CheckinMisfireThreshold, running.CreateSchema, running.TablePrefix))
                _log.LogWarning("checks: checks.cluster changed; it takes effect at the next start");
            options.Cluster = running;
            var old = _entries;
            var next = BuildEntries(options, old);
            _options = options;
            _entries = next;
            if (_scheduler != null)
            {
                foreach (var key in old.Keys.Where(k => !next.ContainsKey(k)))
                    await _scheduler.DeleteJob(new JobKey(key, Group), cancellationToken).ConfigureAwait(false);
                foreach (var e in next.Values.Where(e => !old.ContainsKey(e.Key)))
                    await ScheduleAsync(e, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            }
            _log.LogInformation("checks: reloaded, {Count} checks ({Added} added, {Removed} removed)", next.Count,
                next.Keys.Count(k => !old.ContainsKey(k)), old.Keys.Count(k => !next.ContainsKey(k)));
            return [];
        }
        finally { _reloadGate.Release(); }
    }

    private async Task ScheduleAsync(CheckEntry e, DateTimeOffset now, CancellationToken ct)
    {
        var interval = e.Machine.Policy.CheckInterval;
        // A restored check keeps its next run when that is still ahead; others spread over the interval.
        var first = e.NextCheck is { } restored && restored > now && restored <= now + interval ? restored : now + TimeSpan.FromTicks((long)(Spread(e.Key) * interval.Ticks));
        e.NextCheck = first;
        var job = JobBuilder.Create<CheckJob>().WithIdentity(e.Key, Group).UsingJobData("key", e.Key).Build();
        var trigger = Trigger(e.Key, first, interval, _options.Cluster.Enabled ? PreferredNode.Auto : null);
        if (!_options.Cluster.Enabled)
        {
            await _scheduler!.ScheduleJob(job, trigger, cancellationToken: ct).ConfigureAwait(false);
            return;
        }
        // Cluster: another node may have stored this check already (and be running it): keep its schedule.
        var scheduler = _scheduler!;
        try { await scheduler.ScheduleJob(job, trigger, cancellationToken: ct).ConfigureAwait(false); }
        catch (ObjectAlreadyExistsException)
        {
            if (await scheduler.GetTrigger(trigger.Key, ct).ConfigureAwait(false) is { } existing) { e.NextCheck = existing.NextFireTimeUtc; return; }
            try { await scheduler.ScheduleJob(trigger, cancellationToken: ct).ConfigureAwait(false); }
            catch (ObjectAlreadyExistsException) { } // a peer re-armed it meanwhile
        }
    }

    internal IEnumerable<CheckEntry> Entries => _entries.Values;
    internal CheckEntry? Find(string host, string check) => _entries.GetValueOrDefault($"{host}/{check}");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled) return;
        var cluster = _options.Cluster;
        _factory = QuartzSchedulerBuilder.Create(q =>
        {
            if (cluster.Enabled) ConfigureCluster(q, cluster);
            else
            {
                q.ConfigureScheduler(o => o.InstanceName = "observe-checks-" + Guid.NewGuid().ToString("N"));
                q.UseInMemoryStore(_ => { });
            }
            q.UseDefaultThreadPool(_options.MaxConcurrency);
            q.UseTimeProvider(_time);
        }).Build();
        _scheduler = await _factory.GetScheduler(cancellationToken).ConfigureAwait(false);
        _scheduler.Context.Add(EngineKey, this);
        var now = _time.GetUtcNow();
        if (cluster.Enabled) await RemoveUndeclaredJobsAsync(_entries, cancellationToken).ConfigureAwait(false);
        foreach (var e in _entries.Values) await ScheduleAsync(e, now, cancellationToken).ConfigureAwait(false);
        await _scheduler.Start(cancellationToken).ConfigureAwait(false);
        _tickCts = new CancellationTokenSource();
        _ticker = TickLoopAsync(_tickCts.Token);
        _passiveLoop = PassiveLoopAsync(_tickCts.Token);
        _metricLoop = MetricLoopAsync(_tickCts.Token);
        _log.LogInformation("checks: {Count} checks on {Hosts} hosts scheduled{Cluster}", _entries.Count, _options.Hosts.Count,
            cluster.Enabled ? $" (cluster node {_scheduler.SchedulerInstanceId})" : "");
    }

    /// <summary>
    /// Quartz's clustered AdoJobStore on PostgreSQL: every node uses the same scheduler name (the rows it shares), its
    /// own instance id, and takes the database lock per trigger acquisition (CheckJob disallows concurrent execution).
    /// </summary>
    private static void ConfigureCluster(IQuartzBuilder q, ChecksClusterOptions cluster)
    {
        q.ConfigureScheduler(o =>
        {
            o.InstanceName = ClusterSchedulerName;
            if (cluster.InstanceId.Equals("auto", StringComparison.OrdinalIgnoreCase)) o.GenerateInstanceId = true;
            else o.InstanceId = cluster.InstanceId;
        });
        q.UsePersistentStore(store =>
        {
            store.UsePostgres(Npgsql.NpgsqlFactory.Instance, cluster.ConnectionString);
            store.ConfigureStore(o =>
            {
                o.TablePrefix = cluster.TablePrefix;
                o.StoreJobDataAsStrings = true; // the job data is one string (the check's key): readable, no serializer
            });
            store.UseClustering(c =>
            {
                c.CheckinInterval = DurationSyntax.Parse(cluster.CheckinInterval, "checks.cluster.checkinInterval");
                c.CheckinMisfireThreshold = DurationSyntax.Parse(cluster.CheckinMisfireThreshold, "checks.cluster.checkinMisfireThreshold");
            });
            if (cluster.CreateSchema) store.ProvisionSchema();
        });
    }

    internal const string ClusterSchedulerName = "observe-checks";
    private const string Group = "checks";

    /// <summary>Cluster: jobs left in the database for checks no node declares any more (all nodes share one config).</summary>
    private async Task RemoveUndeclaredJobsAsync(Dictionary<string, CheckEntry> declared, CancellationToken ct)
    {
        var scheduler = _scheduler!;
        var stale = (await scheduler.GetJobKeys(GroupMatcher<JobKey>.GroupEquals(Group), ct).ConfigureAwait(false))
            .Where(k => !declared.ContainsKey(k.Name)).ToList();
        if (stale.Count == 0) return;
        await scheduler.DeleteJobs(stale, ct).ConfigureAwait(false);
        _log.LogInformation("checks: removed {Count} jobs of undeclared checks from the cluster", stale.Count);
    }

    /// <summary>
    /// The check's trigger: first at <paramref name="at"/>, then every check_interval. The job re-arms it after each
    /// run (retry_interval while SOFT), so the repetition matters only when a node dies mid-run: the trigger still
    /// has a next fire time, and the node that recovers it runs the check one interval later.
    /// </summary>
    /// <remarks>
    /// In a cluster the first trigger is pinned automatically to whichever node fires it first, and every re-arm pins
    /// it to the node that ran it: one node's state machine sees every result of the check (soft attempts, flapping
    /// history), while Quartz fails a pinned trigger over to a live node when its node stops checking in — the
    /// survivor then re-arms it pinned to itself.
    /// </remarks>
    internal static ITrigger Trigger(string key, DateTimeOffset at, TimeSpan interval, PreferredNode? pin = null)
    {
        var builder = TriggerBuilder.Create()
            .WithIdentity(key, Group).ForJob(key, Group).StartAt(at)
            .WithSimpleSchedule(s => s.WithInterval(interval).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NowWithExistingCount));
        if (pin is { } p) builder = builder.WithPreferredNode(p);
        return builder.Build();
    }

    internal bool Clustered => _options.Cluster.Enabled;
    internal DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>A re-arm is never due at or before <paramref name="now"/>: a trigger in the past fires at once and, re-armed in the past again, loops.</summary>
    internal static DateTimeOffset NotBefore(DateTimeOffset next, DateTimeOffset now, TimeSpan interval) => next > now ? next : now + interval;

    /// <summary>
    /// Re-check now (Nagios' forced check): the check's own trigger is re-armed to fire now, so Quartz still runs one
    /// execution per check at a time and, clustered, on a live node. False when the check is not scheduled (yet).
    /// </summary>
    internal async Task<bool> RecheckNowAsync(CheckEntry e, CancellationToken ct)
    {
        if (_scheduler is not { } scheduler) return false;
        var now = _time.GetUtcNow();
        var trigger = Trigger(e.Key, now, e.Machine.Policy.CheckInterval, Clustered ? PreferredNode.Auto : null);
        if (await scheduler.RescheduleJob(trigger.Key, trigger, ct).ConfigureAwait(false) == null) return false;
        lock (e.Gate) e.NextCheck = now;
        return true;
    }

    /// <summary>Stable fraction in [0,1) from the check's key (FNV-1a), so start times spread across the interval.</summary>
    internal static double Spread(string key)
    {
        uint h = 2166136261;
        foreach (var ch in key) { h ^= ch; h *= 16777619; }
        return h / (double)uint.MaxValue * 0.999;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _tickCts?.Cancel();
        if (_ticker != null) { try { await _ticker.ConfigureAwait(false); } catch (OperationCanceledException) { } }
        if (_passiveLoop != null) { try { await _passiveLoop.ConfigureAwait(false); } catch (OperationCanceledException) { } }
        if (_metricLoop != null) { try { await _metricLoop.ConfigureAwait(false); } catch (OperationCanceledException) { } }
        if (_scheduler != null) await _scheduler.Shutdown(false, cancellationToken).ConfigureAwait(false);
        if (_factory != null) await _factory.DisposeAsync().ConfigureAwait(false);
        _scheduler = null; _factory = null;
        if (_state != null) await _state.FlushAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        if (_state != null) await _state.DisposeAsync().ConfigureAwait(false);
    }

    private async Task TickLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _time);
        while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
        {
            var now = _time.GetUtcNow();
            foreach (var e in _entries.Values)
            {
                List<CheckEvent> ev;
                lock (e.Gate) ev = e.Machine.Tick(now);
                if (ev.Count > 0) await PublishAsync(e, ev, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs one check now, applies the result and returns when the next run is due.</summary>
    internal async Task<DateTimeOffset> RunAsync(CheckEntry e, DateTimeOffset? scheduledFor, CancellationToken ct)
    {
        var started = _time.GetUtcNow();
        CheckResult result;
        if (e.IsPassive)
        {
            // Freshness: a passive check that has heard nothing for freshnessThreshold gets a stale result (as Icinga's dummy check returning 3).
            var threshold = FreshnessThreshold(e);
            DateTimeOffset last;
            lock (e.Gate) last = e.LastPassive;
            if (started - last < threshold)
            {
                var due = started + e.Machine.Policy.CheckInterval;
                lock (e.Gate) e.NextCheck = due;
                return due;
            }
            var stale = ChecksConfig.TimeoutState(e.Options.StaleState) ?? CheckState.Unknown;
            result = new CheckResult(stale, $"(no passive result for {(started - last).TotalSeconds:0} s; freshness threshold {threshold.TotalSeconds:0.#} s)", null, [], TimeSpan.Zero);
        }
        else try { result = await e.Check.RunAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
            catch (Exception ex)
            {
                _log.LogWarning(ex, "check {Key} failed", e.Key);
                result = CheckResult.Unknown($"(check failed: {ex.GetType().Name}: {ex.Message})", _time.GetUtcNow() - started);
            }
        return await ApplyAsync(e, result, started, scheduledFor, scheduled: true, ct).ConfigureAwait(false);
    }

    public bool OnServiceCheck(StatsdServiceCheck sc)
    {
        if (sc.Status is < 0 or > 3) return false;
        var matches = _entries.Values.Where(e => e.IsPassive && e.Options.ServiceCheck == sc.Name && (sc.Hostname == null || e.Host == sc.Hostname)).Take(2).ToList();
        if (matches.Count != 1)
        {
            _log.LogDebug("service check {Name} (host {Host}) matches {Count} passive checks; ignored", sc.Name, sc.Hostname, matches.Count);
            return false;
        }
        return _passive.Writer.TryWrite((matches[0], (CheckState)sc.Status, sc.Message ?? $"{sc.Name} {((CheckState)sc.Status).Upper()}"));
    }

    private async Task PassiveLoopAsync(CancellationToken ct)
    {
        await foreach (var (e, state, output) in _passive.Reader.ReadAllAsync(ct).ConfigureAwait(false))
        {
            try { await SubmitAsync(e, state, output, ct).ConfigureAwait(false); }
            catch (Exception ex) when (ex is not OperationCanceledException) { _log.LogWarning(ex, "passive result for {Key} failed", e.Key); }
        }
    }

    private TimeSpan FreshnessThreshold(CheckEntry e) =>
        e.Options.FreshnessThreshold != null && DurationSyntax.TryParse(e.Options.FreshnessThreshold, out var f) ? f : e.Machine.Policy.CheckInterval;

    /// <summary>A passive result (API or DogStatsD <c>_sc</c>): plugin-style output with perfdata, applied like an active one.</summary>
    internal async Task SubmitAsync(CheckEntry e, CheckState state, string output, CancellationToken ct)
    {
        var parsed = Plugins.PluginOutput.Parse(output);
        var now = _time.GetUtcNow();
        lock (e.Gate) e.LastPassive = now;
        await ApplyAsync(e, new CheckResult(state, parsed.Text, parsed.LongOutput, parsed.PerfData, TimeSpan.Zero), now, null, scheduled: false, ct).ConfigureAwait(false);
    }

    private async Task<DateTimeOffset> ApplyAsync(CheckEntry e, CheckResult result, DateTimeOffset started, DateTimeOffset? scheduledFor, bool scheduled, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var latency = scheduledFor is { } s ? Math.Max(0, (started - s).TotalSeconds) : 0;
        if (e.IsHostCheck) result = result with { State = result.State is CheckState.Ok or CheckState.Warning ? CheckState.Ok : CheckState.Critical };
        var host = e.IsHostCheck ? HostState.Up : HostStateOf(e.HostOptions);
        List<CheckEvent> events;
        DateTimeOffset next;
        bool flapping, tookOver;
        double percentStateChange;
        lock (e.Gate)
        {
            e.Last = result;
            e.LastLatency = latency;
            // Cluster: this run takes the check over from another node (a failover).
            tookOver = e.Runner is { } before && _state?.Node is { } self && before != self;
            e.Runner = _state?.Node;
            events = e.Machine.Process(result.State, now, host);
            // A SERVICE ALERT line says what the plugin said (host;check;state;type;attempt;output), as Nagios logs it.
            for (var i = 0; i < events.Count; i++)
                if (events[i].Kind == CheckEventKind.Alert)
                    events[i] = events[i] with { Text = events[i].Text.Length == 0 ? result.Output : $"{result.Output} ({events[i].Text})" };
            // A submitted passive result leaves the freshness schedule alone; a scheduled run (active, or a freshness
            // check that found the result stale) always counts its next run from now, never from a NextCheck in the past.
            if (!scheduled) next = e.NextCheck ?? now + e.Machine.Policy.CheckInterval;
            else e.NextCheck = next = now + e.Machine.NextInterval;
            flapping = e.Machine.IsFlapping;
            percentStateChange = e.Machine.PercentStateChange;
        }
        Interlocked.Increment(ref _runs);
        await PublishAsync(e, events, ct).ConfigureAwait(false);
        if (tookOver) await AnnounceMissedActionsAsync(e, ct).ConfigureAwait(false);
        WriteMetrics(e, result, latency, flapping, percentStateChange, now);
        return next;
    }

    /// <summary>Nagios: DOWN when the host check is HARD non-UP; UNREACHABLE when every parent is DOWN/UNREACHABLE.</summary>
    internal HostState HostStateOf(HostOptions h, int depth = 0)
    {
        if (depth > 32) return HostState.Up;
        var hc = Find(h.Name, CheckEntry.HostCheckName);
        var down = false;
        if (hc != null) lock (hc.Gate) down = hc.Machine.State != CheckState.Ok && hc.Machine.StateType == StateType.Hard;
        if (!down) return HostState.Up;
        if (h.Parents.Count > 0 && h.Parents.All(p => _options.Hosts.FirstOrDefault(x => x.Name == p) is { } ph && HostStateOf(ph, depth + 1) != HostState.Up))
            return HostState.Unreachable;
        return HostState.Down;
    }

    /// <param name="notify">false: recorded and logged only (another node announced it already).</param>
    internal async Task PublishAsync(CheckEntry e, List<CheckEvent> events, CancellationToken ct, bool notify = true)
    {
        _state?.Changed(e, events);
        if (events.Count == 0) return;
        string output;
        lock (e.Gate)
        {
            foreach (var ev in events) { e.History.Enqueue(ev); while (e.History.Count > 100) e.History.Dequeue(); }
            output = e.Last?.Output ?? "";
        }
        foreach (var ev in events)
        {
            _log.LogInformation("SERVICE {Kind}: {Host};{Check};{State};{Type};{Attempt};{Text}", ev.Kind, e.Host, e.Name, ev.State.Upper(), ev.StateType, ev.Attempt, ev.Text);
            if (_alerts == null || !notify || !OwnsNotifications(e)) continue;
            var labels = new Dictionary<string, string>(e.Options.Labels);
            if (e.HostOptions.Role is { } role) labels.TryAdd("role", role);
            // a metric check's mail carries the graph of its target
            var graph = e.Options.Kind == "metric" && !string.IsNullOrWhiteSpace(e.Options.Target) ? e.Options.Target : null;
            if (AlertMapping.ToAlert(ev, e.Host, e.Name, output, labels, graph) is not { } alert) continue;
            try { await _alerts.SendAsync(alert, ct).ConfigureAwait(false); }
            catch (Exception ex) when (ex is not OperationCanceledException) { _log.LogWarning(ex, "alert sink refused {Key}", alert.Key); }
        }
    }

    /// <summary>Results applied so far (active and passive), for the self-metrics.</summary>
    public long Runs => Interlocked.Read(ref _runs);
    private long _runs;

    internal CheckRunStats Stats() => new(Runs, _state?.Failures ?? 0, Interlocked.Read(ref Api.AvailabilityApi.Refused));

    private void WriteMetrics(CheckEntry e, CheckResult r, double latency, bool flapping, double percentStateChange, DateTimeOffset now)
    {
        if (_metrics.Count == 0) return;
        var ts = now.ToUnixTimeSeconds();
        var prefix = $"{_options.MetricPrefix}.{e.Host}.{e.Name}.";
        _points.Writer.TryWrite(new(prefix + "check_latency", latency, ts));
        _points.Writer.TryWrite(new(prefix + "check_duration", r.Duration.TotalSeconds, ts));
        _points.Writer.TryWrite(new(prefix + "state", (int)r.State, ts));
        // Flapping as numbers, so a dashboard can graph it beside the state (Nagios' percent_state_change, 0–100).
        _points.Writer.TryWrite(new(prefix + "flapping", flapping ? 1 : 0, ts));
        _points.Writer.TryWrite(new(prefix + "percent_state_change", Math.Round(percentStateChange, 2), ts));
        foreach (var p in r.PerfData)
            if (p.Value is { } v && double.IsFinite(v)) _points.Writer.TryWrite(new MetricPoint(prefix + MetricLabel(p.Label), v, ts));
    }

    /// <summary>Drains queued points into batches (up to 5000 points each) and hands them to every metric sink.</summary>
    private async Task MetricLoopAsync(CancellationToken ct)
    {
        var reader = _points.Reader;
        while (await reader.WaitToReadAsync(ct).ConfigureAwait(false))
        {
            var batch = new List<MetricPoint>();
            while (batch.Count < 5000 && reader.TryRead(out var p)) batch.Add(p);
            var mb = new MetricBatch(_time.GetUtcNow().ToUnixTimeSeconds(), batch);
            foreach (var sink in _metrics)
            {
                try { await sink.WriteAsync(mb, ct).ConfigureAwait(false); }
                catch (Exception ex) when (ex is not OperationCanceledException) { _log.LogWarning(ex, "metric sink {Sink} refused check metrics", sink.Name); }
            }
        }
    }

    /// <summary>A perfdata label as one Graphite node: anything but letters, digits, '-' and '_' becomes '_' (<c>/var/log</c> → <c>_var_log</c>).</summary>
    internal static string MetricLabel(string label)
    {
        var chars = label.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray();
        return chars.Length == 0 ? "_" : new string(chars);
    }

    // ---- ICheckStates / API ----

    public IReadOnlyList<CheckStatus> Current() => _entries.Values.Select(Status).ToList();

    public CheckStatus? Get(string host, string check) => Find(host, check) is { } e ? Status(e) : null;

    internal static CheckStatus Status(CheckEntry e)
    {
        lock (e.Gate)
        {
            var m = e.Machine;
            return new CheckStatus(e.Host, e.Name, e.Kind, m.HasBeenChecked ? m.State : CheckState.Pending, m.StateType, m.Attempt, m.Policy.MaxCheckAttempts,
                e.Last?.Output ?? "(not checked yet)", e.Last?.LongOutput, m.LastCheck, e.NextCheck, m.LastStateChange, m.LastHardStateChange,
                e.Last?.Duration.TotalSeconds, e.LastLatency, m.IsFlapping, Math.Round(m.PercentStateChange, 2), m.Ack,
                m.Downtimes.Select(d => new DowntimeStatus(d.Id, d.Start, d.End, d.Fixed, d.Duration.TotalSeconds, d.Author, d.Comment, d.InEffect, d.StartedAt)).ToList(),
                m.InDowntime, m.NotificationNumber, m.LastNotification, e.Options.Labels);
        }
    }

    internal async Task<bool> AcknowledgeAsync(CheckEntry e, string author, string comment, bool sticky, CancellationToken ct)
    {
        List<CheckEvent>? ev;
        lock (e.Gate) ev = e.Machine.Acknowledge(author, comment, sticky, _time.GetUtcNow());
        if (ev == null) return false;
        _state?.Shared(e, new State.Persistence.CheckAction("ack", author, comment, sticky, e.Machine.Ack?.Time ?? _time.GetUtcNow()), OwnsNotifications(e));
        await PublishAsync(e, ev, ct).ConfigureAwait(false);
        await Persisted().ConfigureAwait(false);
        return true;
    }

    internal async Task RemoveAcknowledgementAsync(CheckEntry e, CancellationToken ct)
    {
        List<CheckEvent> ev;
        lock (e.Gate) ev = e.Machine.RemoveAcknowledgement(_time.GetUtcNow());
        _state?.Shared(e, new State.Persistence.CheckAction("unack", "", "", false, _time.GetUtcNow()), announced: true);
        await PublishAsync(e, ev, ct).ConfigureAwait(false);
        await Persisted().ConfigureAwait(false);
    }

    internal async Task<Downtime> ScheduleDowntimeAsync(CheckEntry e, DateTimeOffset start, DateTimeOffset end, bool isFixed, TimeSpan duration, string author, string comment, CancellationToken ct)
    {
        Downtime d; List<CheckEvent> ev;
        // Cluster: the id comes from PostgreSQL, so it names the same downtime on every node.
        var id = _state?.NextDowntimeId(e);
        lock (e.Gate) (d, ev) = e.Machine.ScheduleDowntime(start, end, isFixed, duration, author, comment, _time.GetUtcNow(), id);
        _state?.Shared(e, new State.Persistence.CheckAction("downtime", author, comment, false, _time.GetUtcNow(), start, end, isFixed, duration.TotalSeconds, d.Id),
            OwnsNotifications(e));
        await PublishAsync(e, ev, ct).ConfigureAwait(false);
        await Persisted().ConfigureAwait(false);
        return d;
    }

    internal async Task<bool> CancelDowntimeAsync(CheckEntry e, int id, CancellationToken ct)
    {
        List<CheckEvent> ev;
        lock (e.Gate) ev = e.Machine.CancelDowntime(id, _time.GetUtcNow());
        _state?.Shared(e, new State.Persistence.CheckAction("cancel", "", "", false, _time.GetUtcNow(), DowntimeId: id), announced: true);
        await PublishAsync(e, ev, ct).ConfigureAwait(false);
        await Persisted().ConfigureAwait(false);
        return ev.Count > 0;
    }

    internal IScheduler? Scheduler => _scheduler;

    /// <summary>Operator actions are answered only once they are stored.</summary>
    private Task Persisted() => _state?.FlushAsync() ?? Task.CompletedTask;
}

/// <summary>The Quartz job for one check: run it, then re-arm its own one-shot trigger for the next run.</summary>
[DisallowConcurrentExecution]
internal sealed class CheckJob : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        if (!context.Scheduler.Context.TryGetValue(CheckEngine.EngineKey, out var o) || o is not CheckEngine engine) return;
        var key = context.JobDetail.JobDataMap.GetString("key")!;
        var slash = key.IndexOf('/');
        var entry = engine.Find(key[..slash], key[(slash + 1)..]);
        if (entry == null) return; // removed by a reload; its repeating trigger goes with the deleted job
        DateTimeOffset next;
        try { next = await engine.RunAsync(entry, context.ScheduledFireTimeUtc, cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException) { return; }
        catch (Exception) { next = engine.Now + entry.Machine.Policy.CheckInterval; } // never lose the check's schedule
        next = CheckEngine.NotBefore(next, engine.Now, entry.Machine.Policy.CheckInterval);
        if (cancellationToken.IsCancellationRequested || context.Scheduler.Status is SchedulerStatus.Shutdown or SchedulerStatus.ShuttingDown) return;
        var pin = engine.Clustered ? PreferredNode.For(context.Scheduler.SchedulerInstanceId) : (PreferredNode?)null;
        await context.Scheduler.RescheduleJob(context.Trigger.Key, CheckEngine.Trigger(key, next, entry.Machine.Policy.CheckInterval, pin), cancellationToken).ConfigureAwait(false);
    }
}
