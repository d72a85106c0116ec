using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>The tests' temp directories are this run's and go away: a day of runs once left 18 GB in /tmp/observe-tests.</summary>
public class TempDirTests
{
    [Fact]
    public void A_temp_dir_lives_under_this_runs_root()
    {
        var dir = Repo.TempDir("where");
        Assert.True(Directory.Exists(dir));
        Assert.Equal($"run-{Environment.ProcessId}", Path.GetFileName(Path.GetDirectoryName(dir)));
    }

    [Fact]
    public void Roots_of_dead_runs_and_day_old_directories_are_swept_and_live_ones_kept()
    {
        var all = Repo.TempDir("sweep");
        string Make(string leaf) => Directory.CreateDirectory(Path.Combine(all, leaf)).FullName;
        var dead = Make("run-2147483000"); // no such process
        var alive = Make($"run-{Environment.ProcessId}");
        var old = Make("tsdb-0123");
        Directory.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddDays(-2));
        var fresh = Make("tsdb-4567");
        File.WriteAllText(Path.Combine(dead, "data.db"), "x");

        Repo.SweepDeadRuns(all);

        Assert.False(Directory.Exists(dead));
        Assert.False(Directory.Exists(old));
        Assert.True(Directory.Exists(alive));
        Assert.True(Directory.Exists(fresh));
    }
}
