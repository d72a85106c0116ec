using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Observe.Alerting;
using Observe.Checks;
using Observe.Collector;
using Observe.Common;
using Observe.DeployMarkers.Rollback;
using Observe.Storage;

namespace Observe.DeployMarkers;

/// <summary>A deploy marker as the API and CLI send it. Event: start (default), finish or fail.</summary>
internal sealed record MarkerRequest(
    string? Id = null, string? Event = null, string? Service = null, string? Env = null, string? Version = null,
    string? Revision = null, string? Branch = null, string? By = null, string? Description = null, bool Force = false,
    string? RollbackOf = null, string? Reason = null);

/// <summary>What a marker or lock request came to: an HTTP status and the deploy, or the error and the field that caused it.</summary>
internal sealed record MarkResult(int Status, Deploy? Deploy = null, string? Error = null, string? Field = null, EnvLock? Lock = null);

/// <summary>
/// Markers, locks and verification. One gate serialises every change; each change is written to the store before
/// it is answered; announcements, Graphite events and counters go out after. The rollback action runs outside the
/// gate, so a rollback command may itself post markers.
/// </summary>
internal sealed partial class DeployService : IDisposable
{
    private readonly DeploysOptions _options;
    private readonly Dictionary<string, DeployServiceOptions> _services;
    private readonly DeployStore _store;
    private readonly IAlertSink? _alerts;
    private readonly IGraphiteEvents? _events;
    private readonly IReadOnlyList<IMetricSink> _metrics;
    private readonly ISeriesQuery? _series;
    private readonly ICheckStates? _checks;
    private readonly IRollbackRunner _rollback;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    // Each refusal is counted; the log gets one line per 10 s (the auth log's throttle): a client in a loop must not flood it.
    private readonly LogRateLimit _rejectLog;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, Deploy> _deploys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EnvLock> _locks = new(StringComparer.Ordinal);
    /// <summary>service/env → id of the deploy whose rollback action is running: markers posted meanwhile are the rollback's.</summary>
    private readonly Dictionary<string, string> _rollingBack = new(StringComparer.Ordinal);
    private long _rejected;
    /// <summary>Which series are StatsD counters (an absent one reads as 0 in SLIs); null = none.</summary>
    private readonly Func<string, bool>? _counters;

    public DeployService(DeploysOptions options, DeployStore store, IAlertSink? alerts, IGraphiteEvents? events, IEnumerable<IMetricSink> metrics,
        ISeriesQuery? series, ICheckStates? checks, IRollbackRunner rollback, TimeProvider time, ILogger log, Func<string, bool>? counters = null)
    {
        _counters = counters;
        _options = options;
        _services = options.Services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        _store = store; _alerts = alerts; _events = events; _metrics = metrics.ToList(); _series = series; _checks = checks;
        _rollback = rollback; _time = time; _log = log; _rejectLog = new(1, TimeSpan.FromSeconds(10), time);
        foreach (var d in store.Loaded.Deploys) _deploys[d.Id] = d;
        foreach (var l in store.Loaded.Locks) _locks[l.Env] = l;
    }

    /// <summary>Markers refused as malformed since start (each also logged and counted as <c>&lt;prefix&gt;.rejected</c>).</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    public IReadOnlyList<Deploy> List(string? service, string? env, int limit)
    {
        _gate.Wait();
        try
        {
            return _deploys.Values.Where(d => (service == null || d.Service == service) && (env == null || d.Env == env))
                .OrderByDescending(d => d.StartedAt).ThenByDescending(d => d.FinishedAt).Take(limit).ToList();
        }
        finally { _gate.Release(); }
    }

    public Deploy? Get(string id)
    {
        _gate.Wait();
        try { return _deploys.GetValueOrDefault(id); }
        finally { _gate.Release(); }
    }

    public IReadOnlyList<EnvLock> Locks()
    {
        _gate.Wait();
        try { return _locks.Values.OrderBy(l => l.Env, StringComparer.Ordinal).ToList(); }
        finally { _gate.Release(); }
    }

    // ---------------- persistence ----------------

    /// <summary>Deploys changed under the gate since the last <see cref="Commit"/> (in memory already, not yet on disk).</summary>
    private readonly List<Deploy> _staged = [];

    private void Stage(Deploy d)
    {
        if (!_staged.Contains(d)) _staged.Add(d);
    }

    /// <summary>
    /// Writes every staged deploy in one transaction. If that fails nothing of the change stays: each staged deploy is put
    /// back as the store last saved it (a new one is forgotten) and the <see cref="DeployNotSavedException"/> propagates, so
    /// the caller answers 503 and announces nothing. Caller holds the gate.
    /// </summary>
    private void Commit()
    {
        if (_staged.Count == 0) return;
        try { _store.SaveAll(_staged); }
        catch (DeployNotSavedException e)
        {
            _log.LogError("deploys: {Error}; the change was undone", e.Message);
            foreach (var d in _staged)
            {
                Deploy? saved;
                try { saved = _store.Find(d.Id); }
                catch (DeployNotSavedException) { saved = null; }
                if (saved == null) _deploys.Remove(d.Id);
                else DeployStore.CopyInto(saved, d);
            }
            throw;
        }
        finally { _staged.Clear(); }
    }

    private static string Title(Deploy d) => $"{d.Service}{(d.Branch != null ? "/" + d.Branch : "")} ({d.Version})";

    private static string Human(TimeSpan t) => t.TotalSeconds < 120 ? $"{t.TotalSeconds:0} s" : $"{t.TotalMinutes:0.#} min";

    private static string NewId(DateTimeOffset now) => $"{now:yyyyMMddHHmmss}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Free text reaches IRC and mail: no CR/LF/NUL or other control characters.</summary>
    internal static string Clean(string s) => RequestAuthor.Clean(s);

    // \z, not $: '$' also matches before a final newline, which would let "v1\n" through.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\\z")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._+:/@-]{0,127}\\z")]
    private static partial Regex VersionPattern();

    /// <summary>Closes <c>deploys.db</c> (the host disposes the service at shutdown).</summary>
    public void Dispose() => _store.Dispose();

    private sealed class NoSeries : ISeriesQuery
    {
        public static readonly NoSeries Instance = new();
        public IReadOnlyList<QueriedSeries> Evaluate(string target, long from, long until) => [];
    }
}
