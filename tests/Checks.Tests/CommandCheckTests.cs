using Observe.Checks.Kinds;

namespace Observe.Checks.Tests;

/// <summary>The `command` kind against the real Debian monitoring-plugins in /usr/lib/nagios/plugins.</summary>
[Trait("Category", "Peer")] // real monitoring-plugins: not in ./test.sh --fast
public class CommandCheckTests
{
    private const string Plugins = "/usr/lib/nagios/plugins";
    private static readonly TimeSpan Ten = TimeSpan.FromSeconds(10);

    private static Task<CheckResult> Run(params string[] argv) => new CommandCheck(argv, null, Ten, CheckState.Critical).RunAsync(CancellationToken.None);

    [Theory]
    [InlineData(0, CheckState.Ok, "OK: all good")]
    [InlineData(1, CheckState.Warning, "WARNING: a bit slow")]
    [InlineData(2, CheckState.Critical, "CRITICAL: down")]
    [InlineData(3, CheckState.Unknown, "UNKNOWN: no idea")]
    public async Task Check_dummy_exit_codes_map_to_states(int code, CheckState state, string text)
    {
        var r = await Run($"{Plugins}/check_dummy", code.ToString(), text[(text.IndexOf(": ") + 2)..]);
        Assert.Equal(state, r.State);
        Assert.Equal(text, r.Output);
    }

    [Fact]
    public async Task Check_dummy_bad_argument_is_unknown()
    {
        var r = await Run($"{Plugins}/check_dummy", "7");
        Assert.Equal(CheckState.Unknown, r.State);
    }

    [Fact]
    public async Task Check_tcp_against_a_loopback_listener_is_ok_with_time_perfdata()
    {
        await using var server = new TinyServer(_ => null, readRequest: false);
        var r = await Run($"{Plugins}/check_tcp", "-H", "127.0.0.1", "-p", server.Port.ToString());
        Assert.Equal(CheckState.Ok, r.State);
        Assert.StartsWith("TCP OK", r.Output);
        Assert.Contains(r.PerfData, p => p.Label == "time" && p.Unit == "s" && p.Value >= 0);
    }

    [Fact]
    public async Task Check_tcp_connection_refused_is_critical()
    {
        var r = await Run($"{Plugins}/check_tcp", "-H", "127.0.0.1", "-p", ClosedPort.Get().ToString());
        Assert.Equal(CheckState.Critical, r.State);
        Assert.Contains("refused", r.Output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Check_http_against_a_tiny_server_ok_and_string_mismatch_critical()
    {
        await using var server = new TinyServer(_ => TinyServer.Http(200, "hello observe"));
        var ok = await Run($"{Plugins}/check_http", "-I", "127.0.0.1", "-p", server.Port.ToString(), "-u", "/health", "-s", "observe");
        Assert.Equal(CheckState.Ok, ok.State);
        Assert.StartsWith("HTTP OK", ok.Output);
        Assert.Contains(ok.PerfData, p => p.Label == "time" && p.Unit == "s");
        Assert.Contains(ok.PerfData, p => p.Label == "size" && p.Unit == "B");

        var bad = await Run($"{Plugins}/check_http", "-I", "127.0.0.1", "-p", server.Port.ToString(), "-s", "nothere");
        Assert.Equal(CheckState.Critical, bad.State);
    }

    [Fact]
    public async Task Check_http_500_is_critical()
    {
        await using var server = new TinyServer(_ => TinyServer.Http(500, "boom", "Internal Server Error"));
        var r = await Run($"{Plugins}/check_http", "-I", "127.0.0.1", "-p", server.Port.ToString());
        Assert.Equal(CheckState.Critical, r.State);
        Assert.Contains("500", r.Output);
    }

    [Fact]
    public async Task Check_procs_emits_perfdata()
    {
        var r = await Run($"{Plugins}/check_procs", "-w", "100000", "-c", "200000");
        Assert.Equal(CheckState.Ok, r.State);
        Assert.StartsWith("PROCS OK", r.Output);
        var p = Assert.Single(r.PerfData);
        Assert.Equal("procs", p.Label);
        Assert.True(p.Value > 0);
        Assert.Equal("100000", p.Warn);
        Assert.Equal("200000", p.Crit);
    }

    [Fact]
    public async Task Check_disk_emits_perfdata_for_the_root_filesystem()
    {
        var r = await Run($"{Plugins}/check_disk", "-w", "0%", "-c", "0%", "-p", "/");
        Assert.StartsWith("DISK", r.Output);
        Assert.Contains(r.PerfData, p => p.Label == "/" && p.Value > 0 && p.Max > 0);
    }

    [Fact]
    public async Task Script_plugin_with_long_output_and_multi_line_perfdata()
    {
        var path = ScriptPlugin.Write("""
            echo 'DISK WARNING - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968'
            echo '/ 15272 MB (77%);'
            echo '/boot 68 MB (69%);'
            echo '/var/log 819 MB (84%); | /boot=68MB;88;93;0;98'
            echo "'var log'=818MB;970;975;0;980"
            echo 'stderr is ignored' >&2
            exit 1
            """);
        var r = await Run(path);
        Assert.Equal(CheckState.Warning, r.State);
        Assert.Equal("DISK WARNING - free space: / 3326 MB (56%);", r.Output);
        Assert.Equal("/ 15272 MB (77%);\n/boot 68 MB (69%);\n/var/log 819 MB (84%); ", r.LongOutput);
        Assert.Equal(["/", "/boot", "var log"], r.PerfData.Select(p => p.Label));
    }

    [Fact]
    public async Task Out_of_bounds_exit_code_is_unknown_with_the_reason()
    {
        var r = await Run(ScriptPlugin.Write("echo 'weird'; exit 5"));
        Assert.Equal(CheckState.Unknown, r.State);
        Assert.Contains("Return code of 5 is out of bounds", r.Output);
        Assert.Contains("weird", r.Output);
    }

    [Fact]
    public async Task Missing_plugin_is_unknown()
    {
        var r = await Run($"{Plugins}/check_does_not_exist");
        Assert.Equal(CheckState.Unknown, r.State);
        Assert.Contains("plugin not found", r.Output);
    }

    [Fact]
    public async Task No_output_says_so()
    {
        var r = await Run(ScriptPlugin.Write("echo oops >&2; exit 2"));
        Assert.Equal(CheckState.Critical, r.State);
        Assert.Equal("(No output returned from plugin) stderr: oops", r.Output);
    }

    [Fact]
    public async Task Arguments_are_not_interpreted_by_a_shell()
    {
        var r = await Run($"{Plugins}/check_dummy", "0", "$(touch /tmp/observe-pwned); `id` | x=1");
        Assert.Equal("OK: $(touch /tmp/observe-pwned); `id`", r.Output);
        Assert.False(File.Exists("/tmp/observe-pwned"));
    }

    [Fact]
    public async Task Output_is_capped()
    {
        var r = await new CommandCheck([ScriptPlugin.Write("head -c 200000 /dev/zero | tr '\\0' 'a'; echo; exit 0")], null, Ten, CheckState.Critical, maxOutputBytes: 1000)
            .RunAsync(CancellationToken.None);
        Assert.Equal(CheckState.Ok, r.State);
        Assert.Equal(1000, r.Output.Length);
    }

    [Theory]
    [InlineData(CheckState.Critical)]
    [InlineData(CheckState.Unknown)]
    public async Task Timeout_gives_the_configured_state_and_kills_the_process_group(CheckState timeoutState)
    {
        var pidFile = Path.Combine(Path.GetTempPath(), $"observe-child-{Guid.NewGuid():N}");
        var path = ScriptPlugin.Write($"sleep 60 & echo $! > {pidFile}; sleep 60; echo never");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var r = await new CommandCheck([path], null, TimeSpan.FromMilliseconds(700), timeoutState).RunAsync(CancellationToken.None);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), sw.Elapsed.ToString());
        Assert.Equal(timeoutState, r.State);
        Assert.Contains("timed out after 0.7 seconds", r.Output);
        var childPid = File.ReadAllText(pidFile).Trim();
        await Task.Delay(200);
        var stat = $"/proc/{childPid}/stat";
        Assert.True(!File.Exists(stat) || File.ReadAllText(stat).Split(' ')[2] == "Z", "the plugin's background child survived the timeout");
    }
}
