namespace Observe.Storage;

/// <summary><c>sinks.spool</c>: bounds and retry cap shared by every spooled sink (docs/configuration.md#sinks).</summary>
public sealed class SpoolOptions
{
    /// <summary>Undelivered bytes one sink may hold on disk; beyond it the oldest records are dropped and counted.</summary>
    public long MaxBytes { get; set; } = 1L << 30;
    /// <summary>Size at which a segment file is closed and a new one started.</summary>
    public long SegmentBytes { get; set; } = 16L << 20;
    /// <summary>Cap of the exponential retry backoff (from 100 ms, doubled per failure, jittered).</summary>
    public double RetryMaxSeconds { get; set; } = 30;
}

/// <summary>One entry of <c>sinks.carbon</c>: a Graphite carbon plaintext receiver (TCP), behind a disk spool.</summary>
public sealed class CarbonSinkOptions
{
    public bool Enabled { get; set; } = true;
    /// <summary>Names the sink in /stats and its spool directory; unique among sinks.</summary>
    public string Name { get; set; } = "carbon";
    public string Host { get; set; } = "127.0.0.1";
    /// <summary>carbon's line receiver is 2003, its pickle receiver 2004.</summary>
    public int Port { get; set; } = 2003;
    /// <summary>The wire format: plaintext lines, or carbon's pickle frames (Etsy statsd's <c>graphiteProtocol: pickle</c>).</summary>
    public CarbonProtocol Protocol { get; set; } = CarbonProtocol.Plaintext;
}

/// <summary><c>sinks.carbon[].protocol</c>.</summary>
public enum CarbonProtocol
{
    Plaintext,
    Pickle,
}

/// <summary>One entry of <c>sinks.influx</c>: an InfluxDB (or VictoriaMetrics) line-protocol endpoint, behind a disk spool.</summary>
public sealed class InfluxSinkOptions
{
    public bool Enabled { get; set; } = true;
    public string Name { get; set; } = "influx";
    /// <summary>Base URL, e.g. <c>http://127.0.0.1:8086</c>.</summary>
    public string Url { get; set; } = "http://127.0.0.1:8086";
    /// <summary>1: <c>/write?db=&amp;rp=&amp;precision=</c> (optional basic auth); 2: <c>/api/v2/write?org=&amp;bucket=&amp;precision=</c> with a token.</summary>
    public int Version { get; set; } = 1;
    public string? Db { get; set; }
    /// <summary>v1 retention policy (optional).</summary>
    public string? Rp { get; set; }
    public string? Username { get; set; }
    public string? Password { get; set; }
    public string? Org { get; set; }
    public string? Bucket { get; set; }
    public string? Token { get; set; }
    /// <summary>s, ms, us or ns.</summary>
    public string Precision { get; set; } = "s";
    /// <summary>0: the whole Graphite path is the measurement, field <c>value</c>. N: the first N nodes are the measurement, the rest the field.</summary>
    public int MeasurementNodes { get; set; }
    /// <summary>InfluxDB graphite-input templates (<c>[filter] template</c>), first match wins; else <see cref="MeasurementNodes"/> applies.</summary>
    public List<string> Templates { get; set; } = [];
    public double TimeoutSeconds { get; set; } = 10;
}
