using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Observe.Collector;
using Observe.Common;
using Observe.Host.Config;

namespace Observe.Host;

/// <summary>
/// Counts the connections Kestrel closes because <c>http.maxConnections</c> are open (its <c>kestrel.rejected_connections</c>
/// instrument) as <c>observe_http_connections_rejected_total</c>, and says so at most once per 10 s — Kestrel's own
/// warning per connection is turned off in the log configuration.
/// </summary>
internal sealed class HttpConnectionRejections : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly LogRateLimit _logThrottle = new(1, TimeSpan.FromSeconds(10));
    private readonly ILogger _log;

    private long _total;

    /// <summary>Connections closed since start (<see cref="ObserveStats"/> exports it).</summary>
    public long Total => Interlocked.Read(ref _total);

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
            Interlocked.Add(ref _total, value);
            if (_logThrottle.TryLog(out var more))
                _log.LogWarning("http: {Max} connections open, closing new ones ({More} more closed since the last such line)", max, more);
        });
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();
}
