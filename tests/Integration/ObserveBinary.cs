using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>The built <c>observe</c> program, for tests that run it as a real process (SIGKILL, SIGHUP, clusters).</summary>
internal static class ObserveBinary
{
    public static string Dll()
    {
        var config = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
        var dll = Path.Combine(Repo.Root, "src", "Observe", "bin", config, "net10.0", "observe.dll");
        Assert.True(File.Exists(dll), $"{dll} not built");
        return dll;
    }

    /// <summary>Starts <c>observe run --config <paramref name="configPath"/></c> in <paramref name="dir"/>, logging to <paramref name="logName"/>.</summary>
    public static PeerProcess Run(string configPath, string dir, string logName) =>
        PeerProcess.Start("dotnet", [Dll(), "run", "--config", configPath], dir, Path.Combine(dir, logName));
}
