using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Observe.Collector;
using Observe.Host.Config;
using Observe.Common;

namespace Observe.Host;

/// <summary>
/// Counts the connections Kestrel closes because <c>http.maxConnections</c> are open (its <c>kestrel.rejected_connections</c>
/// instrument) as <c>observe_http_connections_rejected_total</c>, and says so at most once per 10 s — Kestrel's own
/// warning per connection is turned off in the log configuration.
/// </summary>
internal sealed class HttpConnectionRejections : IDisposable
{
    private static readonly Prometheus.Counter Rejected = Prometheus.Metrics.CreateCounter("observe_http_connections_rejected_total",
        "HTTP connections closed at once because http.maxConnections were open");
    private readonly MeterListener _listener = new();
    private readonly LogRateLimit _logThrottle = new(1, TimeSpan.FromSeconds(10));
    private readonly ILogger _log;

    /// <summary>Connections closed since start (the same total as the counter), for the <c>observe.*</c> series.</summary>
    public long Total => (long)Rejected.Value;

    public HttpConnectionRejections(ILoggerFactory logs, ObserveConfig config)
    {
        _log = logs.CreateLogger("Observe.Http");
        var max = config.Http.MaxConnections;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Microsoft.AspNetCore.Server.Kestrel" && instrument.Name == "kestrel.rejected_connections")
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            Rejected.Inc(value);
            if (_logThrottle.TryLog(out var more))
                _log.LogWarning("http: {Max} connections open, closing new ones ({More} more closed since the last such line)", max, more);
        });
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();
}
