namespace Observe.Storage.Sinks.Prometheus;

/// <summary><c>prometheus:</c> — the aggregated metrics on <c>/metrics</c> for a Prometheus server to scrape.</summary>
public sealed class PrometheusExpositionOptions
{
    /// <summary>Append the aggregated metrics (latest flush) to <c>/metrics</c>.</summary>
    public bool Enabled { get; set; }
    /// <summary>A series that no flush has carried for this many flush intervals disappears from <c>/metrics</c>.</summary>
    public int StaleAfterFlushes { get; set; } = 3;
    /// <summary>statsd_exporter-style rules mapping Graphite paths to metric names and labels (globs first, then regexes; first match wins).</summary>
    public List<PrometheusMappingOptions> Mappings { get; set; } = [];
}

/// <summary>One mapping rule, as statsd_exporter's: <c>{match: "stats.timers.*.*.mean", name: "timer_mean", labels: {service: "$1"}}</c>.</summary>
public sealed class PrometheusMappingOptions
{
    /// <summary>A glob over the Graphite path (<c>*</c> = any characters within one dot-separated node) or a regular expression.</summary>
    public string Match { get; set; } = "";
    /// <summary><c>glob</c> (default) or <c>regex</c>.</summary>
    public string MatchType { get; set; } = "glob";
    /// <summary>Metric name; <c>$1</c>/<c>${1}</c> insert the captures. Required unless <c>action: drop</c>.</summary>
    public string? Name { get; set; }
    /// <summary>Labels to add; values may use the captures.</summary>
    public Dictionary<string, string> Labels { get; set; } = [];
    /// <summary><c>map</c> (default) or <c>drop</c> (the matching series are not exported).</summary>
    public string Action { get; set; } = "map";
}

/// <summary>One entry of <c>sinks.remoteWrite:</c> — a Prometheus remote-write receiver.</summary>
public sealed class RemoteWriteSinkOptions
{
    public bool Enabled { get; set; } = true;
    /// <summary>Names the spool directory and the sink in /stats; unique among sinks.</summary>
    public string Name { get; set; } = "remote-write";
    /// <summary>e.g. <c>http://127.0.0.1:9090/api/v1/write</c>.</summary>
    public string Url { get; set; } = "";
    public string? Username { get; set; }
    /// <summary>Basic-auth password (secret).</summary>
    public string? Password { get; set; }
    /// <summary>Sent as <c>Authorization: Bearer …</c> (secret).</summary>
    public string? BearerToken { get; set; }
    public int TimeoutSeconds { get; set; } = 30;
}
