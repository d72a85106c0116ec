using Observe.Collector;
using Observe.Storage.Graphite;

namespace Observe.Storage;

/// <summary>
/// DogStatsD events (<c>_e{…}</c>) become Graphite events, so Grafana shows them as annotations:
/// what = title, data = text, tags = <c>dogstatsd</c>, the alert type, and the event's own tags.
/// Service checks (<c>_sc</c>) are not events; the host routes them to Checks (passive results).
/// </summary>
internal sealed class StatsdEventsToGraphite(GraphiteEventStore events) : IStatsdEventSink
{
    public void OnEvent(StatsdEvent e)
    {
        var tags = new List<string>(e.Tags.Count + 3) { "dogstatsd", e.AlertType };
        if (e.Hostname != null) tags.Add("host:" + e.Hostname);
        tags.AddRange(e.Tags);
        events.Add(e.Title, tags, e.Text, e.Timestamp);
    }

    public void OnServiceCheck(StatsdServiceCheck serviceCheck) { }
}
