using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Observe.Host;

/// <summary>
/// Where a start went (issue 21: the first /render within a second of a restart): marks in milliseconds since the process
/// started, logged as one line once HTTP listens and the store has opened. The store's own line says how its open divided.
/// </summary>
internal static class StartupTimeline
{
    private static readonly DateTime ProcessStart = Process.GetCurrentProcess().StartTime;
    private static readonly List<(string What, double Ms)> Marks = [];

    public static void Mark(string what)
    {
        double ms = (DateTime.Now - ProcessStart).TotalMilliseconds;
        lock (Marks) Marks.Add((what, ms));
    }

    /// <summary>"main 180, config 260, …" in the order the marks were made.</summary>
    public static string Describe()
    {
        lock (Marks) return string.Join(", ", Marks.Select(m => $"{m.What} {m.Ms:F0}"));
    }

    /// <summary>
    /// Marks when each stage (a hosted service registered by a factory, as every stage is) finished starting: the host starts
    /// them one after another, then Kestrel, so the marks show which one held up listening.
    /// </summary>
    public static void MarkStageStarts(IServiceCollection services)
    {
        for (int i = 0; i < services.Count; i++)
        {
            // Only the stages' factories: the web host's own service is registered by type, and the builder finds it by reference.
            var d = services[i];
            if (d.ServiceType != typeof(IHostedService) || d.IsKeyedService || d.ImplementationFactory is not { } create) continue;
            services[i] = ServiceDescriptor.Singleton<IHostedService>(sp => new MarkedStart((IHostedService)create(sp)));
        }
    }

    private sealed class MarkedStart(IHostedService stage) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await stage.StartAsync(cancellationToken);
            Mark(stage.GetType().Name);
        }

        public Task StopAsync(CancellationToken cancellationToken) => stage.StopAsync(cancellationToken);
    }
}
