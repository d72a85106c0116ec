using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Observe.Alerting;
using Observe.Checks;
using Observe.Collector;
using Observe.DeployMarkers.Rollback;
using Observe.Storage;
using Observe.Storage.Graphite;
using Observe.Common;

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
    private readonly GraphiteEventStore? _events;
    private readonly IReadOnlyList<IMetricSink> _metrics;
    private readonly ISeriesQuery? _series;
    private readonly ICheckStates? _checks;
    private readonly IRollbackRunner _rollback;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    // Each refusal is counted; the log gets one line per 10 s (the auth log's throttle): a client in a loop must not flood it.
    private readonly Observe.Collector.LogThrottle _rejectLog;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, Deploy> _deploys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EnvLock> _locks = new(StringComparer.Ordinal);
    /// <summary>service/env → id of the deploy whose rollback action is running: markers posted meanwhile are the rollback's.</summary>
    private readonly Dictionary<string, string> _rollingBack = new(StringComparer.Ordinal);
    private long _rejected;
    /// <summary>Which series are StatsD counters (an absent one reads as 0 in SLIs); null = none.</summary>
    private readonly Func<string, bool>? _counters;

    public DeployService(DeploysOptions options, DeployStore store, IAlertSink? alerts, GraphiteEventStore? events, IEnumerable<IMetricSink> metrics,
        ISeriesQuery? series, ICheckStates? checks, IRollbackRunner rollback, TimeProvider time, ILogger log, Func<string, bool>? counters = null)
    {
        _counters = counters;
        _options = options;
        _services = options.Services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        _store = store; _alerts = alerts; _events = events; _metrics = metrics.ToList(); _series = series; _checks = checks;
        _rollback = rollback; _time = time; _log = log; _rejectLog = new(TimeSpan.FromSeconds(10), time);
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

    // ---------------- markers ----------------

    public async Task<MarkResult> MarkAsync(MarkerRequest r, string? who, CancellationToken ct)
    {
        var ev = (r.Event ?? "start").Trim().ToLowerInvariant();
        if (ev is not ("start" or "finish" or "fail")) return Reject("event", $"'{r.Event}' is not one of start, finish, fail");
        if (r.Id != null && !IdPattern().IsMatch(r.Id)) return Reject("id", "must be 1–128 letters, digits, '.', '_', ':', '-'");
        var now = _time.GetUtcNow();
        var notices = new List<Func<Task>>();
        MarkResult result;
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var existing = r.Id != null ? _deploys.GetValueOrDefault(r.Id) : null;
            if (existing == null || ev == "start")
            {
                if (Validate(r, who) is { } bad) return bad;
            }
            result = ev switch
            {
                "start" => Start(r, who!, existing, now, notices),
                "finish" => Finish(r, who, existing, now, notices),
                _ => Fail(r, who, existing, now, notices),
            };
            Commit();
        }
        finally { _gate.Release(); }
        foreach (var n in notices) await n().ConfigureAwait(false);
        return result;
    }

    private MarkResult? Validate(MarkerRequest r, string? who)
    {
        if (string.IsNullOrWhiteSpace(r.Service)) return Reject("service", "required");
        if (!DeploysConfig.Name().IsMatch(r.Service)) return Reject("service", $"'{Clean(r.Service)}' is not a service name (letters, digits, '_', '-'; at most 64)");
        if (string.IsNullOrWhiteSpace(r.Env)) return Reject("env", "required");
        if (!DeploysConfig.Name().IsMatch(r.Env)) return Reject("env", $"'{Clean(r.Env)}' is not an environment name (letters, digits, '_', '-'; at most 64)");
        if (string.IsNullOrWhiteSpace(r.Version)) return Reject("version", "required");
        if (!VersionPattern().IsMatch(r.Version)) return Reject("version", "must be 1–128 characters: letters, digits, '.', '_', '-', '+', ':', '/', '@'");
        if (r.Branch != null && !VersionPattern().IsMatch(r.Branch)) return Reject("branch", "must be 1–128 characters: letters, digits, '.', '_', '-', '+', ':', '/', '@'");
        if (r.Revision != null && !VersionPattern().IsMatch(r.Revision)) return Reject("revision", "must be 1–128 characters: letters, digits, '.', '_', '-', '+', ':', '/', '@'");
        if (who == null) return Reject("by", "required (who is deploying)");
        if (who.Length > 100) return Reject("by", "at most 100 characters");
        if (r.Description is { Length: > 2000 }) return Reject("description", "at most 2000 characters");
        // It is stored, shown and handed to rollback commands: only what a deploy id can be.
        if (r.RollbackOf != null && !IdPattern().IsMatch(r.RollbackOf)) return Reject("rollbackOf", "must be a deploy id: 1–128 letters, digits, '.', '_', ':', '-'");
        return null;
    }

    /// <summary>Counts a request refused before it could be read as a marker (malformed JSON).</summary>
    internal void CountRejected(string why) => Reject("body", why);

    private MarkResult Reject(string field, string message)
    {
        Interlocked.Increment(ref _rejected);
        if (_rejectLog.ShouldLog(out var more))
            _log.LogWarning("deploy marker refused: {Field}: {Message} ({More} more refused since the last such line)", field, message, more);
        Count($"{_options.MetricPrefix}.rejected");
        return new MarkResult(400, Error: $"{field}: {message}", Field: field);
    }

    private MarkResult Start(MarkerRequest r, string who, Deploy? existing, DateTimeOffset now, List<Func<Task>> notices)
    {
        if (existing != null)
        {
            // The same id again is the same deploy: a retried request changes nothing and announces nothing.
            return existing.Service == r.Service && existing.Env == r.Env && existing.Version == r.Version
                ? new MarkResult(200, existing)
                : new MarkResult(409, existing, $"id '{existing.Id}' is already {existing.Service} {existing.Version} to {existing.Env}", "id");
        }
        EnvLock? forced = null;
        var key = $"{r.Service}/{r.Env}";
        var rollbackOf = r.RollbackOf ?? _rollingBack.GetValueOrDefault(key);
        // A rollback of the lock holder's own deploy is the holder's business: its deploy script holds the lock across
        // `finish --wait`, and the rollback that wait is waiting for must be able to mark itself.
        var holdersRollback = rollbackOf != null && _deploys.GetValueOrDefault(rollbackOf) is { } rolled && _locks.TryGetValue(r.Env!, out var l0)
                              && string.Equals(rolled.By, l0.By, StringComparison.OrdinalIgnoreCase);
        if (_locks.TryGetValue(r.Env!, out var held) && !string.Equals(held.By, who, StringComparison.OrdinalIgnoreCase) && !holdersRollback)
        {
            if (!r.Force) return new MarkResult(409, Error: $"{held.Env} is locked by {held.By}: {held.Reason}", Field: "env", Lock: held);
            forced = held;
        }
        var d = new Deploy
        {
            Id = r.Id ?? NewId(now), Service = r.Service!, Env = r.Env!, Version = r.Version!, Revision = r.Revision, Branch = r.Branch,
            By = who, Description = r.Description is { } desc ? Clean(desc) : null, State = DeployState.Started, StartedAt = now,
            KnownService = _services.ContainsKey(r.Service!), ForcedPastLock = forced,
            RollbackOf = rollbackOf,
        };
        // A newer deploy of the same service and environment ends the older one's verification.
        foreach (var old in _deploys.Values.Where(o => o.Service == d.Service && o.Env == d.Env && o.SupersededBy == null
                     && (o.State == DeployState.Started || o.State == DeployState.Finished && o.Verification?.Verdict is null or "pending")))
        {
            old.SupersededBy = d.Id;
            if (old.State == DeployState.Finished)
                old.Verification = (old.Verification ?? Empty(old, now)) with { Verdict = "superseded", Reason = $"superseded by {d.Id} ({d.Version})", EvaluatedAt = now };
            Stage(old);
        }
        _deploys[d.Id] = d;
        Stage(d);
        var text = $"{Title(d)} is being deployed to {d.Env} by {d.By}"
                   + (forced != null ? $" (forced past the lock held by {forced.By}: {forced.Reason})" : "")
                   + (d.RollbackOf != null ? $" (rollback of {d.RollbackOf})" : "");
        Publish(notices, d, "started", text, AlertStatus.Announcement, "info");
        return new MarkResult(201, d);
    }

    private MarkResult Finish(MarkerRequest r, string? who, Deploy? d, DateTimeOffset now, List<Func<Task>> notices)
    {
        if (d == null && r.Id == null)
        {
            // Without an id, never guess: the one deploy in progress here, and only if it is this version.
            var running = _deploys.Values.Where(o => o.Service == r.Service && o.Env == r.Env && o.State == DeployState.Started && o.SupersededBy == null).ToList();
            if (running.Count > 1)
                return new MarkResult(409, Error: $"{running.Count} deploys of {r.Service} to {r.Env} are in progress ({string.Join(", ", running.Select(o => $"{o.Id}: {o.Version}"))}): give the deploy id", Field: "id");
            if (running.Count == 1 && r.Version != null && running[0].Version != r.Version)
                return new MarkResult(409, Error: $"the deploy of {r.Service} to {r.Env} in progress is {running[0].Id} ({running[0].Version}), not {r.Version}: give the deploy id", Field: "id");
            d = running.FirstOrDefault();
            // A repeated finish: this version is the latest deploy here and already finished.
            if (d == null && Latest(r, null) is { FinishedAt: not null } done && Latest(r with { Version = null }, null)?.Id == done.Id) return new MarkResult(200, done);
        }
        var created = d == null;
        if (d == null)
        {
            // A finish with no start still counts: record the deploy as started and finished now.
            var start = Start(r with { Force = true }, who!, null, now, notices);
            if (start.Deploy == null) return start;
            d = start.Deploy;
        }
        if (d.State != DeployState.Started) return new MarkResult(200, d);
        d.State = DeployState.Finished;
        d.FinishedAt = now;
        var settings = Settings(d);
        d.Verification = !d.KnownService ? Empty(d, now) with { Verdict = "not_verified", Reason = $"{d.Service} is not a declared service" }
            : Empty(d, now) with { Verdict = "pending", Reason = $"watching for {settings.Window.TotalMinutes:0.#} min" };
        Stage(d);
        var text = $"{Title(d)} was deployed to {d.Env} by {d.By}" + (d.KnownService ? $"; verifying for {Human(settings.Window)}" : "; not verified (unknown service)");
        Publish(notices, d, "finished", text, AlertStatus.Announcement, "info");
        return new MarkResult(created ? 201 : 200, d);
    }

    private MarkResult Fail(MarkerRequest r, string? who, Deploy? d, DateTimeOffset now, List<Func<Task>> notices)
    {
        d ??= r.Id == null ? Latest(r, DeployState.Started) ?? Latest(r, DeployState.Finished) : null;
        if (d == null)
        {
            var start = Start(r with { Force = true }, who!, null, now, notices);
            if (start.Deploy == null) return start;
            d = start.Deploy;
        }
        if (d.State is not (DeployState.Started or DeployState.Finished)) return new MarkResult(200, d);
        d.State = DeployState.Failed;
        d.EndedAt = now;
        d.FailReason = Clean(r.Reason ?? r.Description ?? "the deploy tool reported a failure");
        if (d.Verification?.Verdict == "pending") d.Verification = d.Verification with { Verdict = "not_verified", Reason = "the deploy failed", EvaluatedAt = now };
        Stage(d);
        Publish(notices, d, "failed", $"deploy of {Title(d)} to {d.Env} by {d.By} failed: {d.FailReason}", AlertStatus.Announcement, "warning");
        return new MarkResult(200, d);
    }

    private Deploy? Latest(MarkerRequest r, DeployState? state) => _deploys.Values
        .Where(d => d.Service == r.Service && d.Env == r.Env && (r.Version == null || d.Version == r.Version) && (state == null || d.State == state))
        .MaxBy(d => d.StartedAt);

    // ---------------- locks ----------------

    public async Task<MarkResult> LockAsync(string? env, string? who, string? reason, bool force, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(env) || !DeploysConfig.Name().IsMatch(env)) return Reject("env", "required: an environment name (letters, digits, '_', '-')");
        if (string.IsNullOrWhiteSpace(who)) return Reject("by", "required (who holds the lock)");
        var notices = new List<Func<Task>>();
        var now = _time.GetUtcNow();
        EnvLock l;
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_locks.TryGetValue(env, out var held) && !string.Equals(held.By, who, StringComparison.OrdinalIgnoreCase) && !force)
                return new MarkResult(409, Error: $"{env} is locked by {held.By}: {held.Reason}", Field: "env", Lock: held);
            l = new EnvLock(env, who, Clean(reason ?? ""), now);
            _store.SaveLock(l); // written before it is seen: a lock that could not be saved was never taken
            _locks[env] = l;
            var text = $"{env} locked by {who}" + (l.Reason.Length > 0 ? $": {l.Reason}" : "") + (held != null && held.By != who ? $" (taken over from {held.By})" : "");
            notices.Add(() => Announce($"lock/{env}", text, AlertStatus.Announcement, "info", new() { ["env"] = env, ["by"] = who, ["kind"] = "announcement", ["event"] = "lock" }, now));
        }
        finally { _gate.Release(); }
        foreach (var n in notices) await n().ConfigureAwait(false);
        return new MarkResult(201, Lock: l);
    }

    public async Task<MarkResult> UnlockAsync(string env, string? who, bool force, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(who)) return Reject("by", "required (who releases the lock)");
        var now = _time.GetUtcNow();
        EnvLock? held;
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!_locks.TryGetValue(env, out held)) return new MarkResult(404, Error: $"{env} is not locked", Field: "env");
            if (!string.Equals(held.By, who, StringComparison.OrdinalIgnoreCase) && !force)
                return new MarkResult(409, Error: $"{env} is locked by {held.By}: {held.Reason} (force to release someone else's lock)", Field: "env", Lock: held);
            _store.DeleteLock(env);
            _locks.Remove(env);
        }
        finally { _gate.Release(); }
        await Announce($"lock/{env}", $"{env} unlocked by {who}" + (held.By != who ? $" (was held by {held.By})" : ""), AlertStatus.Announcement, "info",
            new() { ["env"] = env, ["by"] = who, ["kind"] = "announcement", ["event"] = "unlock" }, now).ConfigureAwait(false);
        return new MarkResult(200, Lock: held);
    }

    // ---------------- verification ----------------

    /// <summary>One verifier pass: judges every deploy still being watched, and acts on the verdicts. Returns how many were judged.</summary>
    public async Task<int> EvaluateAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        List<Deploy> pending;
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try { pending = _deploys.Values.Where(IsPending).ToList(); }
        finally { _gate.Release(); }
        foreach (var d in pending)
        {
            if (_series == null && _checks == null) break;
            var svc = _services[d.Service];
            List<(long, long)> excluded;
            await _gate.WaitAsync(ct).ConfigureAwait(false);
            try { excluded = BadWindows(d, now); }
            finally { _gate.Release(); }
            var v = DeployJudge.Judge(d, svc, Settings(d), now, _series ?? NoSeries.Instance, _checks, excluded);
            var notices = new List<Func<Task>>();
            var rollback = false;
            await _gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (!IsPending(d)) continue; // superseded or failed while we judged
                d.Verification = v;
                if (v.Verdict != "pending")
                {
                    // For dashboards: verdicts per service and environment, and how long a deploy waited for its verdict.
                    // Sent once the verdict is written (with the announcements below), so a verdict not saved is not counted.
                    var prefix = $"{_options.MetricPrefix}.{d.Service}.{d.Env}";
                    var waited = d.FinishedAt is { } finished ? Math.Max(0, (now - finished).TotalSeconds) : (double?)null;
                    notices.Add(() =>
                    {
                        Measure($"{prefix}.verdict.{v.Verdict}", 1);
                        if (waited is { } w) Measure($"{prefix}.time_to_verdict_seconds", w);
                        return Task.CompletedTask;
                    });
                }
                switch (v.Verdict)
                {
                    case "pass":
                        d.State = DeployState.Verified;
                        d.EndedAt = now;
                        Publish(notices, d, "verified", $"{Title(d)} on {d.Env} passed verification: {v.Reason}", AlertStatus.Announcement, "info", graphite: false);
                        ResolveEarlierAlerts(d, notices, now);
                        break;
                    case "inconclusive" or "not_verified":
                        Publish(notices, d, "inconclusive", $"{Title(d)} on {d.Env}: verification inconclusive: {v.Reason}", AlertStatus.Announcement, "info", graphite: false);
                        break;
                    case "fail" when svc.AutoRollback && svc.Rollback != null && d.RollbackOf == null:
                        rollback = true;
                        // An open rollback record (no end) tells `observe deploy finish --wait` that a rollback is coming.
                        d.Rollback = new RollbackRecord(svc.Rollback.Command.Count > 0 ? "command" : "webhook", null, now, null, false, null, null, false, "", null);
                        break;
                    case "fail":
                        var why = d.RollbackOf != null ? "it is itself a rollback, so it is not rolled back again" : "automatic rollback is off";
                        Publish(notices, d, "verification_failed", $"{Title(d)} on {d.Env} failed verification: {v.Reason} ({why})", AlertStatus.Firing, "critical", graphite: false);
                        break;
                }
                Stage(d);
                Commit();
                // Markers posted from now on belong to the rollback (only once the verdict that starts it is saved).
                if (rollback) _rollingBack[$"{d.Service}/{d.Env}"] = d.Id;
            }
            finally { _gate.Release(); }
            foreach (var n in notices) await n().ConfigureAwait(false);
            if (rollback) await RollBackAsync(d, svc, v, ct).ConfigureAwait(false);
        }
        return pending.Count;
    }

    /// <summary>
    /// Earlier deploys of the same service and environment that failed verification, were rolled back or failed, from
    /// start to end: what the service looked like then is not its normal, so baselines leave those windows out.
    /// </summary>
    private List<(long, long)> BadWindows(Deploy d, DateTimeOffset now) => _deploys.Values
        .Where(o => o.Service == d.Service && o.Env == d.Env && o.Id != d.Id && o.StartedAt < d.StartedAt
                    && (o.State is DeployState.RolledBack or DeployState.Failed || o.Verification?.Verdict == "fail"))
        .Select(o => (o.StartedAt.ToUnixTimeSeconds(), Math.Min((o.EndedAt ?? now).ToUnixTimeSeconds(), d.StartedAt.ToUnixTimeSeconds())))
        .ToList();

    /// <summary>Someone says a deploy's alert is dealt with (<c>POST /api/deploys/{id}/resolve</c>): 404 unknown, 409 nothing firing.</summary>
    public async Task<MarkResult> ResolveAsync(string id, string? who, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(who)) return Reject("by", "required (who resolves it)");
        var now = _time.GetUtcNow();
        Deploy? d;
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if ((d = _deploys.GetValueOrDefault(id)) == null) return new MarkResult(404, Error: $"no deploy {id}", Field: "id");
            if (!d.AlertFiring) return new MarkResult(409, d, $"deploy {id} has no firing alert", "id");
            d.AlertFiring = false;
            Stage(d);
            Commit();
        }
        finally { _gate.Release(); }
        var labels = Labels(d, "resolved");
        labels["kind"] = "alert";
        await Announce(AlertKey(d), $"{Title(d)} on {d.Env}: resolved by {Clean(who)}", AlertStatus.Resolved, "info", labels, now).ConfigureAwait(false);
        return new MarkResult(200, d);
    }

    /// <summary>A deploy that passed ends the alerts of the deploys before it in its service and environment: the service is good again.</summary>
    private void ResolveEarlierAlerts(Deploy d, List<Func<Task>> notices, DateTimeOffset now)
    {
        foreach (var o in _deploys.Values.Where(o => o.AlertFiring && o.Service == d.Service && o.Env == d.Env && o.StartedAt <= d.StartedAt).ToList())
        {
            o.AlertFiring = false;
            Stage(o); // written with the passing deploy's verdict
            var labels = Labels(o, "resolved");
            labels["kind"] = "alert";
            notices.Add(() => Announce(AlertKey(o), $"{Title(o)} on {o.Env}: resolved, {Title(d)} passed verification", AlertStatus.Resolved, "info", labels, now));
        }
    }

    /// <summary>
    /// A deploy's alert has its own key, so a firing one never absorbs (dedups) the next deploy's: every rollback is heard.
    /// Announcements share <c>deploy/service/env</c>; they are never deduplicated.
    /// </summary>
    private static string AlertKey(Deploy d) => $"deploy/{d.Service}/{d.Env}/{d.Id}";

    private bool IsPending(Deploy d) => d.State == DeployState.Finished && d.KnownService && d.SupersededBy == null && d.Verification?.Verdict == "pending";

    private async Task RollBackAsync(Deploy d, DeployServiceOptions svc, Verification v, CancellationToken ct)
    {
        string? good;
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // The last deploy before this one that did not fail: what we go back to.
            good = _deploys.Values.Where(o => o.Service == d.Service && o.Env == d.Env && o.Id != d.Id && o.StartedAt <= d.StartedAt
                                              && o.State is DeployState.Verified or DeployState.Finished && o.Verification?.Verdict is not ("fail" or "pending"))
                .MaxBy(o => o.StartedAt)?.Version;
        }
        finally { _gate.Release(); }
        var timeout = DurationSyntax.Parse(svc.Rollback!.Timeout ?? _options.RollbackTimeout, "rollback.timeout");
        _log.LogWarning("deploy {Id}: {Service} {Version} on {Env} failed verification ({Reason}); rolling back to {Good}", d.Id, d.Service, d.Version, d.Env, v.Reason, good ?? "(unknown)");
        RollbackRecord record;
        try { record = await _rollback.RunAsync(svc.Rollback, new RollbackRequest(d.Id, d.Service, d.Env, d.Version, good, v.Reason), timeout, ct).ConfigureAwait(false); }
        finally
        {
            await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            _rollingBack.Remove($"{d.Service}/{d.Env}");
            _gate.Release();
        }
        var now = _time.GetUtcNow();
        var notices = new List<Func<Task>>();
        await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            d.Rollback = record;
            d.EndedAt = now;
            if (record.Succeeded)
            {
                d.State = DeployState.RolledBack;
                Publish(notices, d, "rolled_back", $"{Title(d)} on {d.Env} was rolled back to {good ?? "the previous version"}: {v.Reason}", AlertStatus.Firing, "critical");
            }
            else
            {
                d.State = DeployState.Failed;
                d.FailReason = $"rollback failed: {record.Error}";
                Publish(notices, d, "rollback_failed", $"{Title(d)} on {d.Env} failed verification ({v.Reason}) and its ROLLBACK FAILED: {record.Error}", AlertStatus.Firing, "critical");
            }
            Stage(d);
            Commit();
        }
        finally { _gate.Release(); }
        foreach (var n in notices) await n().ConfigureAwait(false);
    }

    internal JudgeSettings Settings(Deploy d)
    {
        var svc = _services.GetValueOrDefault(d.Service);
        return new JudgeSettings(DurationSyntax.Parse(svc?.Window ?? _options.Window, "window"), DurationSyntax.Parse(svc?.Baseline ?? _options.Baseline, "baseline"),
            _options.MinPoints, _options.Confidence, _counters);
    }

    private static Verification Empty(Deploy d, DateTimeOffset now) => new("pending", "", now, 0, 0, 0, 0, [], []);

    // ---------------- telling people ----------------

    /// <summary>
    /// Queues what a change tells the world: an announcement (or alert), a Graphite event tagged <c>deploy service env</c>,
    /// and the counter <c>prefix.service.env.event</c>. Runs after the gate is released.
    /// </summary>
    private void Publish(List<Func<Task>> notices, Deploy d, string ev, string text, AlertStatus status, string severity, bool graphite = true)
    {
        var now = _time.GetUtcNow();
        var labels = Labels(d, ev);
        // kind tells a route deploy alerts (firing until a later deploy passes) from announcements: both have source=deploy.
        labels["kind"] = status == AlertStatus.Firing ? "alert" : "announcement";
        if (status == AlertStatus.Firing) d.AlertFiring = true;
        if (graphite)
        {
            // Grafana shows `what` as an annotation's title and `data` as its text: a sentence for people, not JSON.
            var verdict = d.Verification?.Verdict is { } v && v != "pending" ? $"; verdict {v}" : "";
            var data = $"{ev.Replace('_', ' ')}: {d.Service} {d.Version} on {d.Env} by {d.By}{verdict} (deploy {d.Id})";
            notices.Add(() =>
            {
                // The deploy is already recorded: a failed annotation is reported, not turned into a failed marker.
                try { _events?.Add(text, ["deploy", d.Service, d.Env], data, now.ToUnixTimeSeconds()); }
                catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException) { _log.LogWarning("deploy {Id}: Graphite event not written: {Error}", d.Id, e.Message); }
                return Task.CompletedTask;
            });
        }
        notices.Add(() =>
        {
            Count($"{_options.MetricPrefix}.{d.Service}.{d.Env}.{ev}");
            _log.LogInformation("deploy {Id}: {Text}", d.Id, text);
            return Announce(status == AlertStatus.Firing ? AlertKey(d) : $"deploy/{d.Service}/{d.Env}", text, status, severity, labels, now);
        });
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

    private static Dictionary<string, string> Labels(Deploy d, string ev)
    {
        var labels = new Dictionary<string, string> { ["service"] = d.Service, ["env"] = d.Env, ["version"] = d.Version, ["by"] = d.By, ["event"] = ev, ["deploy_id"] = d.Id };
        if (d.Branch != null) labels["branch"] = d.Branch;
        return labels;
    }

    private async Task Announce(string key, string text, AlertStatus status, string severity, Dictionary<string, string> labels, DateTimeOffset now)
    {
        if (_alerts == null) return;
        try { await _alerts.SendAsync(new AlertEvent("deploy", key, status, severity, text, null, labels, now), CancellationToken.None).ConfigureAwait(false); }
        catch (Exception e) { _log.LogWarning(e, "alert sink refused {Key}", key); }
    }

    /// <summary>A counter point (value 1) to every metric sink.</summary>
    private void Count(string path) => Measure(path, 1);

    /// <summary>One point to every metric sink, off the caller's path: a slow sink never delays a marker.</summary>
    private void Measure(string path, double value)
    {
        if (_metrics.Count == 0) return;
        var batch = new MetricBatch(_time.GetUtcNow().ToUnixTimeSeconds(), [new MetricPoint(path, value, _time.GetUtcNow().ToUnixTimeSeconds())]);
        _ = Task.Run(async () =>
        {
            foreach (var sink in _metrics)
            {
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try { await sink.WriteAsync(batch, limit.Token).ConfigureAwait(false); }
                catch (Exception e) { _log.LogWarning(e, "metric sink {Sink} refused {Path}", sink.Name, path); }
            }
        });
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
