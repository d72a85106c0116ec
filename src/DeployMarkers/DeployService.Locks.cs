using Observe.Alerting;

namespace Observe.DeployMarkers;

/// <summary>Environment locks: taken and released by hand; a start on a locked env is refused.</summary>
internal sealed partial class DeployService
{
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
}
