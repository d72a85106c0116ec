using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// The real binary opens its store while the stages start and HTTP listens (issue 21, restart to first /render): the log
/// says where the start went, and a store it cannot open still stops it as a failed start.
/// </summary>
public class StoreOpenStartTests(ITestOutputHelper output)
{
    private static string Config(string dir)
    {
        var path = Path.Combine(dir, "observe.yaml");
        File.WriteAllText(path, $$"""
            http: {port: {{FreePort.Get()}}}
            collector:
              statsd: {port: {{FreePort.Get()}}}
              graphite: {port: 0, pickle: {port: 0} }
            storage: {dataDir: {{dir}}/data}
            logging: {level: information}
            """);
        return path;
    }

    [Fact]
    public async Task The_log_gives_the_start_up_timeline_with_HTTP_listening_before_the_stages_start()
    {
        var dir = Repo.TempDir("timeline");
        await using var observe = ObserveBinary.Run(Config(dir), dir, Path.Combine(dir, "observe.log"));
        // Only whole lines: the log is read while the process writes it, and a line cut at "LogI…" lacks its last marks.
        string? Line() => observe.Log().Split('\n')[..^1].SingleOrDefault(l => l.Contains("start-up (ms since the process started)"));
        await Poll.UntilAsync(() => observe.HasExited || Line() != null, TimeSpan.FromSeconds(60), "the start-up line");
        var line = Line() ?? throw new Xunit.Sdk.XunitException("observe exited before logging its start-up line:\n" + observe.Log());
        output.WriteLine(line);
        foreach (var mark in new[] { "main ", "config ", "built ", "stages starting ", "listening ", "store opened ", "stages started " })
            Assert.Contains(mark, line);
        // HTTP first, then the stages, each marked when it has started (StageStart): the collector after listening.
        Assert.True(line.IndexOf(" listening ", StringComparison.Ordinal) < line.IndexOf(" CollectorService ", StringComparison.Ordinal), line);
        Assert.True(line.IndexOf(" CollectorService ", StringComparison.Ordinal) < line.IndexOf(" stages started ", StringComparison.Ordinal), line);
        Assert.Contains("tsdb: opened", observe.Log());
    }

    [Fact]
    public async Task A_store_in_a_format_it_cannot_read_stops_the_start_with_exit_1_and_says_why()
    {
        var dir = Repo.TempDir("badformat");
        WriteFormat1Store(dir);
        var (exit, stdout, stderr) = await ObserveBinary.RunToEndAsync(["run", "--config", Config(dir)], workDir: dir, timeout: TimeSpan.FromSeconds(90));
        output.WriteLine(stdout + stderr);
        Assert.Equal(1, exit);
        Assert.Contains("cannot start", stdout + stderr);
        Assert.Contains("on-disk format 1", stdout + stderr);
    }

    [Fact]
    public async Task A_store_it_cannot_open_ends_the_process_at_once_and_in_one_line()
    {
        // A graceful stop would wait for the StatsD interval's boundary (up to 10 s here) and then retry the last flush into
        // the store that never opened (10 s): seconds between the line and the exit, for nothing that could be kept.
        var setup = new ObserveSetup(Repo.TempDir("badformat-stop")) { LogLevel = "information" };
        WriteFormat1Store(setup.Dir);
        await using var observe = await ObserveProcess.LaunchAsync(setup);
        await Poll.UntilAsync(() => observe.Process.HasExited || observe.Log().Contains("cannot start"), TimeSpan.FromSeconds(60), "the failed start");
        var said = Stopwatch.StartNew();
        await Poll.UntilAsync(() => observe.Process.HasExited, TimeSpan.FromSeconds(60), "observe to exit");
        var log = observe.Log();
        output.WriteLine($"exited {said.Elapsed.TotalSeconds:F1} s after the line\n{log}");
        Assert.Equal(1, observe.Process.ExitCode);
        Assert.True(said.Elapsed < TimeSpan.FromSeconds(5), $"exited {said.Elapsed.TotalSeconds:F1} s after saying it cannot start");
        // The reason is the whole message; a stack trace is for what Observe did not expect.
        Assert.Contains("on-disk format 1", log);
        Assert.DoesNotContain("   at ", log);
    }

    private static void WriteFormat1Store(string dir)
    {
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        using var c = new SqliteConnection($"Data Source={Path.Combine(dir, "data", "tsdb.db")};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "CREATE TABLE chunk(id INTEGER PRIMARY KEY); PRAGMA user_version=1;";
        cmd.ExecuteNonQuery();
    }
}
