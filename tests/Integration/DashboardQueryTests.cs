using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Every query of every provisioned dashboard, run against the real `observe` binary fed a synthetic workload — fake
/// services sending StatsD (requests, errors, latency timers, a few bad lines), an http check against a local web server
/// (python http.server, also the alert webhook, which refuses POSTs), Nagios plugins as command checks (check_http, check_dummy), two good deploys marked through the API
/// (and one malformed marker) and a bad one marked with the `observe deploy` CLI that Observe rolls back — exactly as Grafana would send them:
/// variable queries through POST /metrics/find (chained variables substituted), each panel target through POST /render
/// wrapped in Grafana 10's aliasSub(…, "(^.*$)", "\1 A"), both with the dashboard's own time range as Unix seconds,
/// annotations through /events/get_data with the raw range (now-24h → -24h), and the data source's "Save & test".
/// </summary>
public class DashboardQueryTests(ITestOutputHelper output)
{
    private const int MaxValuesPerVariable = 3;

    [Fact]
    public async Task Every_panel_variable_and_annotation_query_answers_with_live_data()
    {
        var total = Stopwatch.StartNew();
        var dir = Repo.TempDir("dashboards");
        int graphitePort = FreePort.Get(), webPort = FreePort.Get(), deadCarbonPort = FreePort.Get(), beaconPort = FreePort.Get();
        var webRoot = Path.Combine(dir, "www");
        Directory.CreateDirectory(webRoot);
        await File.WriteAllTextAsync(Path.Combine(webRoot, "health.txt"), "ok\n");
        await File.WriteAllTextAsync(Path.Combine(webRoot, "stats.json"), "{\"requests\": 5, \"vm\": {\"memory\": 1024}}");
        var setup = new ObserveSetup(dir)
        {
            ClientTimeout = TimeSpan.FromSeconds(30),
            Config = s => $$"""
            http: {port: {{s.HttpPort}}}
            collector:
              statsd: {port: {{s.StatsdPort}}, flushInterval: 1000}
              graphite: {port: {{graphitePort}}, pickle: {port: 0} }
              beacons: {enabled: true, port: {{beaconPort}}}
            sinks:
              # a carbon nobody listens on: its disk spool's depth and age are on the Observe dashboard
              carbon: {enabled: true, host: 127.0.0.1, port: {{deadCarbonPort}}}
            storage:
              dataDir: {{dir}}/data
              schemas:
                - {name: all, pattern: ".*", retentions: "1s:2h,1m:2d"}
            checks:
              defaults: {checkInterval: 1s, retryInterval: 1s, maxCheckAttempts: 2, timeout: 5s}
              hosts:
                - name: web1
                  address: 127.0.0.1
                  checks:
                    - {name: http, kind: http, url: "http://127.0.0.1:{{webPort}}/health.txt", expectStatus: [200], expectBody: ok}
                    - {name: check_http, kind: command, command: [/usr/lib/nagios/plugins/check_http, -H, 127.0.0.1, -p, "{{webPort}}", -u, /health.txt]}
                - name: db1
                  address: 127.0.0.1
                  checks:
                    - {name: connections, kind: command, command: [/usr/lib/nagios/plugins/check_dummy, "1", "connections high | conns=15;10;20;0;100"]}
            scrape:
              # scrape health on the Observe dashboard: one target up, one down
              targets:
                - {job: web, instance: web1, url: "http://127.0.0.1:{{webPort}}/stats.json", interval: 1s, timeout: 900ms}
                - {job: web, instance: gone, url: "http://127.0.0.1:{{deadCarbonPort}}/stats", interval: 1s, timeout: 900ms}
            deploys:
              window: 6s
              baseline: 15s
              evaluateInterval: 1s
              minPoints: 3
              services:
                - name: shop
                  slis:
                    - {name: errors, target: stats_counts.shop.errors, maxRatio: 2}
                - name: search
                  slis:
                    - {name: errors, target: stats_counts.search.errors, maxRatio: 2}
                - name: cart
                  autoRollback: true
                  slis:
                    - {name: errors, target: stats_counts.cart.errors, maxRatio: 2}
                  rollback: {command: [/bin/true], timeout: 10s}
            alerting:
              route: {receiver: ops, groupWait: 0s}
              receivers:
                - name: ops
                  webhook: {url: "http://127.0.0.1:{{webPort}}/hook"}
              delivery: {maxAttempts: 1}
            logging: {level: warning}
            """,
        };
        int httpPort = setup.HttpPort, statsdPort = setup.StatsdPort;
        await using var web = PeerProcess.Start("/usr/bin/python3", ["-m", "http.server", $"{webPort}", "--bind", "127.0.0.1", "--directory", webRoot], dir, Path.Combine(dir, "web.log"));
        await using var observe = await ObserveProcess.StartAsync(setup);
        var api = observe.Client;
        using var stop = new CancellationTokenSource();
        var cartBroken = new Flag();
        Task? services = null;
        try
        {
            services = Task.Run(() => FakeServices(statsdPort, beaconPort, cartBroken, stop.Token));
            await SendGraphiteLinesAsync(graphitePort);

            // A baseline for the deploys' verification: the baseline window's worth of flushes of the services' errors.
            await Poll.UntilAsync(async () => (await RenderJson.PointsAsync(api, "stats_counts.cart.errors", Now() - 30)).Count >= 12,
                TimeSpan.FromSeconds(40), "a baseline of cart errors");

            // Deploy 1 through the HTTP API: shop v2, healthy (passes after the 6 s window).
            Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/api/deploys", new { @event = "start", service = "shop", env = "prod", version = "v2", by = "ci" })).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await api.PostAsJsonAsync("/api/deploys", new { @event = "finish", service = "shop", env = "prod", version = "v2", by = "ci" })).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/api/deploys", new { @event = "start", service = "search", env = "prod", version = "v31", by = "ci" })).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await api.PostAsJsonAsync("/api/deploys", new { @event = "finish", service = "search", env = "prod", version = "v31", by = "ci" })).StatusCode);
            // A malformed marker is refused and counted (deploys.rejected).
            Assert.Equal(HttpStatusCode.BadRequest, (await api.PostAsJsonAsync("/api/deploys", new { @event = "start", service = "shop", env = "prod", by = "ci" })).StatusCode);
            // Deploy 3 with the real CLI: cart v7, whose errors go up tenfold after it finished; Observe rolls it back.
            await DeployCliAsync("start", "cart", "v7", httpPort);
            await DeployCliAsync("finish", "cart", "v7", httpPort);
            cartBroken.Value = true;
            await Poll.UntilAsync(async () => await DeployState(api, "cart") == "rolled_back" && await DeployState(api, "shop") == "verified"
                                              && await DeployState(api, "search") == "verified",
                TimeSpan.FromSeconds(45), "cart rolled back, shop and search verified");
            // The verdict metrics and the self-metrics of a flush after everything happened.
            await Poll.UntilAsync(async () => (await RenderJson.PointsAsync(api, "deploys.shop.prod.time_to_verdict_seconds", Now() - 300)).Count > 0
                                              && (await RenderJson.PointsAsync(api, "observe.checks.count.warning", Now() - 300)).Values.Any(v => v >= 1),
                TimeSpan.FromSeconds(20), "verdict metrics and self-metrics stored");
            output.WriteLine($"workload ready after {total.Elapsed.TotalSeconds:0.0} s");

            // The self-metrics say what the workload did: ~30 packets/s (3 services × 10/s), some bad lines, the series stored.
            var since = Now() - 120;
            var packets = (await RenderJson.PointsAsync(api, "observe.statsd.packets_received_per_second", since)).Values.ToList();
            Assert.InRange(packets.Skip(2).Max(), 10, 60);
            Assert.Contains((await RenderJson.PointsAsync(api, "observe.statsd.bad_lines_per_second", since)).Values, v => v > 0);
            Assert.InRange((await RenderJson.PointsAsync(api, "observe.storage.series", since)).Values.Max(), 50, 5000);
            Assert.Contains((await RenderJson.PointsAsync(api, "observe.checks.runs_per_second", since)).Values, v => v >= 1);
            // The dead carbon: its flushes pile up in its disk spool, the oldest getting older.
            Assert.Contains((await RenderJson.PointsAsync(api, "observe.spool.carbon.records", since)).Values, v => v > 0);
            Assert.Contains((await RenderJson.PointsAsync(api, "observe.spool.carbon.oldest_age_seconds", since)).Values, v => v > 1);
            // The WARNING check's notification went to a webhook that answers 501 (python's http.server has no POST): counted as failed.
            await Poll.UntilAsync(async () => (await RenderJson.PointsAsync(api, "observe.notifications.failed_per_second", since)).Values.Any(v => v > 0),
                TimeSpan.FromSeconds(15), "the failed notification in observe.notifications.failed_per_second");

            // Grafana 10's "Save & test" of the data source: constantLine(100) over the last hour.
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            Assert.Null(await RenderProblemAsync(api, "constantLine(100)", "A", $"{now - 3600}", $"{now}"));

            var failures = new List<string>();
            int queries = 0;
            foreach (var (file, d) in GrafanaDashboards.Load())
            {
                // Grafana sends the parsed range (Unix seconds) to /render and /metrics/find, the raw one to /events/get_data.
                string rawFrom = d["time"]!["from"]!.GetValue<string>(), rawTo = d["time"]!["to"]!.GetValue<string>();
                var (fromSeconds, untilSeconds) = GrafanaDashboards.GraphiteRange(rawFrom, rawTo, DateTimeOffset.UtcNow);
                string from = $"{fromSeconds}", until = $"{untilSeconds}";
                string eventsFrom = GrafanaDashboards.GraphiteTime(rawFrom), eventsUntil = GrafanaDashboards.GraphiteTime(rawTo);
                var combinations = await VariableCombinationsAsync(api, file, d, from, until, failures);
                queries += combinations.Count;
                foreach (var vars in combinations)
                {
                    var label = vars.Count == 0 ? file : $"{file} [{string.Join(", ", vars.Select(kv => $"{kv.Key}={kv.Value}"))}]";
                    foreach (var panel in GrafanaDashboards.Panels(d).Where(p => p["targets"] is JsonArray))
                        foreach (var t in panel["targets"]!.AsArray())
                        {
                            var refId = t!["refId"]!.GetValue<string>();
                            var target = GrafanaDashboards.Substitute(t["target"]!.GetValue<string>(), vars);
                            queries++;
                            if (await RenderProblemAsync(api, target, refId, from, until) is { } problem)
                                failures.Add($"{label} panel '{panel["title"]}' {refId}: {target}: {problem}");
                        }
                    foreach (var a in GrafanaDashboards.Annotations(d))
                    {
                        var tags = string.Join(' ', a["target"]!["tags"]!.AsArray().Select(x => GrafanaDashboards.Substitute(x!.GetValue<string>(), vars)));
                        queries++;
                        if (await EventsProblemAsync(api, tags, eventsFrom, eventsUntil) is { } problem) failures.Add($"{label} annotation '{a["name"]}' tags '{tags}': {problem}");
                    }
                }
            }
            output.WriteLine($"{queries} queries in {total.Elapsed.TotalSeconds:0.0} s in all");
            Assert.True(failures.Count == 0, $"{failures.Count} queries failed:\n" + string.Join("\n", failures));
        }
        catch
        {
            output.WriteLine(observe.Log());
            throw;
        }
        finally
        {
            await stop.CancelAsync();
            if (services != null) await services;
        }
    }

    /// <summary>Every combination of variable values as Grafana would offer them: each variable's /metrics/find with the earlier ones substituted, the first few values each, plus the "All" glob of a multi-value variable.</summary>
    private static async Task<List<Dictionary<string, string>>> VariableCombinationsAsync(HttpClient api, string file, JsonObject d, string from, string until, List<string> failures)
    {
        var combos = new List<Dictionary<string, string>> { new() };
        foreach (var v in GrafanaDashboards.Variables(d))
        {
            var name = v["name"]!.GetValue<string>();
            var next = new List<Dictionary<string, string>>();
            foreach (var combo in combos)
            {
                var query = GrafanaDashboards.Substitute(GrafanaDashboards.VariableQuery(v), combo);
                // As Grafana 10 asks: POST with the query in the form, the range in the query string.
                var resp = await api.PostAsync($"/metrics/find?from={from}&until={until}", new FormUrlEncodedContent([new("query", query)]));
                if (resp.StatusCode != HttpStatusCode.OK) { failures.Add($"{file} variable {name}: /metrics/find {query}: {(int)resp.StatusCode} {await resp.Content.ReadAsStringAsync()}"); continue; }
                var found = (await resp.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().Select(n => n.GetProperty("text").GetString()!)
                    .Select(text => GrafanaDashboards.ApplyVariableRegex(v, text)).OfType<string>().Distinct().ToList();
                if (found.Count == 0) { failures.Add($"{file} variable {name}: /metrics/find {query} found nothing"); continue; }
                var values = found.Take(MaxValuesPerVariable).ToList();
                if (v["multi"]?.GetValue<bool>() == true && found.Count > 1) values.Add("{" + string.Join(',', found) + "}");
                foreach (var value in values) next.Add(new Dictionary<string, string>(combo) { [name] = value });
            }
            combos = next;
        }
        return combos;
    }

    /// <summary>Null when the target, sent as Grafana 10 sends it, answers 200 with at least one series that has a value.</summary>
    private static async Task<string?> RenderProblemAsync(HttpClient api, string target, string refId, string from, string until)
    {
        var form = new FormUrlEncodedContent([
            new("target", $"aliasSub({target}, \"(^.*$)\", \"\\1 {refId}\")"), new("from", from), new("until", until),
            new("format", "json"), new("maxDataPoints", "960")]);
        var resp = await api.PostAsync("/render", form);
        var body = await resp.Content.ReadAsStringAsync();
        if (resp.StatusCode != HttpStatusCode.OK) return $"{(int)resp.StatusCode} {body}";
        var series = RenderJson.Series(JsonDocument.Parse(body).RootElement).ToList();
        if (series.Count == 0) return "no series";
        // Grafana takes the refId back from the end of each series name.
        if (series.FirstOrDefault(s => !s.Target.EndsWith(" " + refId, StringComparison.Ordinal)) is { Target: { } bad })
            return $"series '{bad}' does not end with its refId";
        return series.Any(s => s.Points.Count > 0)
            ? null : $"{series.Count} series, all empty";
    }

    private static async Task<string?> EventsProblemAsync(HttpClient api, string tags, string from, string until)
    {
        var resp = await api.GetAsync($"/events/get_data?from={Uri.EscapeDataString(from)}&until={Uri.EscapeDataString(until)}&tags={Uri.EscapeDataString(tags)}");
        if (resp.StatusCode != HttpStatusCode.OK) return $"{(int)resp.StatusCode} {await resp.Content.ReadAsStringAsync()}";
        var events = (await resp.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ToList();
        if (events.Count == 0) return "no events";
        var wanted = tags.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        foreach (var e in events)
        {
            var have = e.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).ToList();
            if (!wanted.All(have.Contains)) return $"event '{e.GetProperty("what")}' lacks a tag of '{tags}'";
            if (e.GetProperty("what").GetString() is not { Length: > 0 } || e.GetProperty("when").GetDouble() <= 0) return "event without what/when";
        }
        return null;
    }

    /// <summary>Three services at ~10 requests a second each: requests, errors (2 a second; cart 20 once broken), a latency timer; now and then a bad line;
    /// browsers' page-load beacons for two page groups (and a crawler's, dropped) on the beacon port.</summary>
    private static async Task FakeServices(int statsdPort, int beaconPort, Flag cartBroken, CancellationToken ct)
    {
        using var browsers = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{beaconPort}") };
        using var udp = new UdpClient();
        udp.Connect(IPAddress.Loopback, statsdPort);
        var rnd = new Random(7);
        for (var tick = 0; !ct.IsCancellationRequested; tick++)
        {
            foreach (var svc in new[] { "shop", "cart", "search" })
            {
                var errors = svc == "cart" && cartBroken.Value ? 2 : tick % 5 == 0 ? 1 : 0;
                var lines = $"{svc}.requests:1|c\n{svc}.latency:{40 + rnd.Next(60)}|ms" + (errors > 0 ? $"\n{svc}.errors:{errors}|c" : "");
                await udp.SendAsync(Encoding.ASCII.GetBytes(lines), ct);
            }
            if (tick % 20 == 0) await udp.SendAsync("not a statsd line"u8.ToArray(), ct);
            if (tick % 5 == 0)
                foreach (var (group, ua) in new[] { ("checkout", "Mozilla/5.0 Chrome/120.0"), ("product", "Mozilla/5.0 Firefox/121.0"), ("product", "Googlebot/2.1") })
                {
                    var nav = 1_700_000_000_000L + tick;
                    using var beacon = new HttpRequestMessage(HttpMethod.Get, $"/beacon?h.pg={group}&t_done={800 + rnd.Next(900)}&nt_nav_st={nav}&nt_res_st={nav + 50 + rnd.Next(200)}");
                    beacon.Headers.TryAddWithoutValidation("User-Agent", ua);
                    try { (await browsers.SendAsync(beacon, ct)).Dispose(); } catch (OperationCanceledException) { return; }
                }
            try { await Task.Delay(100, ct); } catch (OperationCanceledException) { return; }
        }
    }

    private static async Task SendGraphiteLinesAsync(int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"collectd.web1.load.shortterm 0.5 {Now()}\n"));
    }

    private async Task DeployCliAsync(string ev, string service, string version, int httpPort)
    {
        var (exit, stdout, stderr) = await ObserveBinary.RunToEndAsync(
            ["deploy", ev, "--service", service, "--env", "prod", "--version", version, "--by", "ci", "--url", $"http://127.0.0.1:{httpPort}"]);
        output.WriteLine($"observe deploy {ev} {service}: exit {exit}: {stdout}{stderr}");
        Assert.Equal(0, exit);
    }

    private static async Task<string?> DeployState(HttpClient api, string service)
    {
        var list = await api.GetFromJsonAsync<JsonElement>($"/api/deploys?service={service}&env=prod");
        return list.EnumerateArray().Select(d => d.GetProperty("state").GetString()).FirstOrDefault();
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private sealed class Flag { public volatile bool Value; }
}
