namespace Observe.Storage;

/// <summary>The <c>storage:</c> section of observe.yaml (docs/configuration.md).</summary>
public sealed class StorageOptions
{
    /// <summary>Everything the embedded stores keep lives under this directory.</summary>
    public string DataDir { get; set; } = "./data";

    /// <summary>Graphite storage-schemas: the first rule whose pattern matches a series wins.</summary>
    public List<RetentionRule> Schemas { get; set; } =
    [
        new() { Name = "statsd", Pattern = "^stats", Retentions = "10s:6h,1m:7d,10m:5y" },
        new() { Name = "default", Pattern = ".*", Retentions = "10s:6h,1m:7d,10m:5y" },
    ];

    /// <summary>Graphite storage-aggregation, defaulting to statsd's recommended rules.</summary>
    public List<AggregationRule> Aggregation { get; set; } =
    [
        new() { Name = "min", Pattern = @"\.lower$", XFilesFactor = 0.1, AggregationMethod = "min" },
        new() { Name = "max", Pattern = @"\.upper(_\d+)?$", XFilesFactor = 0.1, AggregationMethod = "max" },
        new() { Name = "sum", Pattern = @"\.sum$", XFilesFactor = 0, AggregationMethod = "sum" },
        new() { Name = "count", Pattern = @"\.count$", XFilesFactor = 0, AggregationMethod = "sum" },
        new() { Name = "count_legacy", Pattern = "^stats_counts", XFilesFactor = 0, AggregationMethod = "sum" },
        new() { Name = "gauges", Pattern = @"^stats\.gauges\.", XFilesFactor = 0, AggregationMethod = "last" },
        // Deploy markers and check results are sparse (one point per marker, one per check interval): with the default
        // xFilesFactor they would vanish from every rollup, and with it from dashboards over more than the finest archive.
        new() { Name = "deploy_durations", Pattern = @"^deploys\..*_seconds$", XFilesFactor = 0, AggregationMethod = "max" },
        new() { Name = "deploy_events", Pattern = @"^deploys\.", XFilesFactor = 0, AggregationMethod = "sum" },
        new() { Name = "check_states", Pattern = @"^checks\..*\.(state|flapping)$", XFilesFactor = 0, AggregationMethod = "max" },
        new() { Name = "checks", Pattern = @"^checks\.", XFilesFactor = 0, AggregationMethod = "average" },
        // Log counts per service and level (logs.<service>.<level>) are counts per interval.
        new() { Name = "logs", Pattern = @"^logs\.", XFilesFactor = 0, AggregationMethod = "sum" },
        new() { Name = "default_average", Pattern = ".*", XFilesFactor = 0.3, AggregationMethod = "average" },
    ];

    /// <summary>How often the embedded TSDB seals head rows into compressed chunks and rollups; 0 disables the background compactor.</summary>
    public int CompactionIntervalSeconds { get; set; } = 60;

    /// <summary>
    /// SQLite <c>synchronous=FULL</c> (fsync of the WAL on every committed batch: survives kill -9 and power loss).
    /// False uses NORMAL, which in WAL mode still survives kill -9 (the OS keeps written WAL pages) but not power loss.
    /// </summary>
    public bool SynchronousFull { get; set; } = true;

    /// <summary>
    /// Distinct series the embedded store keeps (each costs about 1 KB of memory while Observe runs); points of new
    /// series beyond it are dropped and counted (<c>seriesDroppedByLimit</c>), whatever sent them.
    /// </summary>
    public int MaxSeries { get; set; } = 500_000;

    /// <summary>
    /// Bytes of decoded chunks the embedded store keeps (8 per point), so that a repeated sum over a fleet does not decode
    /// again; part of <c>limits.memory</c>: emptied at its first step and not filled while it lasts. 0 = no cache.
    /// </summary>
    public long ChunkCacheBytes { get; set; } = 256L << 20;

    /// <summary>Nodes one metric-name pattern may match at any of its levels (/metrics/find, /render paths); more is a 400.</summary>
    public int MaxFindResults { get; set; } = 100_000;

    /// <summary>Bounds on <c>/render</c>, so that one request cannot exhaust memory or every core.</summary>
    public RenderLimitOptions Render { get; set; } = new();
}

/// <summary>The <c>storage.render</c> limits (docs/configuration.md).</summary>
public sealed class RenderLimitOptions
{
    /// <summary>Targets per request; more is a 400.</summary>
    public int MaxTargets { get; set; } = 500;
    /// <summary>
    /// Points one request may hold in memory at once (series read and not yet folded by a streaming aggregate, so also
    /// what it may return); beyond it the request is a 400.
    /// </summary>
    public long MaxPoints { get; set; } = 2_000_000;
    /// <summary>Points one request may read from the store in all (decoding cost, a CPU bound); beyond it a 400.</summary>
    public long MaxPointsRead { get; set; } = 100_000_000;
    /// <summary>Render requests evaluated at once; one more is answered 429 at once.</summary>
    public int MaxConcurrent { get; set; } = 16;
    /// <summary>Nesting of function calls (and pipe chains) in one target; deeper is a 400. At most 1000.</summary>
    public int MaxDepth { get; set; } = 64;
    /// <summary>Points all function calls of one request may output together (summarize, hitcount, events… included); beyond it a 400.</summary>
    public long MaxPointsProduced { get; set; } = 20_000_000;
    /// <summary>Seconds one request may spend evaluating its targets; beyond it a 400.</summary>
    public int TimeoutSeconds { get; set; } = 30;
    /// <summary>Widest graph image (/render?format=png|svg) in pixels; wider is a 400.</summary>
    public int MaxImageWidth { get; set; } = 2500;
    /// <summary>Tallest graph image in pixels; taller is a 400.</summary>
    public int MaxImageHeight { get; set; } = 2000;
}

public sealed class RetentionRule
{
    public string Name { get; set; } = "";
    public string Pattern { get; set; } = ".*";
    /// <summary>Graphite retention list, finest first: <c>10s:6h,1m:7d,10m:5y</c>.</summary>
    public string Retentions { get; set; } = "10s:6h,1m:7d,10m:5y";
}

public sealed class AggregationRule
{
    public string Name { get; set; } = "";
    public string Pattern { get; set; } = ".*";
    public double XFilesFactor { get; set; } = 0.5;
    /// <summary>average, sum, min, max or last.</summary>
    public string AggregationMethod { get; set; } = "average";
}
