using Prometheus;

namespace Observe.Collector.Listeners;

/// <summary>
/// <c>observe_tcp_*{listener}</c> for the TCP listeners (statsd-tcp, graphite, gelf-tcp), set from
/// <see cref="TcpListenerStats"/> at scrape time. The collector and the log ingest both create one; prometheus-net hands
/// the second the same gauges.
/// </summary>
internal sealed class TcpListenerGauges(MetricFactory f)
{
    private readonly Gauge _open = f.CreateGauge("observe_tcp_connections_open", "TCP connections open now, per listener", "listener");
    private readonly Gauge _accepted = f.CreateGauge("observe_tcp_connections_accepted_total", "TCP connections accepted since start (refused ones included), per listener", "listener");
    private readonly Gauge _refused = f.CreateGauge("observe_tcp_connections_refused_total", "TCP connections reset because the listener's maxConnections were open", "listener");
    private readonly Gauge _idle = f.CreateGauge("observe_tcp_connections_idle_closed_total", "TCP connections closed after sending nothing for the idle timeout", "listener");
    private readonly Gauge _errors = f.CreateGauge("observe_tcp_accept_errors_total", "Failed accepts (e.g. out of file descriptors), per listener", "listener");

    public void Set(IEnumerable<TcpListenerStats> listeners)
    {
        foreach (var l in listeners)
        {
            _open.WithLabels(l.Name).Set(l.Open);
            _accepted.WithLabels(l.Name).Set(l.Accepted);
            _refused.WithLabels(l.Name).Set(l.Refused);
            _idle.WithLabels(l.Name).Set(l.IdleClosed);
            _errors.WithLabels(l.Name).Set(l.AcceptErrors);
        }
    }
}
