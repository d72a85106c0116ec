using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// The real `observe` process receives logs every way a shop sends them — GELF datagrams exactly as Docker's gelf driver
/// writes them (gzip and zlib, chunked, chunks out of order, one message missing a chunk), GELF over TCP, the npm GELF
/// client gelf-pro over UDP (zlib, chunked) and TCP, UDP JSON lines, HTTP NDJSON and arrays — and every one is searched
/// back through GET /api/logs; the per-service error counts are read back through /render.
/// </summary>
public class LogsEndToEndTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Logs_from_docker_gelf_gelf_pro_udp_json_and_http_are_searchable_and_counted()
    {
        var dir = Repo.TempDir("logs-e2e");
        int statsd = FreePort.Get(), udpJson = FreePort.Get(), gelf = FreePort.Get();
        // 1 s flushes into a 1 s archive for logs.*: every interval's count has its own slot.
        await using var observe = await ObserveProcess.StartAsync(new ObserveSetup(dir)
        {
            Environment = new Dictionary<string, string>
            {
                ["OBSERVE__Logs__Udp__Port"] = $"{udpJson}", ["OBSERVE__Logs__Gelf__Port"] = $"{gelf}",
            },
            Config = s => $$"""
            http: {port: {{s.HttpPort}}, maxRequestBodyBytes: 65536}
            collector:
              statsd: {port: {{statsd}}, flushInterval: 1000, flushOnStop: immediate}
              graphite: {enabled: false}
            logs:
              udp: {port: {{udpJson}}}
              gelf: {port: {{gelf}}, chunkTimeoutMs: 1000}
            storage:
              dataDir: {{dir}}/data
              schemas:
                - {name: logs, pattern: "^logs\\.", retentions: "1s:1h"}
                - {name: all, pattern: ".*", retentions: "10s:1d"}
            """,
        });
        var client = observe.Client;
        var start = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 2;
        var run = Guid.NewGuid().ToString("N")[..8];
        var noise = Convert.ToHexString(RandomNumberGenerator.GetBytes(4000)); // incompressible: several chunks even gzipped

        using var udp = new UdpClient();
        udp.Connect("127.0.0.1", gelf);
        byte[] Docker(string message, int level, string container, string compression) => GelfWire.Compress(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(
            new Dictionary<string, object>
            {
                ["version"] = "1.1", ["host"] = "docker-host", ["short_message"] = message, ["timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0,
                ["level"] = level, ["_container_name"] = container, ["_container_id"] = "4e7f0c", ["_image_name"] = "shop/" + container, ["_noise"] = noise,
            })), compression);

        // Docker gzip (its default), chunks sent last to first.
        var gzipChunks = GelfWire.Datagrams(Docker($"docker gzip {run}", 3, "checkout", "gzip"));
        Assert.True(gzipChunks.Count > 2, $"{gzipChunks.Count} chunks");
        foreach (var d in Enumerable.Reverse(gzipChunks)) await udp.SendAsync(d);
        // Docker zlib, chunks interleaved with a message that never completes (its second chunk is lost).
        var zlibChunks = GelfWire.Datagrams(Docker($"docker zlib {run}", 3, "checkout", "zlib"));
        var lost = GelfWire.Datagrams(Docker($"lost chunk {run}", 3, "checkout", "gzip"));
        foreach (var d in zlibChunks.Where((_, i) => i % 2 == 1).Concat(lost.Where((_, i) => i != 1)).Concat(zlibChunks.Where((_, i) => i % 2 == 0)))
            await udp.SendAsync(d);
        // Docker uncompressed, small: one datagram.
        await udp.SendAsync(GelfWire.Compress(Encoding.UTF8.GetBytes($$"""{"version":"1.1","host":"docker-host","short_message":"docker plain {{run}}","level":6,"_container_name":"cart"}"""), "none"));
        // GELF over TCP: NUL-delimited, two messages on one connection.
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync("127.0.0.1", gelf);
            await tcp.GetStream().WriteAsync(Encoding.UTF8.GetBytes(
                $$"""{"version":"1.1","host":"h","short_message":"gelf tcp one {{run}}","level":4,"_service":"worker"}""" + "\0" +
                $$"""{"version":"1.1","host":"h","short_message":"gelf tcp two {{run}}","level":7,"_service":"worker"}""" + "\0"));
        }
        // UDP JSON line.
        using (var json = new UdpClient())
        {
            json.Connect("127.0.0.1", udpJson);
            await json.SendAsync(Encoding.UTF8.GetBytes($$"""{"@t":"{{DateTime.UtcNow:O}}","@l":"Error","@m":"udp json {{run}}","service":"api","host":"web1","RequestId":"r-1"}""" + "\n"));
            await json.SendAsync("{not json"u8.ToArray());
        }
        // HTTP: NDJSON with a bad line (partial acceptance, the line named), then an array.
        var nd = await client.PostAsync("/api/logs", new StringContent(
            $$"""{"msg":"http ndjson one {{run}}","level":"warn","app":"api"}""" + "\nnot json\n" + $$"""{"message":"http ndjson two {{run}}","service":"api","level":"error"}""" + "\n"));
        var ndBody = await nd.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(400, (int)nd.StatusCode);
        Assert.StartsWith("line 2: invalid JSON", ndBody.GetProperty("error").GetString());
        Assert.Equal(2, ndBody.GetProperty("accepted").GetInt32());
        var array = await client.PostAsync("/api/logs", new StringContent($$"""[{"message":"http array {{run}}","service":"api","level":"error","timestamp":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}}}]"""));
        Assert.Equal(202, (int)array.StatusCode);
        // Over the host's body limit: 413 with the reason, nothing of it stored.
        var huge = await client.PostAsync("/api/logs", new StringContent(string.Concat(Enumerable.Repeat($"{{\"msg\":\"too big {run}\"}}\n", 4000))));
        Assert.Equal(413, (int)huge.StatusCode);
        // The npm GELF client gelf-pro: UDP (zlib, chunked by its own 1388-byte rule) and TCP.
        await GelfPro(output, "udp", gelf, $"gelf-pro udp {run}", $"{{ noise: {JsonSerializer.Serialize(noise)} }}");
        await GelfPro(output, "tcp", gelf, $"gelf-pro tcp {run}", "{ noise: 'short' }");

        string[] expected =
        [
            $"docker gzip {run}", $"docker zlib {run}", $"docker plain {run}", $"gelf tcp one {run}", $"gelf tcp two {run}", $"udp json {run}",
            $"http ndjson one {run}", $"http ndjson two {run}", $"http array {run}", $"gelf-pro udp {run}", $"gelf-pro tcp {run}",
        ];
        JsonElement found = default;
        await Poll.UntilAsync(async () =>
        {
            found = await client.GetFromJsonAsync<JsonElement>($"/api/logs?q={run}&limit=100");
            return found.GetProperty("count").GetInt32() >= expected.Length;
        }, TimeSpan.FromSeconds(20), "every log searchable");
        var logs = found.GetProperty("logs").EnumerateArray().ToDictionary(l => l.GetProperty("message").GetString()!);
        output.WriteLine(string.Join("\n", logs.Keys));
        Assert.Equal(expected.Order(), logs.Keys.Order());
        var gz = logs[$"docker gzip {run}"];
        Assert.Equal(("error", "docker-host", "checkout"), (gz.GetProperty("level").GetString(), gz.GetProperty("host").GetString(), gz.GetProperty("service").GetString()));
        Assert.Equal("shop/checkout", gz.GetProperty("fields").GetProperty("image_name").GetString());
        Assert.Equal(noise, gz.GetProperty("fields").GetProperty("noise").GetString());
        Assert.Equal(("warn", "worker"), (logs[$"gelf tcp one {run}"].GetProperty("level").GetString(), logs[$"gelf tcp one {run}"].GetProperty("service").GetString()));
        Assert.Equal("debug", logs[$"gelf tcp two {run}"].GetProperty("level").GetString());
        Assert.Equal(("error", "web1", "r-1"), (logs[$"udp json {run}"].GetProperty("level").GetString(), logs[$"udp json {run}"].GetProperty("host").GetString(),
            logs[$"udp json {run}"].GetProperty("fields").GetProperty("RequestId").GetString()));
        Assert.Equal(("error", "nodeapp"), (logs[$"gelf-pro udp {run}"].GetProperty("level").GetString(), logs[$"gelf-pro udp {run}"].GetProperty("service").GetString()));
        Assert.Equal(noise, logs[$"gelf-pro udp {run}"].GetProperty("fields").GetProperty("noise").GetString());
        // Filters and the newest-first order through the HTTP API.
        var errorsOfApi = await client.GetFromJsonAsync<JsonElement>($"/api/logs?q={run}&service=api&level=error&from=-5min&until=now");
        Assert.Equal([$"http array {run}", $"http ndjson two {run}", $"udp json {run}"], errorsOfApi.GetProperty("logs").EnumerateArray().Select(l => l.GetProperty("message").GetString()));
        var bad = await client.GetAsync("/api/logs?q=%22unterminated");
        Assert.Equal(400, (int)bad.StatusCode);
        Assert.StartsWith("q: ", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());

        // The message with a lost chunk is dropped and counted once the 1 s chunk timeout has passed; bad input is counted.
        await Poll.UntilAsync(async () => (await LogStats(client)).GetProperty("rejected").GetProperty("chunk_timeout").GetInt64() == 1,
            TimeSpan.FromSeconds(10), "the incomplete GELF message counted");
        var stats = await LogStats(client);
        Assert.Equal(2, stats.GetProperty("rejected").GetProperty("invalid_json").GetInt64()); // the UDP one and the HTTP line
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>($"/api/logs?q=lost")).GetProperty("logs").EnumerateArray());
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>($"/api/logs?q=big")).GetProperty("logs").EnumerateArray());
        Assert.Equal(0, stats.GetProperty("sinks")[0].GetProperty("writeFailures").GetInt64());
        var prometheus = await client.GetStringAsync("/metrics");
        Assert.Contains("observe_logs_rejected_total{reason=\"chunk_timeout\"} 1", prometheus);
        Assert.Contains("observe_logs_accepted_total{source=\"gelf_udp\"} 4", prometheus); // gzip, zlib, plain, gelf-pro udp

        // logs.<service>.<level> counters through the metric sinks into the store, read back with /render.
        foreach (var (target, count) in new[] { ("logs.checkout.error", 2.0), ("logs.api.error", 3.0), ("logs.worker.warn", 1.0), ("logs.nodeapp.error", 2.0) })
            await Poll.UntilAsync(async () => (await RenderJson.PointsAsync(client, target, start)).Values.Sum() == count, TimeSpan.FromSeconds(15), $"{target} = {count}");

        Assert.True(await observe.Process.TerminateAsync(TimeSpan.FromSeconds(20)), "observe did not stop on SIGTERM");
        Assert.DoesNotContain("did not drain", observe.Log());
    }

    private static async Task<JsonElement> LogStats(HttpClient client) =>
        (await client.GetFromJsonAsync<JsonElement>("/stats")).GetProperty("logs");

    /// <summary>Sends one error-level message with <paramref name="fieldsJs"/> (a JavaScript object literal) through the npm GELF client gelf-pro.</summary>
    internal static async Task GelfPro(ITestOutputHelper output, string adapter, int port, string message, string fieldsJs, string service = "nodeapp")
    {
        var dir = Repo.TempDir("gelf-pro");
        var script = Path.Combine(dir, "send.js");
        await File.WriteAllTextAsync(script, $$"""
            const log = require({{JsonSerializer.Serialize(Path.Combine(Repo.NodeModules, "gelf-pro"))}});
            log.setConfig({ fields: { service: {{JsonSerializer.Serialize(service)}} }, adapterName: '{{adapter}}', adapterOptions: { host: '127.0.0.1', port: {{port}} } });
            log.error({{JsonSerializer.Serialize(message)}}, {{fieldsJs}}, (err, bytes) => {
              if (err) { console.error(err); process.exit(1); }
              console.log('sent ' + bytes + ' bytes');
            });
            """);
        var psi = new ProcessStartInfo("node", script) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await p.WaitForExitAsync(cts.Token);
        output.WriteLine($"gelf-pro {adapter}: {await stdout}");
        Assert.True(p.ExitCode == 0, $"node exited {p.ExitCode}: {await stderr}");
    }
}
