using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Issue 14: a real shop's day against the real `observe` binary and real peers. Three webheads (node + hot-shots, a real
/// StatsD client) behind nginx take ~20 requests/s and have never had an error (the error counter does not exist until
/// the first one); http checks per webhead and a pool check on the load balancer; IRC on ngircd and mail on aiosmtpd;
/// the shop's bash deploy script (holding the prod lock across `finish --wait`) and rollback script. Each step of the
/// day is asserted: steady metrics; a webhead killed → SOFT → HARD → one IRC line and one mail; `observe ack` → check
/// and alert acknowledged; restart → recovery on both; flapping start/stop ends with the alert resolved; a good deploy
/// passes; a bad one (30 % errors on a zero-error baseline) is rolled back ≤ 60 s after finish past the lock its own
/// script holds, announced, and its alert resolves once a later deploy passes. About 2–3 minutes.
/// </summary>
[Collection("alerting peers")]
public class ShopDayStoryTests(ITestOutputHelper output)
{
    private static readonly string Scripts = Path.Combine(Repo.Root, "tests", "Integration", "ShopDay");
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(30);

    private sealed class Webhead(string name, int port, Func<int, PeerProcess> start) : IAsyncDisposable
    {
        public string Name { get; } = name;
        public int Port { get; } = port;
        public PeerProcess? Process { get; private set; } = start(port);
        public async Task StopAsync() { if (Process != null) await Process.DisposeAsync(); Process = null; }
        public async Task RestartAsync() { await StopAsync(); Process = start(Port); await Tcp.WaitForPortAsync(Port, TimeSpan.FromSeconds(20), $"{Name} to listen again"); }
        public ValueTask DisposeAsync() => new(StopAsync());
    }

    [Fact]
    public async Task A_shops_day_from_steady_traffic_through_an_outage_flapping_and_a_rolled_back_deploy()
    {
        var total = Stopwatch.StartNew();
        var dir = Repo.TempDir("shop-day");
        var appDir = Path.Combine(dir, "shop");
        Directory.CreateDirectory(appDir);
        await File.WriteAllTextAsync(Path.Combine(appDir, "version"), "v1\n");
        int httpPort = FreePort.Get(), statsdPort = FreePort.Get(), nginxPort = FreePort.Get();

        await using var irc = await NgircdServer.StartAsync();
        await using var watcher = await IrcWatcher.JoinAsync(irc.Port, irc.Channel);
        await using var smtp = await SmtpSink.StartAsync();

        PeerProcess StartWebhead(string name, int port) => PeerProcess.Start("node", [Path.Combine(Scripts, "webhead.js"), $"{port}", $"{statsdPort}", appDir],
            dir, Path.Combine(dir, $"{name}-{Guid.NewGuid():N}.log"), new Dictionary<string, string> { ["NODE_PATH"] = Repo.NodeModules });
        var webheads = new[] { "web1", "web2", "web3" }.Select(n => new Webhead(n, FreePort.Get(), p => StartWebhead(n, p))).ToList();
        try
        {
            foreach (var w in webheads) await Tcp.WaitForPortAsync(w.Port, TimeSpan.FromSeconds(20), $"{w.Name} to listen");
            await using var nginx = await StartNginx(dir, nginxPort, webheads.Select(w => w.Port));

            var observeCmd = $"dotnet {ObserveBinary.Dll()}";
            // The ports were chosen before Observe starts: the webheads send StatsD to it.
            var setup = new ObserveSetup(dir)
            {
                HttpPort = httpPort,
                StatsdPort = statsdPort,
                FlushIntervalMs = 1000,
                Retentions = "1s:1d",
                LogLevel = null,
                ExtraYaml = Config(httpPort, irc, smtp, webheads, appDir, observeCmd),
            };
            var configPath = setup.ConfigPath;
            await using var observe = await ObserveProcess.StartAsync(setup, healthy: TimeSpan.FromSeconds(60));
            var api = observe.Client;
            await Poll.UntilAsync(async () => (await api.GetFromJsonAsync<JsonElement>("/api/alerts/receivers")).GetProperty("irc").GetProperty("connected").GetBoolean(),
                TimeSpan.FromSeconds(30), "observe to join IRC");

            // Customers: ~20 requests/s through nginx for the whole day.
            using var stop = new CancellationTokenSource();
            using var shop = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{nginxPort}"), Timeout = TimeSpan.FromSeconds(5) };
            long served = 0, failed = 0;
            var customers = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        using var r = await shop.GetAsync("/", stop.Token);
                        Interlocked.Increment(ref served);
                        if (!r.IsSuccessStatusCode) Interlocked.Increment(ref failed);
                        await Task.Delay(50, stop.Token);
                    }
                    catch (Exception e) when (e is OperationCanceledException or HttpRequestException) { }
                }
            });
            try
            {
                await Steady(api);
                Log(total, "steady metrics, no error counter");
                await Outage(api, watcher, smtp, webheads[1], configPath);
                Log(total, "web2 down, acknowledged, recovered");
                await Flapping(api, webheads[2]);
                Log(total, "lb1/pool flapped and recovered");
                await Deploys(api, watcher, smtp, appDir, httpPort, observeCmd);
                Log(total, "deploys");
                Assert.True(Interlocked.Read(ref served) > 500, $"only {served} requests served");
            }
            finally
            {
                await stop.CancelAsync();
                await customers;
                output.WriteLine($"served {served} requests, {failed} failed; observe log tail:\n{Tail(observe.Log(), 40)}");
            }
        }
        finally
        {
            foreach (var w in webheads) await w.DisposeAsync();
        }
    }

    private void Log(Stopwatch total, string what) => output.WriteLine($"{total.Elapsed.TotalSeconds,6:0.0} s  {what}");

    private static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));

    /// <summary>Requests counted every flush; the error counter does not exist: nobody has had an error yet.</summary>
    private static async Task Steady(HttpClient api)
    {
        var since = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await Poll.UntilAsync(async () => (await RenderJson.PointsAsync(api, "stats_counts.shop.requests", since)).Count(p => p.Value > 0) >= 8, Step, "8 flushes of requests");
        var requests = await RenderJson.PointsAsync(api, "stats_counts.shop.requests", since);
        Assert.InRange(requests.Values.Where(v => v > 0).Average(), 5, 40); // ~20 per 1 s flush
        Assert.NotEmpty(await RenderJson.PointsAsync(api, "stats.timers.shop.latency.upper_90", since));
        var find = await api.GetFromJsonAsync<JsonElement>("/metrics/find?query=stats_counts.shop.*");
        Assert.DoesNotContain(find.EnumerateArray(), n => n.GetProperty("text").GetString() == "errors");
    }

    private static async Task<JsonElement> Check(HttpClient api, string hostCheck) => await api.GetFromJsonAsync<JsonElement>($"/api/checks/{hostCheck}");

    private static async Task<JsonElement?> Alert(HttpClient api, string key) =>
        (await api.GetFromJsonAsync<JsonElement>("/api/alerts")).EnumerateArray().Where(a => a.GetProperty("alert").GetProperty("key").GetString() == key)
        .Select(a => (JsonElement?)a).FirstOrDefault();

    private static List<string> Irc(IrcWatcher w, params string[] all) => w.Texts("observe").Where(t => all.All(t.Contains)).ToList();

    private static List<string> Mails(SmtpSink s, params string[] all) => s.Messages().Where(m => all.All(m.Contains)).ToList();

    /// <summary>web2 dies: SOFT, then HARD and one IRC line and one mail; acknowledged from the CLI (check and alert); back: recovery on both.</summary>
    private static async Task Outage(HttpClient api, IrcWatcher watcher, SmtpSink smtp, Webhead web2, string configPath)
    {
        await Poll.UntilAsync(async () => (await Check(api, "web2/http")).GetProperty("state").GetString() == "ok", Step, "web2/http OK first");
        await web2.StopAsync();
        await Poll.UntilAsync(async () => (await Check(api, "web2/http")) is var c && c.GetProperty("state").GetString() == "critical" && c.GetProperty("stateType").GetString() == "hard",
            Step, "web2/http HARD CRITICAL");
        var events = await api.GetFromJsonAsync<JsonElement>("/api/checks/web2/http/events");
        var alerts = events.EnumerateArray().Where(e => e.GetProperty("kind").GetString() == "alert").ToList();
        Assert.Contains(alerts, e => e.GetProperty("stateType").GetString() == "soft" && e.GetProperty("text").GetString()!.Length > 0); // with the plugin output
        Assert.Contains(alerts, e => e.GetProperty("stateType").GetString() == "hard");
        await Poll.UntilAsync(() => Irc(watcher, "[FIRING]", "web2/http").Count >= 1 && Mails(smtp, "[FIRING] host=web2").Count >= 1, Step, "the IRC line and the mail");

        var ack = await Cli(configPath, "ack", "check/web2/http", "-m", "restarting it", "--author", "alice");
        Assert.True(ack.Exit == 0, $"observe ack exited {ack.Exit}: {ack.Stdout}");
        await Poll.UntilAsync(async () => (await Check(api, "web2/http")).TryGetProperty("acknowledgement", out _), Step, "the check acknowledged by observe ack");
        Assert.Equal("alice", (await Check(api, "web2/http")).GetProperty("acknowledgement").GetProperty("author").GetString());
        Assert.True((await Alert(api, "check/web2/http"))!.Value.TryGetProperty("acknowledgement", out _), "the alert is acknowledged");
        var table = (await Cli(configPath, "checks", "--problems")).Stdout;
        Assert.Matches(@"web2\s+http\s+CRITICAL\s+ACK", table);

        await web2.RestartAsync();
        await Poll.UntilAsync(() => Irc(watcher, "[RESOLVED]", "web2/http").Count >= 1 && Mails(smtp, "[RESOLVED] host=web2").Count >= 1, Step, "the recovery on IRC and mail");
        Assert.Equal("ok", (await Check(api, "web2/http")).GetProperty("state").GetString());
        Assert.Single(Irc(watcher, "[FIRING]", "web2/http"));
        Assert.Single(Mails(smtp, "[FIRING] host=web2"));
        Assert.Single(Irc(watcher, "[RESOLVED]", "web2/http"));
    }

    /// <summary>web3's health flips until lb1/pool flaps; then it stays healthy: flapping stops and the pool's alert is resolved.</summary>
    private static async Task Flapping(HttpClient api, Webhead web3)
    {
        using var web = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{web3.Port}") };
        async Task<string> PoolState() => (await Check(api, "lb1/pool")).GetProperty("state").GetString()!;
        await Poll.UntilAsync(async () => await PoolState() == "ok", Step, "lb1/pool OK before flapping");
        for (var i = 0; i < 12 && !(await Check(api, "lb1/pool")).GetProperty("isFlapping").GetBoolean(); i++)
        {
            await web.GetStringAsync("/sick");
            await Poll.UntilAsync(async () => await PoolState() == "warning", Step, "lb1/pool WARNING");
            await web.GetStringAsync("/well");
            await Poll.UntilAsync(async () => await PoolState() == "ok", Step, "lb1/pool OK");
        }
        Assert.True((await Check(api, "lb1/pool")).GetProperty("isFlapping").GetBoolean(), "lb1/pool flaps");
        await Poll.UntilAsync(async () => !(await Check(api, "lb1/pool")).GetProperty("isFlapping").GetBoolean(), TimeSpan.FromSeconds(60), "flapping to stop");
        var kinds = (await api.GetFromJsonAsync<JsonElement>("/api/checks/lb1/pool/events")).EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList();
        Assert.Contains("flappingStart", kinds);
        Assert.Contains("flappingStop", kinds);
        // Alerting ends with the check's real state: nothing firing for a healthy pool
        await Poll.UntilAsync(async () => await Alert(api, "check/lb1/pool") is not { } a || a.GetProperty("alert").GetProperty("status").GetString() != "firing",
            TimeSpan.FromSeconds(10), "the pool's alert resolved");
    }

    private async Task Deploys(HttpClient api, IrcWatcher watcher, SmtpSink smtp, string appDir, int httpPort, string observeCmd)
    {
        var good = await Deploy("v2", appDir, httpPort, observeCmd);
        Assert.True(good.ExitCode == 0, $"good deploy exited {good.ExitCode}: {good.Output}");
        Assert.Contains("verified; verdict pass", good.Output);

        var sw = Stopwatch.StartNew();
        var bad = await Deploy("v3-bad", appDir, httpPort, observeCmd);
        output.WriteLine($"bad deploy: {bad.Output} ({sw.Elapsed.TotalSeconds:0.0} s with the CLI)");
        Assert.True(bad.ExitCode == 1, $"bad deploy exited {bad.ExitCode}: {bad.Output}");
        Assert.Contains("rolled_back; verdict fail", bad.Output);
        Assert.Equal("v2", (await File.ReadAllTextAsync(Path.Combine(appDir, "version"))).Trim());
        var deploys = (await api.GetFromJsonAsync<JsonElement>("/api/deploys?service=shop&env=prod")).EnumerateArray().ToList();
        var d = deploys.Single(x => x.GetProperty("version").GetString() == "v3-bad");
        Assert.Equal("rolled_back", d.GetProperty("state").GetString());
        var took = d.GetProperty("endedAt").GetDateTimeOffset() - d.GetProperty("finishedAt").GetDateTimeOffset();
        output.WriteLine($"finish → rolled back: {took.TotalSeconds:0.0} s");
        Assert.True(took <= TimeSpan.FromSeconds(60), $"rolled back {took.TotalSeconds:0.0} s after finish");
        var errors = d.GetProperty("verification").GetProperty("slis").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "error_ratio");
        Assert.Equal(0, errors.GetProperty("baselineMedian").GetDouble()); // the counter did not exist before: zero errors
        Assert.False(errors.TryGetProperty("ratio", out _));              // no ratio to zero
        Assert.Contains("floor", errors.GetProperty("reason").GetString());
        var rollback = d.GetProperty("rollback");
        Assert.True(rollback.GetProperty("succeeded").GetBoolean(), rollback.ToString());
        // the rollback's own markers went past the lock the deploy script held, and are that rollback's
        var rb = deploys.Single(x => x.TryGetProperty("rollbackOf", out var of) && of.GetString() == d.GetProperty("id").GetString());
        Assert.Equal("v2", rb.GetProperty("version").GetString());
        Assert.Equal("rollback", rb.GetProperty("by").GetString());
        Assert.NotEqual("started", rb.GetProperty("state").GetString());
        var alertKey = $"deploy/shop/prod/{d.GetProperty("id").GetString()}";
        await Poll.UntilAsync(() => Irc(watcher, "[FIRING]", "(v3-bad) on prod was rolled back to v2").Count == 1 && Mails(smtp, "was rolled back to v2").Count == 1,
            Step, "the rollback on IRC and by mail (kind=alert, not an announcement)");
        Assert.NotEmpty(Irc(watcher, "[ANNOUNCE]", "(v3-bad) is being deployed to prod by ci"));
        Assert.Empty(Mails(smtp, "is being deployed")); // announcements go to IRC only (route kind=announcement)
        Assert.NotEmpty(Irc(watcher, "[ANNOUNCE]", "prod locked by ci"));
        Assert.Empty(Mails(smtp, "locked by ci"));

        var next = await Deploy("v4", appDir, httpPort, observeCmd);
        Assert.True(next.ExitCode == 0, $"next deploy exited {next.ExitCode}: {next.Output}");
        Assert.Contains("verified; verdict pass", next.Output);
        await Poll.UntilAsync(async () => await Alert(api, alertKey) is not { } a || a.GetProperty("alert").GetProperty("status").GetString() != "firing", Step, "the rollback alert resolved");
        await Poll.UntilAsync(() => Irc(watcher, "[RESOLVED]", "(v3-bad) on prod: resolved").Count == 1, Step, "the resolve on IRC");
    }

    /// <summary>Runs the shop's deploy script (bash + the real observe CLI).</summary>
    private static Task<(int ExitCode, string Output)> Deploy(string version, string appDir, int httpPort, string observeCmd) =>
        ObserveBinary.RunScriptAsync(Path.Combine(Scripts, "deploy.sh"), [version], $"http://127.0.0.1:{httpPort}",
            new Dictionary<string, string> { ["OBSERVE"] = observeCmd, ["APP_DIR"] = appDir }, TimeSpan.FromMinutes(3));

    /// <summary>The real `observe` CLI against the running one (its address from the config file).</summary>
    private static Task<(int Exit, string Stdout, string Stderr)> Cli(string configPath, params string[] args) =>
        ObserveBinary.RunToEndAsync([.. args, "--config", configPath]);

    private static Task<PeerProcess> StartNginx(string dir, int port, IEnumerable<int> upstreams) => NginxPeer.StartAsync(dir, port, $$"""
          upstream shop {
        {{string.Join("\n", upstreams.Select(p => $"    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;"))}}
          }
          server {
            listen 127.0.0.1:{{port}};
            location / { proxy_pass http://shop; proxy_next_upstream error timeout; proxy_connect_timeout 1s; }
          }
        """);

    /// <summary>Checks, alerting and deploys: the YAML after what <see cref="ObserveSetup"/> writes (ports, 1 s flushes into 1 s slots).</summary>
    private static string Config(int httpPort, NgircdServer irc, SmtpSink smtp, IReadOnlyList<Webhead> webheads, string appDir, string observeCmd) => $$"""
        checks:
          defaults: {checkInterval: 1s, retryInterval: 1s, maxCheckAttempts: 2, timeout: 2s, notificationInterval: 0}
          hosts:
        {{string.Join("\n", webheads.Select(w => $$"""
            - name: {{w.Name}}
              address: 127.0.0.1
              role: webhead
              checks:
                - {name: http, kind: http, url: /health, port: {{w.Port}}, expectBody: ok}
        """))}}
            - name: lb1
              role: loadbalancer
              checks:
                - name: pool
                  kind: pool
                  backendKind: http
                  url: /health
                  expectBody: ok
                  maxCheckAttempts: 1
                  minHealthyWarning: 3
                  minHealthyCritical: 1
                  backends:
        {{string.Join("\n", webheads.Select(w => $"            - {{name: {w.Name}, address: 127.0.0.1, port: {w.Port}}}"))}}
        alerting:
          route:
            receiver: ops
            groupBy: [host]
            groupWait: 0s
            groupInterval: 1s
            repeatInterval: 4h
            routes:
              - {receiver: chat, matchers: [kind=announcement]}
          receivers:
            - name: ops
              irc: {channel: "{{irc.Channel}}"}
              email: {to: [ops@example.com]}
            - name: chat
              irc: {channel: "{{irc.Channel}}"}
          irc: {server: 127.0.0.1, port: {{irc.Port}}, nick: observe, floodInterval: 200ms}
          smtp: {host: 127.0.0.1, port: {{smtp.Port}}, security: none, from: observe@example.com}
          delivery: {initialBackoff: 200ms, maxBackoff: 1s}
        deploys:
          window: 15s
          baseline: 30s
          evaluateInterval: 1s
          services:
            - name: shop
              autoRollback: true
              slis:
                - {name: error_ratio, target: "divideSeries(stats_counts.shop.errors, stats_counts.shop.requests)", maxRatio: 2, floor: 0.01}
                - {name: latency_p90, target: stats.timers.shop.latency.upper_90, maxRatio: 1.5}
              rollback:
                command: [/bin/bash, {{Scripts}}/rollback.sh]
                environment: {OBSERVE: "{{observeCmd}}", OBSERVE_URL: "http://127.0.0.1:{{httpPort}}", APP_DIR: "{{appDir}}"}
                timeout: 60s
        """;
}
