using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Alerting;
using Observe.Checks;
using Observe.Collector;
using Observe.Common;
using Observe.DeployMarkers.Api;
using Observe.DeployMarkers.Rollback;
using Observe.Storage;

namespace Observe.DeployMarkers;

/// <summary>The host's entry points into DeployMarkers.</summary>
public static class DeploysHosting
{
    /// <summary>
    /// Registers deploy markers, locks and the verifier (a hosted service evaluating every
    /// <paramref name="defaultEvaluateInterval"/> unless <c>deploys.evaluateInterval</c> says otherwise). Deploys and locks
    /// persist in <c>deploys.db</c> under <paramref name="dataDir"/>. Uses whatever is registered of <see cref="IAlertSink"/>,
    /// <see cref="IGraphiteEvents"/>, <see cref="IMetricSink"/>, <see cref="ISeriesQuery"/>, <see cref="ICheckStates"/>
    /// and <see cref="TimeProvider"/>.
    /// </summary>
    public static IServiceCollection AddObserveDeploys(this IServiceCollection services, DeploysOptions options, string dataDir, TimeSpan defaultEvaluateInterval)
    {
        services.AddSingleton(sp =>
        {
            var time = sp.GetService<TimeProvider>() ?? TimeProvider.System;
            var logs = sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
            return new DeployService(options, DeployStore.Open(dataDir, logs.CreateLogger("Observe.DeployMarkers")), sp.GetService<IAlertSink>(), sp.GetService<IGraphiteEvents>(),
                sp.GetServices<IMetricSink>(), sp.GetService<ISeriesQuery>(), sp.GetService<ICheckStates>(), new RollbackRunner(time), time,
                logs.CreateLogger("Observe.DeployMarkers"),
                // StatsD counters read as 0 before their first increment (an error counter appears with the first error).
                StatsdCounterNames.Matcher(sp.GetService<CollectorOptions>()?.Statsd ?? new StatsdOptions()));
        });
        var interval = options.EvaluateInterval is { } e ? DurationSyntax.Parse(e, "deploys.evaluateInterval") : defaultEvaluateInterval;
        services.AddHostedService(sp => new DeployVerifier(sp.GetRequiredService<DeployService>(), interval,
            sp.GetService<TimeProvider>() ?? TimeProvider.System, (sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("Observe.DeployMarkers")));
        return services;
    }

    /// <summary>
    /// <c>POST /api/deploys</c>, <c>GET /api/deploys[/{id}]</c>, <c>GET|POST /api/locks</c>, <c>DELETE /api/locks/{env}</c>;
    /// writes require the "deploy" authorization policy.
    /// </summary>
    public static IEndpointRouteBuilder MapDeploysApi(this IEndpointRouteBuilder endpoints)
    {
        // Not resolved here: building the service builds alerting and the checks engine, which start after HTTP listens.
        var sp = endpoints.ServiceProvider;
        DeploysApi.Map(endpoints, sp.GetRequiredService<DeployService>);
        return endpoints;
    }
}

/// <summary>Runs a verifier pass every interval (the flush interval by default: a clear failure is caught at the first pass after its SLIs have minPoints points past finish, the third flush with the default 3).</summary>
internal sealed class DeployVerifier(DeployService deploys, TimeSpan interval, TimeProvider time, ILogger log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try { await deploys.EvaluateAsync(stoppingToken).ConfigureAwait(false); }
                catch (Exception e) when (e is not OperationCanceledException) { log.LogError(e, "deploy verification pass failed"); }
            }
        }
        catch (OperationCanceledException) { }
    }
}
