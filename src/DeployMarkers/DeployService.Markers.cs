using Microsoft.Extensions.Logging;
using Observe.Alerting;

namespace Observe.DeployMarkers;

/// <summary>Deploy markers: start, finish and fail, validated, each a change to one deploy under the gate.</summary>
internal sealed partial class DeployService
{
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
        if (_rejectLog.TryLog(out var more))
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
}
