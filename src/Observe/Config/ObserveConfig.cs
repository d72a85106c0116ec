using Observe.Collector;
using Observe.Storage;

namespace Observe.Host.Config;

/// <summary>The whole of observe.yaml. Every key is optional; defaults are documented in docs/configuration.md.</summary>
public sealed class ObserveConfig
{
    public HttpOptions Http { get; set; } = new();
    public CollectorOptions Collector { get; set; } = new();
    public StorageOptions Storage { get; set; } = new();
    public SinksOptions Sinks { get; set; } = new();
    public LogsConfig Logs { get; set; } = new();
    /// <summary>Numbers apps already expose (/stats JSON, Prometheus exposition, nginx stub_status), fetched on a schedule.</summary>
    public ScrapeOptions Scrape { get; set; } = new();
    /// <summary>The aggregated metrics on /metrics for a Prometheus server to scrape, and the naming rules remote-write shares.</summary>
    public Observe.Storage.Sinks.Prometheus.PrometheusExpositionOptions Prometheus { get; set; } = new();
    public Observe.Checks.ChecksOptions Checks { get; set; } = new();
    public Observe.DeployMarkers.DeploysOptions Deploys { get; set; } = new();
    public Observe.Alerting.AlertingOptions Alerting { get; set; } = new();
    public LoggingOptions Logging { get; set; } = new();
    public AuthOptions Auth { get; set; } = new();
    /// <summary>The operator console at <c>/</c> on the HTTP port.</summary>
    public ConsoleOptions Console { get; set; } = new();
    public LimitsOptions Limits { get; set; } = new();
}

/// <summary>The <c>limits:</c> section: bounds that span the stages (docs/limits.md).</summary>
public sealed class LimitsOptions
{
    /// <summary>The memory budget: <c>auto</c> (75 % of the machine's or container's memory), <c>off</c>, <c>512MB</c>, <c>2GB</c> or <c>50%</c>.</summary>
    public string Memory { get; set; } = "auto";
}

public sealed class ConsoleOptions
{
    public bool Enabled { get; set; } = true;
    /// <summary>The public status page at <c>/status</c> (no auth, no internal detail).</summary>
    public StatusPageOptions Status { get; set; } = new();
}

public sealed class StatusPageOptions
{
    public string Title { get; set; } = "Service status";
    /// <summary>What customers see; each is a set of checks. None: /status says nothing is configured.</summary>
    public List<StatusComponentOptions> Components { get; set; } = [];
}

public sealed class StatusComponentOptions
{
    public string Name { get; set; } = "";
    public string? Description { get; set; }
    /// <summary>The checks behind it, as <c>host/check</c>.</summary>
    public List<string> Checks { get; set; } = [];
}

public sealed class HttpOptions
{
    public bool Enabled { get; set; } = true;
    public string Address { get; set; } = "127.0.0.1";
    public int Port { get; set; } = 8080;
    /// <summary>Largest request body any endpoint accepts (Kestrel's MaxRequestBodySize and the form limits); larger is a 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;
    /// <summary>Connections open at once (Kestrel's MaxConcurrentConnections); one more is closed at once and counted.</summary>
    public int MaxConnections { get; set; } = 512;
    /// <summary>HTTPS on this port (off unless a certificate is configured).</summary>
    public HttpsOptions Tls { get; set; } = new();
}

public sealed class SinksOptions
{
    /// <summary>The embedded time-series store (on by default).</summary>
    public EmbeddedSinkOptions Embedded { get; set; } = new();
    /// <summary>Carbon plaintext receivers, each behind a disk spool; a single mapping is read as a one-item list.</summary>
    public List<CarbonSinkOptions> Carbon { get; set; } = [];
    /// <summary>InfluxDB / VictoriaMetrics line-protocol endpoints, each behind a disk spool.</summary>
    public List<InfluxSinkOptions> Influx { get; set; } = [];
    /// <summary>Bounds and retry cap of every sink's disk spool.</summary>
    public SpoolOptions Spool { get; set; } = new();
    /// <summary>Prometheus remote-write receivers, each behind a disk spool.</summary>
    public List<Observe.Storage.Sinks.Prometheus.RemoteWriteSinkOptions> RemoteWrite { get; set; } = [];
    /// <summary>Log events to Elasticsearch's _bulk API, behind a disk spool.</summary>
    public Observe.Storage.Sinks.Elasticsearch.ElasticsearchSinkOptions Elasticsearch { get; set; } = new();
    public ConsoleSinkOptions Console { get; set; } = new();
}

public sealed class EmbeddedSinkOptions
{
    public bool Enabled { get; set; } = true;
}

public sealed class ConsoleSinkOptions
{
    public bool Enabled { get; set; }
}

/// <summary>The <c>logs:</c> section: ingest (the collector's <see cref="LogsOptions"/>) plus the embedded store.</summary>
public sealed class LogsConfig : LogsOptions
{
    public LogStoreOptions Store { get; set; } = new();
}

public sealed class LoggingOptions
{
    /// <summary>verbose, debug, information, warning, error or fatal.</summary>
    public string Level { get; set; } = "information";
}

/// <summary>Bearer tokens for the HTTP API. No tokens = no auth (fine on the loopback default, warned about elsewhere).</summary>
public sealed class AuthOptions
{
    public List<ApiTokenOptions> Tokens { get; set; } = [];
    /// <summary>Also require a token (any scope) for reads: Graphite API, status, /metrics.</summary>
    public bool ReadRequiresToken { get; set; }
}

public sealed class ApiTokenOptions
{
    /// <summary>Who the token is: recorded as "who" on deploy markers, silences, acks and downtimes.</summary>
    public string Name { get; set; } = "";
    /// <summary>The secret itself; like every text key it can come from a file (<c>tokenFile</c>) or the environment.</summary>
    public string? Token { get; set; }
    /// <summary>read, ingest, alerts, deploy, admin (admin = all).</summary>
    public List<string> Scopes { get; set; } = [];
}
