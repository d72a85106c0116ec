using Microsoft.Extensions.Logging;

namespace Observe.Checks.State.Persistence;

/// <summary>Chooses where check state lives: nowhere (<c>checks.state.persist: false</c>) or SQLite in the data dir.</summary>
internal static class CheckStateStores
{
    public static ICheckStateStore? Open(ChecksOptions options, string? stateDir, TimeProvider time, ILogger log)
    {
        if (!options.Enabled || !options.State.Persist) return null;
        // A cluster keeps state where every node sees it: beside Quartz's tables in PostgreSQL.
        if (options.Cluster.Enabled)
            return new PostgresCheckStateStore(options.Cluster.ConnectionString,
                options.Cluster.InstanceId.Equals("auto", StringComparison.OrdinalIgnoreCase) ? $"{Environment.MachineName}-{Guid.NewGuid():N}" : options.Cluster.InstanceId, time.GetUtcNow());
        if (stateDir == null) return null;
        return new SqliteCheckStateStore(Path.Combine(stateDir, "state.db"), time.GetUtcNow(), log);
    }
}
