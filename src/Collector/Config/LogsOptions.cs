namespace Observe.Collector;

/// <summary>The ingest half of the <c>logs:</c> section of observe.yaml (docs/configuration.md#logs).</summary>
public class LogsOptions
{
    /// <summary>Run the log listeners, <c>POST /api/logs</c> and the log fan-out.</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>UDP JSON lines: one JSON object per datagram.</summary>
    public LogUdpOptions Udp { get; set; } = new();
    public GelfOptions Gelf { get; set; } = new();
    public LogHttpOptions Http { get; set; } = new();
    /// <summary>A batch goes to every log sink when it holds this many events …</summary>
    public int BatchMaxEvents { get; set; } = 1000;
    /// <summary>… or this many milliseconds after its first event.</summary>
    public int BatchMaxDelayMs { get; set; } = 100;
    /// <summary>Counts per service and level become counters <c>&lt;prefix&gt;.&lt;service&gt;.&lt;level&gt;</c> every flush; empty = off.</summary>
    public string MetricPrefix { get; set; } = "logs";
    /// <summary>Distinct services counted as metrics; logs of further services are counted under <c>other</c>.</summary>
    public int MaxMetricServices { get; set; } = 1000;
    /// <summary>A message (after decompression and GELF reassembly) longer than this is rejected (<c>too_large</c>).</summary>
    public int MaxMessageBytes { get; set; } = 1024 * 1024;
    /// <summary>Rules that turn log events into StatsD counters and timers.</summary>
    public LogMetricsOptions Metrics { get; set; } = new();
}

public sealed class LogUdpOptions
{
    public bool Enabled { get; set; } = true;
    public string Address { get; set; } = "127.0.0.1";
    public int Port { get; set; } = 5140;
    public int ReceiveBufferBytes { get; set; } = 8 * 1024 * 1024;
}

public sealed class GelfOptions
{
    public bool Enabled { get; set; } = true;
    public string Address { get; set; } = "127.0.0.1";
    /// <summary>UDP and (with <see cref="Tcp"/>) TCP port; Graylog's default.</summary>
    public int Port { get; set; } = 12201;
    /// <summary>Also accept null-byte delimited GELF over TCP on the same port.</summary>
    public bool Tcp { get; set; } = true;
    /// <summary>GELF TCP connections open at once; one more is reset and counted.</summary>
    public int TcpMaxConnections { get; set; } = 1000;
    /// <summary>A GELF TCP connection that sends nothing this long is closed (counted); 0 = never.</summary>
    public int TcpIdleTimeoutMs { get; set; } = 300_000;
    public int ReceiveBufferBytes { get; set; } = 8 * 1024 * 1024;
    /// <summary>A chunked message still incomplete this long after its first chunk is dropped and counted (Graylog: 5 s).</summary>
    public int ChunkTimeoutMs { get; set; } = 5000;
    /// <summary>Chunked messages being reassembled at once; one more drops the oldest (counted).</summary>
    public int MaxPendingMessages { get; set; } = 10_000;
}

public sealed class LogHttpOptions
{
    /// <summary><c>POST /api/logs</c> (scope <c>ingest</c>).</summary>
    public bool Enabled { get; set; } = true;
}
