using System.Text.RegularExpressions;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// The shell commands of README.md and docs/*.md, copied out of the Markdown (the docs stay the one source) and run
/// as a new user would: the block that starts Observe starts the real binary, every other block runs against it with
/// the documented ports replaced by free ones, and each must succeed (curl fails on an HTTP error).
/// </summary>
public partial class DocsCommandsTests(ITestOutputHelper output)
{
    internal sealed record Block(string File, int Line, string Code)
    {
        public override string ToString() => $"{File}:{Line}";
    }

    /// <summary>Every fenced <c>sh</c>/<c>bash</c>/<c>shell</c> block of README.md and docs/*.md, in document order.</summary>
    internal static List<Block> ShellBlocks()
    {
        var files = new[] { Path.Combine(Repo.Root, "README.md") }
            .Concat(Directory.GetFiles(Path.Combine(Repo.Root, "docs"), "*.md").Order(StringComparer.Ordinal));
        var blocks = new List<Block>();
        foreach (var file in files)
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                if (!Fence().IsMatch(lines[i])) continue;
                var start = i + 1;
                var end = start;
                while (end < lines.Length && !lines[end].StartsWith("```", StringComparison.Ordinal)) end++;
                blocks.Add(new Block(Path.GetRelativePath(Repo.Root, file), start + 1, string.Join('\n', lines[start..end])));
                i = end;
            }
        }
        return blocks;
    }

    [GeneratedRegex(@"^```(sh|bash|shell)\s*$")]
    private static partial Regex Fence();

    /// <summary>Blocks that start Observe: the docs' <c>dotnet run --project src/Observe -c Release --</c> is the `observe` program.</summary>
    private const string DotnetRun = "dotnet run --project src/Observe -c Release --";

    private static bool StartsObserve(Block b) => b.Code.Contains(DotnetRun + " run", StringComparison.Ordinal);

    /// <summary>Blocks not run here, each for a reason: the whole suite (this test is part of it) and Docker (no engine here).</summary>
    private static string? NotRunHere(Block b) => b.Code.TrimStart() switch
    {
        var c when c.StartsWith("./test.sh", StringComparison.Ordinal) => "runs the whole test suite",
        var c when c.StartsWith("docker ", StringComparison.Ordinal) => "needs a Docker engine",
        _ => null,
    };

    [Fact]
    public async Task Every_shell_command_of_the_README_and_docs_runs_against_a_running_Observe()
    {
        var blocks = ShellBlocks();
        var servers = blocks.Where(StartsObserve).ToList();
        var skipped = blocks.Where(b => NotRunHere(b) != null).ToList();
        var clients = blocks.Except(servers).Except(skipped).ToList();
        output.WriteLine($"start Observe: {string.Join(", ", servers)}\nnot run: {string.Join(", ", skipped.Select(b => $"{b} ({NotRunHere(b)})"))}\nrun: {string.Join(", ", clients)}");
        Assert.Equal(2, servers.Count);
        Assert.Equal(2, skipped.Count);
        Assert.True(clients.Count >= 5, $"only {clients.Count} blocks to run");

        var dir = Repo.TempDir("docs");
        var bin = Path.Combine(dir, "bin");
        Directory.CreateDirectory(bin);
        // `observe` on PATH, as the README says to get it (the published file or the alias for dotnet run).
        var wrapper = Path.Combine(bin, "observe");
        await File.WriteAllTextAsync(wrapper, $"#!/bin/sh\nexec dotnet '{ObserveBinary.Dll()}' \"$@\"\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // The input file docs/logs.md posts.
        await File.WriteAllTextAsync(Path.Combine(dir, "app.ndjson"), """{"message":"payment gateway timeout","level":"error","service":"checkout","order":"A-17"}""" + "\n");

        var ports = new Dictionary<int, int> { [8080] = FreePort.Get(), [8125] = FreePort.Get(), [2003] = FreePort.Get(), [2004] = FreePort.Get(), [5140] = FreePort.Get(), [12201] = FreePort.Get() };
        var env = new Dictionary<string, string?>
        {
            ["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}",
            // The documented ports, moved: for the server, and for client commands that read the address from the config.
            ["OBSERVE__Http__Port"] = ports[8080].ToString(), ["OBSERVE__Collector__Statsd__Port"] = ports[8125].ToString(),
            ["OBSERVE__Collector__Graphite__Port"] = ports[2003].ToString(), ["OBSERVE__Collector__Graphite__Pickle__Port"] = ports[2004].ToString(),
            ["OBSERVE__Logs__Udp__Port"] = ports[5140].ToString(),
            ["OBSERVE__Logs__Gelf__Port"] = ports[12201].ToString(),
            ["OBSERVE__Collector__Statsd__FlushInterval"] = "1s", ["OBSERVE__Collector__Statsd__FlushOnStop"] = "immediate",
            ["TOKEN"] = "no-auth-configured", ["USER"] = null, ["LOGNAME"] = null, ["OBSERVE_TOKEN"] = null,
        };
        // "127.0.0.1:8080" in URLs, "127.0.0.1 8125" for nc.
        string Ported(string code) => ports.Aggregate(code, (c, p) => Regex.Replace(c, $@"(?<=127\.0\.0\.1[: ]){p.Key}\b", p.Value.ToString()));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports[8080]}"), Timeout = TimeSpan.FromSeconds(5) };

        // The plain start (the README's first command) comes up; then the console-sink example serves every other block.
        foreach (var server in servers)
        {
            var code = server.Code.Replace(DotnetRun, "observe", StringComparison.Ordinal);
            // Not ObserveProcess: the subject is the docs' own command line (their flags, no --config), run by bash as a reader would.
            await using var observe = PeerProcess.Start("bash", ["-c", code], dir, Path.Combine(dir, $"observe-{server.Line}.log"), Defined(env));
            try { await Poll.UntilAsync(async () => observe.HasExited || (await http.GetAsync("/health")).IsSuccessStatusCode, TimeSpan.FromSeconds(60), $"{server} up"); }
            catch (TimeoutException) { Assert.Fail($"{server} did not come up:\n{observe.Log()}"); }
            Assert.False(observe.HasExited, $"{server} exited:\n{observe.Log()}");
            // An example must not leave a ./observe.yaml behind: every later plain `run` and client command would read it.
            Assert.False(File.Exists(Path.Combine(dir, "observe.yaml")), $"{server} wrote ./observe.yaml");
            if (server != servers[^1])
            {
                Assert.True(await observe.TerminateAsync(TimeSpan.FromSeconds(25)));
                Assert.Equal(0, observe.ExitCode);
                continue;
            }
            foreach (var block in clients)
            {
                var (exit, said) = await RunBlockAsync(Ported(block.Code), dir, env);
                output.WriteLine($"--- {block}: exit {exit}\n{said}");
                Assert.True(exit == 0, $"{block} failed (exit {exit}):\n{block.Code}\n{said}");
            }
            // The README's counter reaches the console sink the console example turned on.
            await Poll.UntilAsync(() => observe.Log().Contains("stats_counts.deploys.test"), TimeSpan.FromSeconds(15), "the quick start's counter on the console");
            Assert.True(await observe.TerminateAsync(TimeSpan.FromSeconds(25)));
            Assert.Equal(0, observe.ExitCode);
        }
    }

    private static Dictionary<string, string> Defined(Dictionary<string, string?> env) =>
        env.Where(e => e.Value != null).ToDictionary(e => e.Key, e => e.Value!);

    /// <summary>Runs one block with bash, stopping at the first failing command; curl fails on an HTTP error status.</summary>
    private static async Task<(int Exit, string Output)> RunBlockAsync(string code, string dir, Dictionary<string, string?> env)
    {
        var (exit, stdout, stderr) = await PeerProcess.RunToEndAsync("bash",
            ["-c", "set -eo pipefail\ncurl() { command curl --fail-with-body --show-error --max-time 10 \"$@\"; }\n" + code], env, dir);
        return (exit, stdout + stderr);
    }
}
