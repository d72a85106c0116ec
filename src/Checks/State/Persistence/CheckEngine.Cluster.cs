using Microsoft.Extensions.Logging;
using Observe.Checks.State;
using Observe.Checks.State.Persistence;

namespace Observe.Checks.Scheduling;

internal sealed partial class CheckEngine
{
    /// <summary>Cluster: an ack or downtime taken on another node, applied to this node's copy of the check (and published
    /// like a local one, so the alert pipeline of the node running the check sees the ack too).</summary>
    private async Task ApplyRemoteAsync(CheckEntry e, long id, CheckAction a)
    {
        List<CheckEvent>? ev;
        lock (e.Gate)
        {
            var now = _time.GetUtcNow();
            ev = a.Kind switch
            {
                // The ack keeps the time it was taken on the other node, so every node shows the same ack.
                "ack" => e.Machine.Ack is { } ack && ack.Author == a.Author && ack.Time == a.Time ? null : e.Machine.Acknowledge(a.Author, a.Comment, a.Sticky, a.Time),
                "unack" => e.Machine.RemoveAcknowledgement(now),
                "downtime" when a.Start is { } s && a.End is { } end && !e.Machine.Downtimes.Any(d => d.Id == a.DowntimeId) =>
                    e.Machine.ScheduleDowntime(s, end, a.Fixed, TimeSpan.FromSeconds(a.DurationSeconds), a.Author, a.Comment, now, a.DowntimeId).Events,
                "cancel" => e.Machine.CancelDowntime(a.DowntimeId, now),
                _ => null,
            };
        }
        if (ev == null) return;
        // The runner announces an ack taken elsewhere unless a node that took the check over meanwhile did already.
        var announce = a.Kind != "ack" || !OwnsNotifications(e) || Claim(() => _state!.ClaimAnnouncement(id), true);
        await PublishAsync(e, ev, CancellationToken.None, announce).ConfigureAwait(false);
    }

    /// <summary>
    /// Cluster, when this node takes a check over: an ack posted on a node that was not the runner while the runner was
    /// dead was kept but announced by nobody; announce it now, once (the shared action log records who announced what).
    /// </summary>
    private async Task AnnounceMissedAcksAsync(CheckEntry e, CancellationToken ct)
    {
        if (_state == null) return;
        foreach (var a in Claim(() => _state.ClaimUnannouncedAcks(e), []))
        {
            List<CheckEvent> ev;
            lock (e.Gate)
            {
                // Only the ack still in force (not one a recovery or an unack cleared since).
                if (e.Machine.Ack is not { } ack || ack.Author != a.Author || ack.Time != a.Time) continue;
                ev = [new CheckEvent(CheckEventKind.Acknowledgement, _time.GetUtcNow(), e.Machine.State, e.Machine.StateType, e.Machine.Attempt,
                    $"acknowledged by {a.Author}{(a.Sticky ? " (sticky)" : "")}: {a.Comment}")];
            }
            _log.LogInformation("checks: announcing the ack of {Key} by {Author} taken while the check's runner was away", e.Key, a.Author);
            await PublishAsync(e, ev, ct).ConfigureAwait(false);
        }
    }

    /// <summary>A claim on the shared store; when it cannot be reached, <paramref name="fallback"/> (announce rather than lose it).</summary>
    private T Claim<T>(Func<T> claim, T fallback)
    {
        try { return claim(); }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _log.LogWarning("checks: could not record an announcement in the shared state ({Error})", ex.Message);
            return fallback;
        }
    }

    /// <summary>
    /// Cluster: only the node running a check tells Alerting about it (its problems, recoveries and announcements — an
    /// ack or downtime taken on another node is announced by the runner when it applies the action), so each is sent once.
    /// </summary>
    private bool OwnsNotifications(CheckEntry e)
    {
        if (_state?.Node is not { } self) return true;
        lock (e.Gate) return e.Runner is null || e.Runner == self;
    }
}
