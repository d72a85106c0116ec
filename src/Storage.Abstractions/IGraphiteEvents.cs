namespace Observe.Storage;

/// <summary>Writes Graphite events (Grafana annotations via <c>/events/get_data</c>), for DeployMarkers' deploy markers.</summary>
public interface IGraphiteEvents
{
    /// <summary>Stores one event at <paramref name="when"/> (unix seconds; null = now) and returns its id.</summary>
    long Add(string what, IEnumerable<string>? tags, string? data = null, long? when = null);
}
