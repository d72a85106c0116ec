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

    /// <summary>Starts `observe run --config <paramref name="configPath"/>` with its output (stdout and stderr) in <paramref name="logPath"/>.</summary>
    public static PeerProcess Run(string configPath, string workDir, string logPath, IDictionary<string, string>? env = null) =>
        PeerProcess.Start("dotnet", [Dll(), "run", "--config", configPath], workDir, logPath, env);
}
