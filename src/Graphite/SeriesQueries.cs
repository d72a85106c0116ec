namespace Observe.Storage;

/// <summary>Target syntax check for configuration validation (no store needed); the host hands it to Checks and DeployMarkers.</summary>
public static class SeriesQueries
{
    /// <summary>Null when <paramref name="target"/> parses as a Graphite target, else what is wrong.</summary>
    public static string? TargetProblem(string target) => Graphite.GraphiteSeriesQuery.ParseProblem(target);
}
