namespace Observe.Alerting.Pipeline;

/// <summary>One line of the record stage: what happened to an alert, a notification or a silence, and who did it.</summary>
internal sealed record HistoryEntry(DateTimeOffset Time, string Event, string? Key, string? Receiver, string? Who, string Text);

/// <summary>Record stage: a bounded in-memory log, newest last.</summary>
internal sealed class AlertHistory(int limit)
{
    private readonly LinkedList<HistoryEntry> _entries = new();
    private readonly Lock _gate = new();

    public void Add(HistoryEntry e)
    {
        lock (_gate)
        {
            _entries.AddLast(e);
            while (_entries.Count > Math.Max(1, limit)) _entries.RemoveFirst();
        }
    }

    public IReadOnlyList<HistoryEntry> Query(string? key, string? eventName, int max)
    {
        lock (_gate)
            return _entries.Reverse().Where(e => (key == null || e.Key == key) && (eventName == null || e.Event == eventName))
                .Take(Math.Max(1, max)).Reverse().ToList();
    }
}
