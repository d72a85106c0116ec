using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>
/// The real `observe` program as built for these tests, run as its own process. A test that needs a running server
/// starts it with <see cref="ObserveProcess"/> (config, ports, wait-healthy, client), which launches through <see cref="Run"/>;
/// the CLI's one-shot commands and the scripts that call it run here.
/// </summary>
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
    /// <param name="command">the program and arguments before <c>run --config …</c>; <c>dotnet observe.dll</c> unless told
    /// (a published single file, or a launcher such as <c>env -u DOTNET_ROOT … /path/observe</c>).</param>
    public static PeerProcess Run(string configPath, string workDir, string logPath, IDictionary<string, string>? env = null, int? openFiles = null,
        IReadOnlyList<string>? command = null)
    {
        var merged = env != null && env.Keys.Any(k => k.StartsWith("OBSERVE__Logs__", StringComparison.OrdinalIgnoreCase))
            ? new Dictionary<string, string>()
            : new Dictionary<string, string> { ["OBSERVE__Logs__Udp__Port"] = "0", ["OBSERVE__Logs__Gelf__Port"] = "0" };
        if (env != null) foreach (var (k, v) in env) merged[k] = v;
        string[] run = [.. command ?? ["dotnet", Dll()], "run", "--config", configPath];
        return openFiles is { } n
            ? PeerProcess.Start("prlimit", [$"--nofile={n}:{n}", .. run], workDir, logPath, merged)
            : PeerProcess.Start(run[0], run[1..], workDir, logPath, merged);
    }

    /// <summary>
    /// Runs a shop's script (bash) that calls the observe CLI built here as <c>$OBSERVE</c> against <c>$OBSERVE_URL</c>
    /// (a deploy script), with <paramref name="env"/> added; returns its exit code and its output (stdout, then stderr).
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunScriptAsync(string script, IEnumerable<string> args, string url,
        IDictionary<string, string> env, TimeSpan timeout)
    {
        var merged = new Dictionary<string, string?> { ["OBSERVE"] = $"dotnet {Dll()}", ["OBSERVE_URL"] = url, ["OBSERVE_TOKEN"] = null };
        foreach (var (k, v) in env) merged[k] = v;
        var (exit, stdout, stderr) = await PeerProcess.RunToEndAsync("/bin/bash", [script, .. args], merged, timeout: timeout);
        return (exit, stdout + stderr);
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
