using Microsoft.Extensions.Logging;

namespace Observe.Checks.State.Persistence;

/// <summary>Chooses where check state lives: nowhere (<c>checks.state.persist: false</c>) or SQLite in the data dir.</summary>
internal static class CheckStateStores
{
    public static ICheckStateStore? Open(ChecksOptions options, string? stateDir, TimeProvider time, ILogger log)
    {
        if (!options.Enabled || !options.State.Persist || stateDir == null) return null;
        return new SqliteCheckStateStore(Path.Combine(stateDir, "state.db"), time.GetUtcNow(), log);
    }
}
