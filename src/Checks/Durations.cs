namespace Observe.Checks;

/// <summary>Duration strings as the config writes them (<c>500ms</c>, <c>30s</c>, <c>5m</c>); shared with DeployMarkers.</summary>
public static class Durations
{
    /// <summary>Parses <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h</c>, <c>1d</c> or a bare number of seconds (one syntax for
    /// the whole config, so the parser is Alerting's, which Checks already references).</summary>
    public static bool TryParse(string? text, out TimeSpan value) => Observe.Alerting.AlertDurations.TryParse(text, out value);

    public static TimeSpan Parse(string? text, string key) =>
        TryParse(text, out var v) ? v : throw new FormatException($"{key}: '{text}' is not a duration (e.g. 500ms, 30s, 5m, 1h)");
}
