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
    public Observe.Checks.ChecksOptions Checks { get; set; } = new();
    public LoggingOptions Logging { get; set; } = new();
}

public sealed class HttpOptions
{
    public bool Enabled { get; set; } = true;
    public string Address { get; set; } = "127.0.0.1";
    public int Port { get; set; } = 8080;
}

public sealed class SinksOptions
{
    /// <summary>The embedded time-series store (on by default).</summary>
    public EmbeddedSinkOptions Embedded { get; set; } = new();
    public CarbonSinkOptions Carbon { get; set; } = new();
    public ConsoleSinkOptions Console { get; set; } = new();
}

public sealed class EmbeddedSinkOptions
{
    public bool Enabled { get; set; } = true;
}

public sealed class CarbonSinkOptions
{
    public bool Enabled { get; set; }
    public string Host { get; set; } = "127.0.0.1";
    public int Port { get; set; } = 2003;
}

public sealed class ConsoleSinkOptions
{
    public bool Enabled { get; set; }
}

public sealed class LoggingOptions
{
    /// <summary>verbose, debug, information, warning, error or fatal.</summary>
    public string Level { get; set; } = "information";
}
