using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>The real `observe` program as built for these tests, run as its own process.</summary>
internal static class ObserveBinary
{
    public static string Dll()
    {
        var config = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
        var dll = Path.Combine(Repo.Root, "src", "Observe", "bin", config, "net10.0", "observe.dll");
        Assert.True(File.Exists(dll), $"{dll} not built");
        return dll;
    }

    /// <summary>
    /// Starts `observe run --config <paramref name="configPath"/>` with its output (stdout and stderr) in <paramref name="logPath"/>.
    /// The log listeners get free ports (their defaults, 5140 and 12201, would collide between tests running at once)
    /// unless <paramref name="env"/> sets <c>OBSERVE__Logs__…</c> itself.
    /// </summary>
    /// <param name="openFiles">when set, the process runs under <c>prlimit --nofile=N:N</c> (a small descriptor limit to exhaust).</param>
    public static PeerProcess Run(string configPath, string workDir, string logPath, IDictionary<string, string>? env = null, int? openFiles = null)
    {
        var merged = env != null && env.Keys.Any(k => k.StartsWith("OBSERVE__Logs__", StringComparison.OrdinalIgnoreCase))
            ? new Dictionary<string, string>()
            : new Dictionary<string, string> { ["OBSERVE__Logs__Udp__Port"] = "0", ["OBSERVE__Logs__Gelf__Port"] = "0" };
        if (env != null) foreach (var (k, v) in env) merged[k] = v;
        string[] run = ["dotnet", Dll(), "run", "--config", configPath];
        return openFiles is { } n
            ? PeerProcess.Start("prlimit", [$"--nofile={n}:{n}", .. run], workDir, logPath, merged)
            : PeerProcess.Start(run[0], run[1..], workDir, logPath, merged);
    }

    /// <summary>
    /// Runs one `observe` command (a client command, `config check`, `--help`) to its end and returns its exit code and
    /// output. <paramref name="env"/> entries with a null value are removed from the environment (e.g. USER).
    /// </summary>
    public static Task<(int Exit, string Stdout, string Stderr)> RunToEndAsync(IEnumerable<string> args,
        IDictionary<string, string?>? env = null, string? workDir = null, TimeSpan? timeout = null)
    {
        var merged = new Dictionary<string, string?> { ["OBSERVE_TOKEN"] = null };
        if (env != null) foreach (var (k, v) in env) merged[k] = v;
        return PeerProcess.RunToEndAsync("dotnet", [Dll(), .. args], merged, workDir, timeout);
    }
}
