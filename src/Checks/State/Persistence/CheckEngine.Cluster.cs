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
        // The runner announces an ack or downtime taken elsewhere unless a node that took the check over meanwhile did already.
        var announce = !Announceable(a) || !OwnsNotifications(e) || Claim(() => _state!.ClaimAnnouncement(id), true);
        await PublishAsync(e, ev, CancellationToken.None, announce).ConfigureAwait(false);
    }

    /// <summary>Actions whose announcement is claimed in the shared action log (the others are announced by whoever applies them).</summary>
    private static bool Announceable(CheckAction a) => a.Kind is "ack" or "downtime";

    /// <summary>
    /// Cluster, when this node takes a check over: an ack or downtime posted on a node that was not the runner while the
    /// runner was dead was kept but announced by nobody; announce it now, once (the shared action log records who
    /// announced what). Only what still holds: an ack a recovery or an unack cleared since, or a downtime cancelled or
    /// ended since, is not announced; a downtime not started yet is announced by the runner when it starts.
    /// </summary>
    private async Task AnnounceMissedActionsAsync(CheckEntry e, CancellationToken ct)
    {
        if (_state == null) return;
        foreach (var a in Claim(() => _state.ClaimUnannounced(e), []))
        {
            CheckEvent ev;
            lock (e.Gate)
            {
                var now = _time.GetUtcNow();
                if (a.Kind == "ack" && e.Machine.Ack is { } ack && ack.Author == a.Author && ack.Time == a.Time)
                    ev = e.Machine.Acknowledged(ack, now);
                else if (a.Kind == "downtime" && e.Machine.Downtimes.FirstOrDefault(d => d.Id == a.DowntimeId) is { InEffect: true } d)
                    ev = e.Machine.DowntimeStarted(d, now);
                else continue;
            }
            _log.LogInformation("checks: announcing the {Kind} of {Key} by {Author} taken while the check's runner was away", a.Kind, e.Key, a.Author);
            await PublishAsync(e, [ev], ct).ConfigureAwait(false);
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
