namespace Observe.Alerting.Pipeline;

/// <summary>One line of the record stage: what happened to an alert, a notification or a silence, and who did it.</summary>
internal sealed record HistoryEntry(DateTimeOffset Time, string Event, string? Key, string? Receiver, string? Who, string Text);

/// <summary>Record stage: a bounded in-memory log, newest last.</summary>
internal sealed class AlertHistory(int limit)
{
    private readonly LinkedList<HistoryEntry> _entries = new();
    private readonly Lock _gate = new();

    /// <summary>Told of every line added (the pipeline's store appends them with its next write).</summary>
    public Action<HistoryEntry>? Recorded { get; set; }

    public void Add(HistoryEntry e)
    {
        lock (_gate)
        {
            _entries.AddLast(e);
            while (_entries.Count > Math.Max(1, limit)) _entries.RemoveFirst();
        }
        Recorded?.Invoke(e);
    }

    /// <summary>Puts back lines stored before a restart, oldest first, ahead of anything added since.</summary>
    public void Restore(IEnumerable<HistoryEntry> stored)
    {
        lock (_gate)
        {
            var node = _entries.First;
            foreach (var e in stored)
            {
                if (node == null) _entries.AddLast(e); else _entries.AddBefore(node, e);
            }
            while (_entries.Count > Math.Max(1, limit)) _entries.RemoveFirst();
        }
    }

    public IReadOnlyList<HistoryEntry> Query(string? key, string? eventName, int max) =>
        Select(e => (key == null || e.Key == key) && (eventName == null || e.Event == eventName), max);

    /// <summary>The last <paramref name="max"/> lines that match, oldest first.</summary>
    public IReadOnlyList<HistoryEntry> Select(Func<HistoryEntry, bool> match, int max)
    {
        lock (_gate)
            return _entries.Reverse().Where(match).Take(Math.Max(1, max)).Reverse().ToList();
    }
}
