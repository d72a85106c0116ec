using Microsoft.Extensions.Logging;
using Observe.Alerting;
using Observe.Common;
using Observe.DeployMarkers.Rollback;

namespace Observe.DeployMarkers;

/// <summary>Verification: judging finished deploys against their checks and metrics, resolving, rolling back.</summary>
internal sealed partial class DeployService
{
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
}
