using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Alerting;
using Observe.Checks;
using Observe.Collector;
using Observe.Storage;
using Observe.Storage.Graphite;
using Observe.TestSupport;

namespace Observe.DeployMarkers.Tests;

/// <summary>Series as functions of time: target → value at a 10 s slot (null = no point).</summary>
internal sealed class FunctionSeries : ISeriesQuery
{
    public const long Step = 10;
    public Dictionary<string, Func<long, double?>> Targets { get; } = new();

    public IReadOnlyList<QueriedSeries> Evaluate(string target, long from, long until)
    {
        if (!Targets.TryGetValue(target, out var f)) return [];
        var start = from - from % Step;
        var values = new List<double?>();
        for (var ts = start; ts <= until; ts += Step) values.Add(f(ts));
        return [new QueriedSeries(target, start, Step, [.. values])];
    }
}

internal sealed class FixedCheckStates(Func<string, string, CheckStatus?> get) : ICheckStates
{
    public IReadOnlyList<CheckStatus> Current() => [];
    public CheckStatus? Get(string host, string check) => get(host, check);
}

internal sealed class RecordingRollbackRunner(bool succeed = true) : Rollback.IRollbackRunner
{
    public ConcurrentQueue<Rollback.RollbackRequest> Requests { get; } = new();
    public Task<RollbackRecord> RunAsync(RollbackOptions action, Rollback.RollbackRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Requests.Enqueue(request);
        return Task.FromResult(new RollbackRecord("command", request.GoodVersion, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, succeed, succeed ? 0 : 1, null, false, "ok", succeed ? null : "exit code 1"));
    }
}

/// <summary>A DeployService with recording fakes around it.</summary>
internal sealed class Harness : IDisposable
{
    public ManualTimeProvider Clock { get; } = new(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
    public RecordingAlertSink Alerts { get; } = new();
    public RecordingMetricSink Metrics { get; } = new();
    public FunctionSeries Series { get; } = new();
    public GraphiteEventStore Events { get; } = GraphiteEventStore.InMemory();
    public Rollback.IRollbackRunner Runner { get; }
    public DeployStore Store { get; }
    public DeploysOptions Options { get; }
    public ICheckStates? Checks { get; set; }
    public ILogger Log { get; set; } = NullLogger.Instance;
    public DeployService Service { get; private set; }

    public Harness(DeploysOptions options, Rollback.IRollbackRunner? runner = null, DeployStore? store = null)
    {
        Options = options;
        Runner = runner ?? new RecordingRollbackRunner();
        Store = store ?? DeployStore.InMemory();
        Service = Build();
    }

    public DeployService Build() => Service = new DeployService(Options, Store, Alerts, Events, [Metrics], Series, Checks, Runner, Clock, Log);

    public Task<MarkResult> Mark(string ev, string service, string env, string version, string by = "matt", string? id = null, bool force = false, string? branch = null) =>
        Service.MarkAsync(new MarkerRequest(Id: id, Event: ev, Service: service, Env: env, Version: version, Branch: branch, By: by, Force: force), by, CancellationToken.None);

    /// <summary>Steps the clock one flush at a time, running a verifier pass each time, until <paramref name="done"/> or the limit.</summary>
    public async Task<TimeSpan> RunVerifier(Func<bool> done, TimeSpan limit)
    {
        var start = Clock.Now;
        while (!done() && Clock.Now - start < limit)
        {
            Clock.Advance(TimeSpan.FromSeconds(10));
            await Service.EvaluateAsync(CancellationToken.None);
        }
        return Clock.Now - start;
    }

    public void Dispose() { Store.Dispose(); Events.Dispose(); }
}
