using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Alerting.Api;

namespace Observe.Alerting;

/// <summary>Delivery counters of one receiver's integration (<c>/api/alerts/receivers</c>, <see cref="AlertingStatList"/>).</summary>
/// <param name="Failed">given up after every retry, or refused outright</param>
/// <param name="Dropped">dropped unsent from a full queue (never counted as failed)</param>
/// <param name="AttemptsFailed">delivery attempts that failed, each retry counted</param>
public sealed record ReceiverStats(string Receiver, string Integration, long Sent, long Failed, long Dropped, int Queued, long AttemptsFailed = 0);

/// <summary>
/// Cluster mode (<c>checks.cluster</c>): the pipeline's state — firing alerts, what each receiver was told, escalation
/// progress, acks, history — lives in this PostgreSQL instead of the data dir; each alert is owned by one node, and a node
/// silent for <paramref name="NodeTimeout"/> has its alerts (and their escalations) taken over by a live one.
/// </summary>
/// <param name="Node">This node's id (unique per node; the same id after a restart gets the node's alerts back if nobody took them).</param>
public sealed record AlertingCluster(string ConnectionString, string Node, TimeSpan NodeTimeout);

/// <summary>The host's entry points into Alerting.</summary>
public static class AlertingHosting
{
    /// <summary>Registers the alert pipeline as the <see cref="IAlertSink"/> (Checks and DeployMarkers send to it), its
    /// notifiers (IRC, e-mail, PagerDuty, webhook) and the timers that flush groups and escalate. Silences are kept in
    /// <paramref name="stateDir"/> across restarts (memory only when null); the rest of its state there too, or in
    /// <paramref name="cluster"/>'s PostgreSQL when given.</summary>
    public static IServiceCollection AddObserveAlerting(this IServiceCollection services, AlertingOptions options, string? stateDir = null, AlertingCluster? cluster = null)
    {
        services.AddSingleton(options);
        services.AddSingleton(sp => new AlertingService(options, sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance, stateDir, cluster, sp.GetService<IAlertGraphs>()));
        services.AddSingleton<IAlertSink>(sp => sp.GetRequiredService<AlertingService>().Pipeline);
        services.AddSingleton<IAlertTimeline>(sp => new Pipeline.AlertTimeline(sp.GetRequiredService<AlertingService>().Pipeline.History));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<AlertingService>());
        services.AddSingleton<Func<AlertingStats>>(sp => sp.GetRequiredService<AlertingService>().Stats);
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
