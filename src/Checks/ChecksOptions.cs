namespace Observe.Checks;

/// <summary>
/// The <c>checks:</c> section of observe.yaml. Durations are strings with a unit (<c>500ms</c>, <c>30s</c>,
/// <c>5m</c>, <c>1h</c>); a bare number means seconds.
/// </summary>
public sealed class ChecksOptions
{
    public bool Enabled { get; set; } = true;
    /// <summary>Metric prefix for perfdata and check latency: <c>&lt;prefix&gt;.&lt;host&gt;.&lt;check&gt;.&lt;label&gt;</c>.</summary>
    public string MetricPrefix { get; set; } = "checks";
    /// <summary>Quartz worker threads (checks running at the same time).</summary>
    public int MaxConcurrency { get; set; } = 32;
    /// <summary>Global flap thresholds (percent state change); the sample nagios.cfg values 5 / 20.</summary>
    public double LowFlapThreshold { get; set; } = 5;
    public double HighFlapThreshold { get; set; } = 20;
    /// <summary>Defaults for every check (Icinga 2 / Nagios sample defaults).</summary>
    public CheckDefaults Defaults { get; set; } = new();
    public List<HostOptions> Hosts { get; set; } = [];
    /// <summary>Several Observe nodes sharing the checks through Quartz's clustered job store on PostgreSQL.</summary>
    public ChecksClusterOptions Cluster { get; set; } = new();
    /// <summary>Keeping check state, acks, downtimes and history across restarts (<c>&lt;dataDir&gt;/checks/state.db</c>).</summary>
    public ChecksStateOptions State { get; set; } = new();
}

/// <summary><c>checks.state</c>: persistence of check state, acknowledgements, downtimes, event history and the availability timeline.</summary>
public sealed class ChecksStateOptions
{
    /// <summary>false: state lives in memory only (a restart starts every check PENDING).</summary>
    public bool Persist { get; set; } = true;
    /// <summary>How long after the first change a batch is written (changes meanwhile join it).</summary>
    public string WriteDelay { get; set; } = "5ms";
    /// <summary>Event history and availability timeline kept this long.</summary>
    public string HistoryRetention { get; set; } = "400d";
}

/// <summary>
/// <c>checks.cluster</c>: Quartz's clustered AdoJobStore on PostgreSQL. Every node declares the same checks; each
/// check's trigger lives in the database and fires on one node per interval; a node that stops checking in has
/// its checks taken over by the others.
/// </summary>
public sealed class ChecksClusterOptions
{
    public bool Enabled { get; set; }
    /// <summary>Npgsql connection string (a secret when it holds a password: never logged).</summary>
    public string ConnectionString { get; set; } = "";
    /// <summary>This node's id in the cluster; <c>auto</c> = host name + a timestamp (Quartz's generator).</summary>
    public string InstanceId { get; set; } = "auto";
    /// <summary>How often a node records that it is alive; a node silent for checkinInterval + checkinMisfireThreshold is taken over.</summary>
    public string CheckinInterval { get; set; } = "7500ms";
    public string CheckinMisfireThreshold { get; set; } = "7500ms";
    /// <summary>Create Quartz's tables (prefix <see cref="TablePrefix"/>) when missing; needs CREATE permission. Otherwise run src/Checks/Scheduling/quartz_tables_postgres.sql once.</summary>
    public bool CreateSchema { get; set; }
    public string TablePrefix { get; set; } = "qrtz_";
}

public sealed class CheckDefaults
{
    public string CheckInterval { get; set; } = "5m";
    public string RetryInterval { get; set; } = "1m";
    public int MaxCheckAttempts { get; set; } = 3;
    public string Timeout { get; set; } = "60s";
    /// <summary>0 = notify once per problem.</summary>
    public string NotificationInterval { get; set; } = "30m";
    /// <summary>State given to a check that times out: critical (Nagios 4's default) or unknown.</summary>
    public string TimeoutState { get; set; } = "critical";
}

/// <summary>A monitored host: a webhead, a load balancer, …</summary>
public sealed class HostOptions
{
    public string Name { get; set; } = "";
    /// <summary>Address used by http/tcp checks when they name none; defaults to the name.</summary>
    public string? Address { get; set; }
    /// <summary>Free-form role label (webhead, loadbalancer, …), passed on as an alert label.</summary>
    public string? Role { get; set; }
    /// <summary>Parent hosts (Nagios <c>parents</c>): when every parent is down this host is UNREACHABLE.</summary>
    public List<string> Parents { get; set; } = [];
    /// <summary>Optional host check; its OK/WARNING mean UP, CRITICAL/UNKNOWN mean DOWN.</summary>
    public CheckOptions? HostCheck { get; set; }
    public List<CheckOptions> Checks { get; set; } = [];
}

/// <summary>One service check. Which keys apply depends on <see cref="Kind"/>.</summary>
public sealed class CheckOptions
{
    public string Name { get; set; } = "";
    /// <summary>http, tcp, command (any Nagios plugin), metric, pool (load-balancer backends), passive (results posted to the API).</summary>
    public string Kind { get; set; } = "";
    public string? CheckInterval { get; set; }
    public string? RetryInterval { get; set; }
    public int? MaxCheckAttempts { get; set; }
    public string? Timeout { get; set; }
    public string? TimeoutState { get; set; }
    public string? NotificationInterval { get; set; }
    public double? LowFlapThreshold { get; set; }
    public double? HighFlapThreshold { get; set; }
    public bool FlapDetection { get; set; } = true;
    /// <summary>Extra routing labels for Alerting (team, service, env …).</summary>
    public Dictionary<string, string> Labels { get; set; } = [];

    // command
    /// <summary>argv: the plugin path and its arguments; run without a shell.</summary>
    public List<string> Command { get; set; } = [];
    public Dictionary<string, string> Environment { get; set; } = [];
    public int MaxOutputBytes { get; set; } = 65536;

    // http / tcp
    /// <summary>http: the URL (absolute, or a path on the host's address). tcp: unused.</summary>
    public string? Url { get; set; }
    public string Method { get; set; } = "GET";
    public Dictionary<string, string> Headers { get; set; } = [];
    public string? Body { get; set; }
    /// <summary>Accepted status codes; empty = any 2xx or 3xx.</summary>
    public List<int> ExpectStatus { get; set; } = [];
    public string? ExpectBody { get; set; }
    public string? ExpectBodyRegex { get; set; }
    public bool FollowRedirects { get; set; }
    /// <summary>https: verify the server certificate (check_http does not by default; we do).</summary>
    public bool VerifyTls { get; set; } = true;
    /// <summary>https: WARNING / CRITICAL when the certificate expires within this many days (0 = off), as check_http -C 30,14.</summary>
    public int CertificateDaysWarning { get; set; }
    public int CertificateDaysCritical { get; set; }
    /// <summary>http/tcp: response-time thresholds in seconds; metric: value thresholds. Nagios ranges (<c>10</c>, <c>10:</c>, <c>~:10</c>, <c>10:20</c>, <c>@10:20</c>).</summary>
    public string? Warning { get; set; }
    public string? Critical { get; set; }
    public string? Host { get; set; }

    // pool (the http/tcp keys above apply to every backend)
    /// <summary>http or tcp: how each backend is checked.</summary>
    public string BackendKind { get; set; } = "http";
    public List<PoolBackend> Backends { get; set; } = [];
    public int MinHealthyWarning { get; set; } = 1;
    public int MinHealthyCritical { get; set; } = 1;

    // passive
    /// <summary>A passive check turns <see cref="StaleState"/> when no result came for this long (default: checkInterval).</summary>
    public string? FreshnessThreshold { get; set; }
    /// <summary>unknown (default) or critical.</summary>
    public string StaleState { get; set; } = "unknown";
    /// <summary>DogStatsD service-check name (<c>_sc|name|status|h:host</c>) feeding this passive check; the <c>h:</c> host must be this host.</summary>
    public string? ServiceCheck { get; set; }

    // metric (Warning/Critical above are the value ranges)
    /// <summary>A series path or Graphite glob in Observe's store (functions are not supported yet).</summary>
    public string? Target { get; set; }
    public string Window { get; set; } = "5m";
    /// <summary>avg, min, max, sum, last.</summary>
    public string Aggregate { get; set; } = "avg";
    /// <summary>State when nothing matches or there are no values: unknown, ok, warning, critical.</summary>
    public string NoData { get; set; } = "unknown";
    public int Port { get; set; }
    public string? Send { get; set; }
    public string? Expect { get; set; }
}

/// <summary>One backend behind a load balancer.</summary>
public sealed class PoolBackend
{
    public string Name { get; set; } = "";
    /// <summary>Address of the backend (defaults to its name).</summary>
    public string? Address { get; set; }
    /// <summary>Port for tcp, or for http when the check's url is a path (default 80).</summary>
    public int Port { get; set; }
}
