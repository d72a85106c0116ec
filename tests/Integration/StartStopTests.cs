using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>The real `observe run` starting and stopping as a new user meets it: busy ports, a stop during start, what the log says.</summary>
public class StartStopTests(ITestOutputHelper output)
{
    /// <summary>
    /// A config on free (or given) ports, every listener on loopback. These tests watch start-up itself (a start that
    /// fails, the log before /health), so they use <see cref="ObserveProcess.RunToEndAsync"/> and <see cref="ObserveProcess.LaunchAsync"/>
    /// and give each port in the YAML themselves.
    /// </summary>
    private static ObserveSetup Config(string dir, int http = 0, int statsd = 0, int graphite = 0, int logsUdp = 0, int gelf = 0, bool httpEnabled = true, string? dataDir = null) =>
        new(dir)
        {
            HttpPort = http,
            StatsdPort = statsd,
            Config = s => $$"""
                http: {enabled: {{(httpEnabled ? "true" : "false")}}, port: {{s.HttpPort}}}
                collector:
                  statsd: {port: {{s.StatsdPort}}, flushOnStop: immediate}
                  graphite: {port: {{graphite}}, pickle: {port: 0} }
                logs:
                  udp: {port: {{logsUdp}}}
                  gelf: {port: {{gelf}}}
                storage: {dataDir: {{dataDir ?? dir + "/data"}}}
                """,
        };

    public static TheoryData<string, string> Listeners => new()
    {
        { "statsd", "udp" }, { "statsd-tcp", "tcp" }, { "graphite", "tcp" }, { "logs-json", "udp" }, { "gelf", "udp" }, { "http", "tcp" },
    };

    [Theory]
    [MemberData(nameof(Listeners))]
    public async Task A_busy_port_names_the_listener_address_and_port_and_prints_no_stack(string listener, string protocol)
    {
        var dir = Repo.TempDir("busy");
        // Someone else holds the port (no SO_REUSEPORT, as nc or another daemon would).
        using var holder = protocol == "udp" ? new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)
                                             : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        if (protocol == "tcp") holder.Listen();
        var port = ((IPEndPoint)holder.LocalEndPoint!).Port;
        var statsd = listener is "statsd" or "statsd-tcp" ? port : FreePort.Get();
        var config = listener switch
        {
            "http" => Config(dir, http: port, statsd: statsd),
            "graphite" => Config(dir, statsd: statsd, graphite: port),
            "logs-json" => Config(dir, statsd: statsd, logsUdp: port),
            "gelf" => Config(dir, statsd: statsd, gelf: port),
            _ => Config(dir, statsd: statsd),
        };
        var (exit, stdout, stderr) = await ObserveProcess.RunToEndAsync(config);
        var said = stdout + stderr;
        output.WriteLine(said);
        Assert.Equal(1, exit);
        var expected = listener == "http"
            ? $"FTL cannot start: HTTP API (http.address/http.port): Failed to bind to address http://127.0.0.1:{port}: address already in use"
            : $"FTL cannot start: {listener} cannot listen on {protocol} 127.0.0.1:{port}: Address already in use";
        Assert.Contains(expected, said);
        Assert.DoesNotContain("   at ", said);
        Assert.DoesNotContain("Hosting failed to start", said);
    }

    [Fact]
    public async Task The_log_says_where_the_HTTP_API_listens_and_stats_give_every_path_absolute()
    {
        var dir = Repo.TempDir("httplog");
        var http = FreePort.Get();
        // The README's default: data in ./data, relative to where observe runs.
        await using var observe = await ObserveProcess.LaunchAsync(Config(dir, http: http, statsd: FreePort.Get(), dataDir: "./data"));
        await Poll.UntilAsync(() => observe.Log().Contains($"INF HTTP API listening on http://127.0.0.1:{http}") || observe.Process.HasExited,
            TimeSpan.FromSeconds(30), "the HTTP listening line");
        output.WriteLine(observe.Log());
        Assert.False(observe.Process.HasExited);
        var stats = await observe.StatsAsync();
        Assert.Equal(Path.Combine(dir, "data", "tsdb.db"), stats.GetProperty("storage").GetProperty("databasePath").GetString());
        Assert.StartsWith(Path.Combine(dir, "data") + "/", stats.GetProperty("logStore").GetProperty("databasePath").GetString());
        Assert.True(await observe.Process.TerminateAsync(TimeSpan.FromSeconds(25)));
        Assert.Equal(0, observe.Process.ExitCode);
    }

    [Fact]
    public async Task Http_enabled_false_serves_nothing_and_the_log_says_so()
    {
        var dir = Repo.TempDir("nohttp");
        var http = FreePort.Get();
        await using var observe = await ObserveProcess.LaunchAsync(Config(dir, http: http, statsd: FreePort.Get(), httpEnabled: false));
        // The HTTP line comes before the stages start (StageStart): wait for the collector's too.
        await Poll.UntilAsync(() => observe.Log().Contains("HTTP API off (http.enabled: false)") && observe.Log().Contains("statsd listening on udp") || observe.Process.HasExited,
            TimeSpan.FromSeconds(30), "the HTTP off line");
        output.WriteLine(observe.Log());
        Assert.Contains("statsd listening on udp", observe.Log());
        using var client = new TcpClient();
        await Assert.ThrowsAsync<SocketException>(() => client.ConnectAsync(IPAddress.Loopback, http));
        Assert.True(await observe.Process.TerminateAsync(TimeSpan.FromSeconds(25)));
        Assert.Equal(0, observe.Process.ExitCode);
    }

    [Fact]
    public async Task Sigterm_while_the_stages_start_is_a_clean_stop()
    {
        // The first log line is written while the hosted services start: a stop then must not be "Hosting failed to start".
        for (var round = 0; round < 3; round++)
        {
            var dir = Repo.TempDir("earlyterm");
            await using var observe = await ObserveProcess.LaunchAsync(Config(dir, statsd: FreePort.Get()));
            await Poll.UntilAsync(() => observe.Log().Length > 0 || observe.Process.HasExited, TimeSpan.FromSeconds(30), "the first log line");
            Assert.True(await observe.Process.TerminateAsync(TimeSpan.FromSeconds(25)), "no exit within 25 s of SIGTERM");
            output.WriteLine($"round {round}: exit {observe.Process.ExitCode}\n{observe.Log()}");
            Assert.Equal(0, observe.Process.ExitCode);
            Assert.DoesNotContain("Hosting failed", observe.Log());
            Assert.DoesNotContain("   at ", observe.Log());
        }
    }
}
