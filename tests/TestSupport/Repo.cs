namespace Observe.TestSupport;

public static class Repo
{
    /// <summary>The repository root (the folder holding Observe.sln).</summary>
    public static string Root { get; } = Find();

    /// <summary>Where tests/peers/install.sh put the npm peers (Etsy statsd, clients).</summary>
    public static string NodeModules => Path.Combine(Root, "tests", "peers", "node_modules");

    /// <summary>
    /// A fresh directory for one test, under this test process's own root (<c>/tmp/observe-tests/run-&lt;pid&gt;</c>),
    /// deleted at a normal exit; roots of runs whose process is gone (vstest ends its test hosts without one; killed,
    /// crashed) are swept when the next run starts. Before this, every run left its stores behind: a day's runs filled
    /// the disk with 18 GB.
    /// </summary>
    public static string TempDir(string name)
    {
        var dir = Path.Combine(RunRoot.Value, $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static readonly Lazy<string> RunRoot = new(() =>
    {
        var all = Path.Combine(Path.GetTempPath(), "observe-tests");
        Directory.CreateDirectory(all);
        SweepDeadRuns(all);
        var mine = Directory.CreateDirectory(Path.Combine(all, $"run-{Environment.ProcessId}")).FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(mine);
        return mine;
    });

    /// <summary>Deletes the roots of runs whose process is gone, and old-layout directories older than a day.</summary>
    public static void SweepDeadRuns(string all)
    {
        foreach (var d in Directory.EnumerateDirectories(all))
        {
            var leaf = Path.GetFileName(d);
            // A run's root whose process is gone; or a directory of the old layout (one per test) older than a day.
            bool dead = leaf.StartsWith("run-", StringComparison.Ordinal) && int.TryParse(leaf.AsSpan(4), out var pid)
                ? pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}")
                : Directory.GetLastWriteTimeUtc(d) < DateTime.UtcNow.AddDays(-1);
            if (dead) TryDelete(d);
        }
    }

    private static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (IOException) { } // a child process may still hold a file: the next run's sweep gets it
        catch (UnauthorizedAccessException) { }
    }

    private static string Find()
    {
        var dir = AppContext.BaseDirectory;
        while (dir != null && !File.Exists(Path.Combine(dir, "Observe.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("Observe.sln not found above " + AppContext.BaseDirectory);
    }
}
