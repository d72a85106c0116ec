using Observe.Checks;
using Observe.Host.Config;
using Serilog;

namespace Observe.Host;

/// <summary>The outcome of a reload, as <c>POST /api/reload</c> answers it (problems name key paths, never values of secrets).</summary>
internal sealed record ReloadResult(bool Reloaded, int Checks, IReadOnlyList<string> Problems);

/// <summary>
/// Re-reads the config file (SIGHUP, <c>POST /api/reload</c>) and hands its <c>checks:</c> section to Checks'
/// <see cref="IChecksReloader"/>, which keeps the state of every check that keeps its host and name. Other sections
/// take effect at the next start. A file with any problem changes nothing. The HTTPS certificate (when on) is re-read
/// from its files first, whatever becomes of the checks.
/// </summary>
internal sealed class ChecksConfigReload(string? configPath, IChecksReloader? checks, ICheckStates? states, Tls.HttpsCertificate? https = null)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task<ReloadResult> ReloadAsync(string who, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            https?.Reload(who);
            if (checks == null) return Refused("checks: disabled when Observe started; restart to enable them");
            if (configPath != null && !File.Exists(configPath)) return Refused($"{configPath}: file not found");
            var (config, problems) = ConfigBinder.Load(configPath);
            if (problems.Count > 0) return Refused([.. problems.Select(p => p.ToString())]);
            if (!config.Checks.Enabled) return Refused("checks.enabled: false takes effect at the next start; nothing reloaded");
            var checkProblems = await checks.ReloadAsync(config.Checks, ct);
            if (checkProblems.Count > 0) return Refused([.. checkProblems.Select(p => $"{p.KeyPath}: {p.Message}")]);
            var count = states?.Current().Count ?? 0;
            Log.Information("reload by {Who}: {File} re-read, {Count} checks", who, configPath ?? "(defaults)", count);
            return new ReloadResult(true, count, []);
        }
        finally { _gate.Release(); }

        ReloadResult Refused(params string[] why)
        {
            Log.Warning("reload by {Who} refused, nothing changed: {Problems}", who, string.Join("; ", why));
            return new ReloadResult(false, states?.Current().Count ?? 0, why);
        }
    }
}
