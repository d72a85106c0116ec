using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Observe.Host;

/// <summary>
/// HTTP first, then the stages (issue 21: the first /render within a second of a restart). The web host starts its hosted
/// services in registration order and adds Kestrel's last, after building every stage: a slow stage (Quartz, a cluster's
/// database, a listener) held up /render, which needs only the store. Here each stage's hosted service is built and started
/// only after Kestrel listens, one after another in the order they were registered (the same order as before, the same
/// reverse order at stop). Requests that need a stage wait for them, boundedly (<see cref="GateAsync"/>); /health says
/// <c>starting</c> until they have all started; the Graphite API waits only for the store.
/// </summary>
internal sealed class StageStart
{
    /// <summary>How long a request to a stage's API waits for the stages to start before its 503.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(10);

    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string? _current;

    /// <summary>Completes once every stage has started (never when one failed to: the process then ends).</summary>
    public Task Started => _started.Task;

    /// <summary>What is starting now, for a 503's reason.</summary>
    public string Current => _current ?? "the stages";

    /// <summary>
    /// Replaces every stage's hosted service (registered by a factory, as every stage's is) with one built and started after
    /// HTTP listens; <paramref name="onListening"/> runs when Kestrel has started, <paramref name="onStarted"/> when the last
    /// stage has.
    /// </summary>
    public static StageStart Defer(IServiceCollection services, Action<IServiceProvider> onListening, Action<IServiceProvider> onStarted)
    {
        var gate = new StageStart();
        for (int i = 0; i < services.Count; i++)
        {
            // Only the stages' factories: the web host's own service is registered by type, and the builder finds it by reference.
            var d = services[i];
            if (d.ServiceType != typeof(IHostedService) || d.IsKeyedService || d.ImplementationFactory is not { } create) continue;
            services[i] = ServiceDescriptor.Singleton<IHostedService>(sp => new Deferred(gate, () => (IHostedService)create(sp)));
        }
        // Lifecycle hooks run in registration order after every StartAsync (Kestrel's included): first the mark, last the gate.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService>(sp => new Hook(() => onListening(sp))));
        services.Add(ServiceDescriptor.Singleton<IHostedService>(sp => new Hook(() =>
        {
            onStarted(sp);
            gate._current = null;
            gate._started.TrySetResult();
        })));
        return gate;
    }

    /// <summary>
    /// True for what needs a stage: the stages' APIs (<c>/api/…</c>), the status page's data and /stats (their snapshots:
    /// resolving one builds its stage, which may be the one still starting).
    /// </summary>
    public static bool NeedsStages(PathString path) =>
        path.StartsWithSegments("/api") || path.StartsWithSegments("/status") || path.StartsWithSegments("/status.json") || path.StartsWithSegments("/stats");

    /// <summary>
    /// Middleware: a request that needs a stage waits until the stages have started, at most <see cref="MaxWait"/>, then
    /// answers 503 with <c>Retry-After: 1</c> and what is still starting.
    /// </summary>
    public async Task GateAsync(HttpContext ctx, RequestDelegate next)
    {
        if (!Started.IsCompleted && NeedsStages(ctx.Request.Path))
        {
            try { await Started.WaitAsync(MaxWait, ctx.RequestAborted); }
            catch (TimeoutException)
            {
                await Starting(ctx);
                return;
            }
        }
        await next(ctx);
    }

    /// <summary>503, <c>Retry-After: 1</c>, and what is starting.</summary>
    public Task Starting(HttpContext ctx)
    {
        ctx.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        ctx.Response.Headers.RetryAfter = "1";
        return ctx.Response.WriteAsJsonAsync(new { error = $"starting: {Current} not started yet" });
    }

    /// <summary>A stage's hosted service, built and started in the lifecycle's "started" step, after Kestrel's StartAsync.</summary>
    private sealed class Deferred(StageStart gate, Func<IHostedService> create) : IHostedLifecycleService
    {
        private IHostedService? _stage;

        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StartedAsync(CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var stage = _stage = create();
            var name = stage.GetType().Name;
            gate._current = name;
            if (stage is IHostedLifecycleService l) await l.StartingAsync(cancellationToken);
            await stage.StartAsync(cancellationToken);
            if (stage is IHostedLifecycleService l2) await l2.StartedAsync(cancellationToken);
            StartupTimeline.Mark(name);
        }

        // A stage never built (a stop during start) has nothing to stop.
        public Task StoppingAsync(CancellationToken cancellationToken) => _stage is IHostedLifecycleService l ? l.StoppingAsync(cancellationToken) : Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => _stage?.StopAsync(cancellationToken) ?? Task.CompletedTask;

        public Task StoppedAsync(CancellationToken cancellationToken) => _stage is IHostedLifecycleService l ? l.StoppedAsync(cancellationToken) : Task.CompletedTask;
    }

    private sealed class Hook(Action started) : IHostedLifecycleService
    {
        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StartedAsync(CancellationToken cancellationToken)
        {
            started();
            return Task.CompletedTask;
        }
        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
