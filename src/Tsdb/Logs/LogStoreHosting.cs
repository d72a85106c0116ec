using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Observe.Collector;
using Observe.Storage.Logs;

namespace Observe.Storage;

/// <summary>What /stats shows of the embedded log store.</summary>
public sealed record LogStoreStats(string DatabasePath, long Inserted, long DeletedByRetention, long LastRetentionRunUnixMs);

/// <summary>The host's entry points into the embedded log store (<c>logs.db</c>) and its search API.</summary>
public static class LogStoreHosting
{
    /// <summary>Registers the log store under <paramref name="dataDir"/> as an <see cref="ILogSink"/> (so it gets every log batch).</summary>
    public static IServiceCollection AddObserveLogStore(this IServiceCollection services, LogStoreOptions options, string dataDir)
    {
        services.AddSingleton(options);
        services.AddSingleton(sp => LogStore.Open(Path.Combine(dataDir, "logs.db"), options, sp.GetService<TimeProvider>(),
            log: sp.GetService<ILoggerFactory>()?.CreateLogger("Observe.Storage.Logs")));
        services.AddSingleton<ILogSink>(sp => sp.GetRequiredService<LogStore>());
        services.AddSingleton<Func<LogStoreStats>>(sp => () => sp.GetRequiredService<LogStore>().Stats);
        return services;
    }

    /// <summary>Maps <c>GET /api/logs</c> (search) when the store is registered.</summary>
    public static IEndpointRouteBuilder MapLogSearchApi(this IEndpointRouteBuilder app)
    {
        var store = app.ServiceProvider.GetService<LogStore>();
        if (store != null)
            LogSearchApi.Map(app, store, app.ServiceProvider.GetRequiredService<LogStoreOptions>(),
                app.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System);
        return app;
    }
}
