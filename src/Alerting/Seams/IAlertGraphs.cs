namespace Observe.Alerting;

/// <summary>
/// Draws the graph of an alert's <see cref="AlertEvent.GraphTarget"/> for e-mails (the host wires it to the series
/// store's images). Without one registered, mails carry no graph.
/// </summary>
public interface IAlertGraphs
{
    /// <summary>A PNG of <paramref name="target"/> over [<paramref name="from"/>, <paramref name="until"/>].</summary>
    /// <exception cref="FormatException">the target cannot be drawn (bad target, a render bound met).</exception>
    byte[] Png(string target, DateTimeOffset from, DateTimeOffset until, string title);
}
