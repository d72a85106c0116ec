namespace Observe.Storage;

/// <summary>The <c>logs.store</c> section of observe.yaml: the embedded log store (docs/configuration.md#logs).</summary>
public sealed class LogStoreOptions
{
    /// <summary>Keep logs in <c>&lt;storage.dataDir&gt;/logs.db</c> and serve <c>GET /api/logs</c>.</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>Logs older than this many days (by their timestamp) are deleted.</summary>
    public double RetentionDays { get; set; } = 7;
    /// <summary>How often the retention deletion runs (also once at start).</summary>
    public int RetentionCheckMinutes { get; set; } = 60;
    /// <summary>Most rows one <c>GET /api/logs</c> may return (<c>limit</c> beyond this is a 400).</summary>
    public int MaxLimit { get; set; } = 10_000;
}
