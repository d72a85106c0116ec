namespace Observe.TestSupport;

public static class Repo
{
    /// <summary>The repository root (the folder holding Observe.sln).</summary>
    public static string Root { get; } = Find();

    /// <summary>Where tests/peers/install.sh put the npm peers (Etsy statsd, clients).</summary>
    public static string NodeModules => Path.Combine(Root, "tests", "peers", "node_modules");

    public static string TempDir(string name)
    {
        // (the slice used to be name.Length + 45 long, past the end of the string when the PID is short)
        var unique = $"{name}-{Environment.ProcessId}-{Guid.NewGuid():N}";
        var dir = Path.Combine(Path.GetTempPath(), "observe-tests", unique[..Math.Min(60, unique.Length)]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string Find()
    {
        var dir = AppContext.BaseDirectory;
        while (dir != null && !File.Exists(Path.Combine(dir, "Observe.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("Observe.sln not found above " + AppContext.BaseDirectory);
    }
}
