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
                "downtime" when a.Start is { } s && a.End is { } end && !e.Machine.Downtimes.Any(d => d.Id == a.DowntimeId && d.Start == s && d.End == end) =>
                    e.Machine.ScheduleDowntime(s, end, a.Fixed, TimeSpan.FromSeconds(a.DurationSeconds), a.Author, a.Comment, now).Events,
                "cancel" => e.Machine.CancelDowntime(a.DowntimeId, now),
                _ => null,
            };
        }
        if (ev != null) await PublishAsync(e, ev, CancellationToken.None).ConfigureAwait(false);
    }
}
