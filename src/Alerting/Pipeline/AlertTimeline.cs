namespace Observe.Alerting.Pipeline;

/// <summary><see cref="IAlertTimeline"/> over the pipeline's history ("firing" and "resolved" lines).</summary>
internal sealed class AlertTimeline(AlertHistory history) : IAlertTimeline
{
    public IReadOnlyList<AlertTransition> Transitions(string keyPrefix, int max) =>
        history.Select(e => e.Event is "firing" or "resolved" && e.Key != null && e.Key.StartsWith(keyPrefix, StringComparison.Ordinal), max)
            .Select(e => new AlertTransition(e.Time, e.Key!, e.Event == "firing")).ToList();
}
