namespace Observe.Alerting;

/// <summary>One alert starting or ending, as the history recorded it: key and time only, no text (which may hold plugin output).</summary>
public sealed record AlertTransition(DateTimeOffset Time, string Key, bool Firing);

/// <summary>When alerts fired and resolved, from Alerting's bounded (and persisted) history: the public status page's incidents.</summary>
public interface IAlertTimeline
{
    /// <summary>The last <paramref name="max"/> firing/resolved transitions of keys starting with <paramref name="keyPrefix"/>, oldest first.</summary>
    IReadOnlyList<AlertTransition> Transitions(string keyPrefix, int max);
}
