using Observe.Checks.State;
using Observe.Checks.State.Persistence;

namespace Observe.Checks.Scheduling;

internal sealed partial class CheckEngine
{
    /// <summary>Cluster: an ack or downtime taken on another node, applied to this node's copy of the check (and published
    /// like a local one, so the alert pipeline of the node running the check sees the ack too).</summary>
    private async Task ApplyRemoteAsync(CheckEntry e, CheckAction a)
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
        if (ev != null) await PublishAsync(e, ev, CancellationToken.None).ConfigureAwait(false);
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
