using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Alerting;
using Observe.Checks.Api;
using Observe.Checks.Scheduling;
using Observe.Collector;

namespace Observe.Checks;

/// <summary>The host's entry points into Checks.</summary>
public static class ChecksHosting
{
    /// <summary>
    /// Registers the check engine (a hosted service) and <see cref="ICheckStates"/>. Events go to the registered
    /// <see cref="IAlertSink"/> (logged only when there is none); perfdata and check latency go to every registered
    /// <see cref="IMetricSink"/> as <c>&lt;metricPrefix&gt;.&lt;host&gt;.&lt;check&gt;.&lt;label&gt;</c>; metric checks read the
    /// registered <see cref="Observe.Storage.ISeriesQuery"/> (targets with functions, as /render evaluates them).
    /// </summary>
    /// <param name="stateDir">Where check state, acks, downtimes and history are kept across restarts (<c>checks.state</c>); null = memory only.</param>
    public static IServiceCollection AddObserveChecks(this IServiceCollection services, ChecksOptions options, string? stateDir = null)
    {
        services.AddSingleton(options);
        services.AddSingleton(sp =>
        {
            var time = sp.GetService<TimeProvider>() ?? TimeProvider.System;
            var logs = sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
            return new CheckEngine(options, sp.GetService<IAlertSink>(), sp.GetServices<IMetricSink>(), time, logs,
                sp.GetService<Observe.Storage.ISeriesQuery>(), State.Persistence.CheckStateStores.Open(options, stateDir, time, logs.CreateLogger("Observe.Checks")));
        });
        services.AddSingleton<ICheckStates>(sp => sp.GetRequiredService<CheckEngine>());
        services.AddSingleton<ICheckAvailability>(sp => new State.DailyAvailabilitySource(sp.GetRequiredService<CheckEngine>()));
        services.AddSingleton<Func<CheckRunStats>>(sp => { var engine = sp.GetRequiredService<CheckEngine>(); return () => engine.Stats(); });
        services.AddSingleton<IServiceCheckReceiver>(sp => sp.GetRequiredService<CheckEngine>());
        services.AddSingleton<IChecksReloader>(sp => sp.GetRequiredService<CheckEngine>());
        services.AddSingleton<IAlertAckListener>(sp => new AlertAckToCheck(sp.GetRequiredService<CheckEngine>()));
        services.AddHostedService(sp => sp.GetRequiredService<CheckEngine>());
        return services;
    }

    /// <summary>
    /// <c>GET /api/checks[?problems=true]</c>, <c>GET /api/checks/{host}/{check}[/events]</c>,
    /// <c>POST /api/checks/{host}/{check}/result</c> (<c>{status: 0–3, output}</c>, passive results),
    /// <c>POST|DELETE /api/checks/{host}/{check}/ack</c> (<c>{author, comment, sticky}</c>),
    /// <c>POST /api/checks/{host}/{check}/downtime</c> (<c>{author, comment, start?, end?, duration?, fixed}</c>),
    /// <c>DELETE /api/checks/{host}/{check}/downtime/{id}</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapChecksApi(this IEndpointRouteBuilder endpoints)
    {
        ChecksApi.Map(endpoints);
        return endpoints;
    }
}
