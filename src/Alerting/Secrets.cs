namespace Observe.Alerting;

/// <summary>A secret in the alerting config is either the value itself or <c>env:NAME</c>, read from the environment
/// variable NAME when used — the way to keep a PagerDuty key of a list item out of the file.</summary>
internal static class Secrets
{
    public static string? Resolve(string? value) =>
        value is { } v && v.StartsWith("env:", StringComparison.Ordinal) ? Environment.GetEnvironmentVariable(v[4..]) : value;

    /// <summary>A problem with the secret (never its value), or null.</summary>
    public static string? Problem(string? value) =>
        value is { } v && v.StartsWith("env:", StringComparison.Ordinal) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v[4..]))
            ? $"environment variable {v[4..]} is not set" : null;
}
