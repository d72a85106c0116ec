using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Alerting.Api;

namespace Observe.Alerting;

/// <summary>Delivery counters of one receiver's integration (<c>/api/alerts/receivers</c>, the host's self-metrics).</summary>
public sealed record ReceiverStats(string Receiver, string Integration, long Sent, long Failed, long Dropped, int Queued);

/// <summary>The host's entry points into Alerting.</summary>
public static class AlertingHosting
{
    /// <summary>Registers the alert pipeline as the <see cref="IAlertSink"/> (Checks and DeployMarkers send to it), its
    /// notifiers (IRC, e-mail, PagerDuty, webhook) and the timers that flush groups and escalate. Silences are kept in
    /// <paramref name="stateDir"/> across restarts (memory only when null).</summary>
    public static IServiceCollection AddObserveAlerting(this IServiceCollection services, AlertingOptions options, string? stateDir = null)
    {
        services.AddSingleton(options);
        services.AddSingleton(sp => new AlertingService(options, sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance, stateDir, sp.GetService<IAlertGraphs>()));
        services.AddSingleton<IAlertSink>(sp => sp.GetRequiredService<AlertingService>().Pipeline);
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<AlertingService>());
        services.AddSingleton<Func<IReadOnlyList<ReceiverStats>>>(sp => sp.GetRequiredService<AlertingService>().Delivery.Stats);
        return services;
    }

    /// <summary>
    /// <c>GET /api/alerts</c> (active alerts with silenced/inhibited/acknowledged), <c>GET /api/alerts/history[?key=&amp;event=&amp;limit=]</c>,
    /// <c>GET /api/alerts/receivers</c> (sent/failed/queued per receiver), <c>POST /api/alerts/ack</c> (<c>{key, comment, author}</c>),
    /// <c>GET|POST /api/silences</c> (<c>{matchers, duration | endsAt, startsAt, comment, author}</c>), <c>DELETE /api/silences/{id}</c>.
    /// Writes need the <c>alerts</c> scope.
    /// </summary>
    public static IEndpointRouteBuilder MapAlertingApi(this IEndpointRouteBuilder endpoints)
    {
        AlertingApi.Map(endpoints);
        return endpoints;
    }
}
