using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Observe.Host.Config;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Deploys end to end: a small web shop (tests/Integration/DeployE2E/shop.py) whose error rate and latency depend on the
/// version it is deployed at sends StatsD to Observe; its deploy script (bash + the real `observe deploy` CLI) deploys a
/// good version, which passes, and a bad one (errors ×5), which Observe rolls back by running the rollback script.
/// </summary>
public class DeployEndToEndTests(ITestOutputHelper output)
{
    private static readonly string Scripts = Path.Combine(Repo.Root, "tests", "Integration", "DeployE2E");

    [Fact]
    public async Task Good_deploy_passes_and_bad_deploy_is_rolled_back() => await RunScenario(alertingYaml: null);

    /// <summary>The same deploys with Alerting's IRC notifier posting to a real ngircd: both announcements reach the channel.
    /// A plain fact: it skipped itself when a type name looked up by string was missing, so a rename hid it silently.</summary>
    [Fact]
    public async Task Deploy_announcements_reach_the_irc_channel()
    {
        await using var irc = await DeployIrcPeer.StartAsync();
        var alerting = $$"""
            alerting:
              route: {receiver: ops, groupWait: 0s}
              receivers:
                - name: ops
                  irc: {channel: "#ops"}
              irc:
                server: 127.0.0.1
                port: {{irc.Port}}
                nick: observe
                floodInterval: 500ms
            """;
        await RunScenario(alerting);
        await Poll.UntilAsync(() => irc.Texts("observe").Count(t => t.Contains("is being deployed to test by ci")) >= 2, TimeSpan.FromSeconds(60), "both announcements on IRC");
        var texts = irc.Texts("observe");
        Assert.Contains(texts, t => t.Contains("shop/main (v2) is being deployed to test by ci"));
        Assert.Contains(texts, t => t.Contains("shop/main (v3-bad) is being deployed to test by ci"));
    }

    private async Task RunScenario(string? alertingYaml)
    {
        var dir = Repo.TempDir("deploy-e2e");
        var appDir = Path.Combine(dir, "shop");
        Directory.CreateDirectory(appDir);
        await File.WriteAllTextAsync(Path.Combine(appDir, "version"), "v1\n");
        var setup = new ObserveSetup(dir)
        {
            FlushIntervalMs = 1000,
            Retentions = "1s:1d",
            ExtraYaml = $$"""
                deploys:
                  window: 20s
                  baseline: 30s
                  evaluateInterval: 1s
                  services:
                    - name: shop
                      autoRollback: true
                      slis:
                        - {name: error_ratio, target: "divideSeries(stats_counts.shop.errors, stats_counts.shop.requests)", maxRatio: 2}
                        - {name: latency_p90, target: stats.timers.shop.latency.upper_90, maxRatio: 1.5}
                      rollback:
                        command: [/bin/bash, {{Scripts}}/rollback.sh]
                        environment: {APP_DIR: {{appDir}}}
                        timeout: 30s
                logs:
                  udp: {port: 0}
                  gelf: {port: 0}
                {{alertingYaml}}
                """,
            ClientTimeout = TimeSpan.FromSeconds(100), // HttpClient's default, as before
        };
        int httpPort = setup.HttpPort, statsdPort = setup.StatsdPort, shopPort = FreePort.Get();
        await using var observe = await ObserveProcess.StartAsync(setup);
        var (_, problems) = ConfigBinder.Load(setup.ConfigPath, new System.Collections.Hashtable());
        Assert.Empty(problems);
        var api = observe.Client;

        await using var shop = PeerProcess.Start("/usr/bin/python3", [Path.Combine(Scripts, "shop.py"), "--port", $"{shopPort}", "--statsd", $"127.0.0.1:{statsdPort}", "--dir", appDir],
            dir, Path.Combine(dir, "shop.log"));
        using var web = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{shopPort}"), Timeout = TimeSpan.FromSeconds(5) };
        await Poll.UntilAsync(async () => (await web.GetAsync("/")).StatusCode is System.Net.HttpStatusCode.OK or System.Net.HttpStatusCode.InternalServerError,
            TimeSpan.FromSeconds(20), "the shop to answer");

        // Customers: a steady ~200 requests/s for the whole test.
        using var stop = new CancellationTokenSource();
        var customers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { using var _ = await web.GetAsync("/", stop.Token); await Task.Delay(20, stop.Token); }
                catch (Exception e) when (e is OperationCanceledException or HttpRequestException) { }
            }
        })).ToList();
        try
        {
            // A baseline before the first deploy: 20 flushes with errors recorded.
            await Poll.UntilAsync(async () => (await Points(api, "stats_counts.shop.errors", "-1min")).Count >= 20, TimeSpan.FromSeconds(60), "a baseline of shop metrics");

            var good = await Deploy("v2", appDir, httpPort);
            Assert.True(good.ExitCode == 0, $"good deploy exited {good.ExitCode}: {good.Output}");
            Assert.Contains("verified; verdict pass", good.Output);
            Assert.False(File.Exists(Path.Combine(appDir, "rolled-back.txt")), "a good deploy must not be rolled back");

            var sw = Stopwatch.StartNew();
            var bad = await Deploy("v3-bad", appDir, httpPort);
            output.WriteLine($"bad deploy: {bad.Output} ({sw.Elapsed.TotalSeconds:0.0} s including the CLI)");
            Assert.True(bad.ExitCode == 1, $"bad deploy exited {bad.ExitCode}: {bad.Output}");
            Assert.Contains("rolled_back; verdict fail", bad.Output);
            Assert.Equal("shop test v3-bad v2", (await File.ReadAllTextAsync(Path.Combine(appDir, "rolled-back.txt"))).Trim());
            Assert.Equal("v2", (await File.ReadAllTextAsync(Path.Combine(appDir, "version"))).Trim());

            // The deploy shows rolled_back with the numbers behind it.
            var deploys = await api.GetFromJsonAsync<JsonElement>("/api/deploys?service=shop&env=test");
            var d = deploys.EnumerateArray().Single(x => x.GetProperty("version").GetString() == "v3-bad");
            Assert.Equal("rolled_back", d.GetProperty("state").GetString());
            var v = d.GetProperty("verification");
            Assert.Equal("fail", v.GetProperty("verdict").GetString());
            var errors = v.GetProperty("slis").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "error_ratio");
            output.WriteLine(errors.ToString());
            Assert.Equal("fail", errors.GetProperty("verdict").GetString());
            Assert.InRange(errors.GetProperty("ratio").GetDouble(), 2.5, 8);
            Assert.True(errors.GetProperty("pValue").GetDouble() < 0.05);
            Assert.True(errors.GetProperty("baselinePoints").GetInt32() >= 20);
            Assert.InRange(errors.GetProperty("baselineMedian").GetDouble(), 0.01, 0.03);
            var rollback = d.GetProperty("rollback");
            Assert.True(rollback.GetProperty("succeeded").GetBoolean());
            Assert.Equal(0, rollback.GetProperty("exitCode").GetInt32());
            Assert.Equal("v2", rollback.GetProperty("goodVersion").GetString());
            Assert.Equal("verified", deploys.EnumerateArray().Single(x => x.GetProperty("version").GetString() == "v2").GetProperty("state").GetString());

            // Graphite events for Grafana annotations, and the counters.
            var events = await api.GetFromJsonAsync<JsonElement>("/events/get_data?tags=deploy&from=-10min");
            var whats = events.EnumerateArray().Select(e => e.GetProperty("what").GetString()!).ToList();
            Assert.Contains("shop/main (v2) is being deployed to test by ci", whats);
            Assert.Contains("shop/main (v3-bad) is being deployed to test by ci", whats);
            Assert.Contains(whats, w => w.StartsWith("shop/main (v3-bad) was deployed to test by ci"));
            Assert.Contains(whats, w => w.StartsWith("shop/main (v3-bad) on test was rolled back to v2"));
            Assert.All(events.EnumerateArray(), e => Assert.Equal(["deploy", "shop", "test"], e.GetProperty("tags").EnumerateArray().Select(t => t.GetString())));
            await Poll.UntilAsync(async () => (await Points(api, "deploys.shop.test.rolled_back", "-10min")).Sum() == 1, TimeSpan.FromSeconds(10), "the rolled_back counter");
            Assert.Equal(2, (await Points(api, "deploys.shop.test.started", "-10min")).Sum());
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(customers);
            await observe.DisposeAsync();
        }
    }

    /// <summary>Runs the shop's deploy script (bash + the observe CLI built from this repository).</summary>
    private static Task<(int ExitCode, string Output)> Deploy(string version, string appDir, int httpPort) =>
        ObserveBinary.RunScriptAsync(Path.Combine(Scripts, "deploy.sh"), [version], $"http://127.0.0.1:{httpPort}",
            new Dictionary<string, string> { ["APP_DIR"] = appDir }, TimeSpan.FromMinutes(3));

    private static async Task<List<double>> Points(HttpClient api, string target, string from)
    {
        return (await RenderJson.GetAsync(api, target, from)).Select(p => p.Value).ToList();
    }
}

/// <summary>A real ngircd with one channel, and a raw client in it that records what is said there.</summary>
internal sealed class DeployIrcPeer : IAsyncDisposable
{
    private readonly PeerProcess _server;
    private readonly TcpClient _client = new();
    private readonly List<string> _lines = [];
    public int Port { get; }

    private DeployIrcPeer(PeerProcess server, int port) { _server = server; Port = port; }

    public static async Task<DeployIrcPeer> StartAsync()
    {
        var dir = Repo.TempDir("deploy-irc");
        var port = FreePort.Get();
        var conf = Path.Combine(dir, "ngircd.conf");
        await File.WriteAllTextAsync(conf, $"[Global]\nName = irc.test\nListen = 127.0.0.1\nPorts = {port}\nPidFile = {dir}/ngircd.pid\n" +
                                           "[Limits]\nMaxConnectionsIP = 0\n[Options]\nPAM = no\nIdent = no\nDNS = no\n[Channel]\nName = #ops\n");
        var peer = new DeployIrcPeer(PeerProcess.Start("/usr/sbin/ngircd", ["--config", conf, "--nodaemon"], dir, Path.Combine(dir, "ngircd.log")), port);
        await Poll.UntilAsync(async () => { await peer._client.ConnectAsync("127.0.0.1", port); return true; }, TimeSpan.FromSeconds(20), "ngircd to listen");
        var stream = peer._client.GetStream();
        var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\r\n", AutoFlush = true };
        await writer.WriteLineAsync("NICK watcher");
        await writer.WriteLineAsync("USER watcher 0 * :watcher");
        var joined = false;
        _ = Task.Run(async () =>
        {
            using var reader = new StreamReader(stream, new UTF8Encoding(false));
            try
            {
                while (await reader.ReadLineAsync() is { } line)
                {
                    lock (peer._lines) peer._lines.Add(line);
                    var parts = line.Split(' ');
                    if (parts[0] == "PING") await writer.WriteLineAsync("PONG " + line[5..]);
                    else if (parts.Length > 1 && parts[1] == "001") await writer.WriteLineAsync("JOIN #ops");
                    else if (parts.Length > 1 && parts[1] == "JOIN" && parts[0].StartsWith(":watcher!", StringComparison.Ordinal)) joined = true;
                }
            }
            catch (IOException) { }
            catch (ObjectDisposedException) { }
        });
        await Poll.UntilAsync(() => joined, TimeSpan.FromSeconds(15), "the watcher to join #ops");
        return peer;
    }

    /// <summary>Texts of NOTICE/PRIVMSG lines sent by <paramref name="nick"/>.</summary>
    public List<string> Texts(string nick)
    {
        lock (_lines)
            return _lines.Where(l => l.StartsWith($":{nick}!", StringComparison.Ordinal)).Select(l => l.Split(' ', 4))
                .Where(p => p.Length == 4 && p[1] is "NOTICE" or "PRIVMSG").Select(p => p[3].TrimStart(':')).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }
}
