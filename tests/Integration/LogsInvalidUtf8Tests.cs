using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Issue 15 finding 8: a log message with invalid UTF-8 (<c>{"message":"bad \xff"}</c>) on every log path of the real
/// binary. Each is rejected and counted as <c>invalid_utf8</c> without a stack trace in the log; GELF over TCP keeps the
/// connection and the messages after the bad one; <c>POST /api/logs</c> answers 400 naming the bad line and keeps the good ones.
/// </summary>
public class LogsInvalidUtf8Tests(ITestOutputHelper output)
{
    private static byte[] Bad(string prefix) => [.. Encoding.UTF8.GetBytes($$"""{"{{prefix}}":"bad """), 0xff, .. "\"}"u8];

    [Fact]
    public async Task Invalid_utf8_is_rejected_and_counted_on_every_log_path_and_the_good_messages_around_it_are_kept()
    {
        var dir = Repo.TempDir("logs-utf8");
        int statsd = FreePort.Get(), udpJson = FreePort.Get(), gelf = FreePort.Get();
        await using var observe = await ObserveProcess.StartAsync(new ObserveSetup(dir)
        {
            Environment = new Dictionary<string, string>
            {
                ["OBSERVE__Logs__Udp__Port"] = $"{udpJson}", ["OBSERVE__Logs__Gelf__Port"] = $"{gelf}",
            },
            Config = s => $$"""
            http: {port: {{s.HttpPort}}}
            collector:
              statsd: {port: {{statsd}}, flushOnStop: immediate}
              graphite: {enabled: false}
            logs:
              udp: {port: {{udpJson}}}
              gelf: {port: {{gelf}}}
            storage: {dataDir: {{dir}}/data}
            """,
        });
        var client = observe.Client;
        var run = Guid.NewGuid().ToString("N")[..8];
        try
        {
            using (var udp = new UdpClient())
            {
                await udp.SendAsync(Bad("message"), new IPEndPoint(IPAddress.Loopback, udpJson));
                await udp.SendAsync(GelfWire.Compress(Bad("short_message"), "none"), new IPEndPoint(IPAddress.Loopback, gelf));
            }
            // GELF TCP: good, bad, good on one connection; then, once those are in, one more on the same connection.
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, gelf);
            var stream = tcp.GetStream();
            await stream.WriteAsync((byte[])[.. Encoding.UTF8.GetBytes($$"""{"short_message":"tcp one {{run}}"}"""), 0, .. Bad("short_message"), 0,
                .. Encoding.UTF8.GetBytes($$"""{"short_message":"tcp two {{run}}"}"""), 0]);
            await Poll.UntilAsync(async () => await Count(client, $"tcp {run}") == 2, TimeSpan.FromSeconds(20), "the two good GELF TCP messages");
            await stream.WriteAsync((byte[])[.. Encoding.UTF8.GetBytes($$"""{"short_message":"tcp three {{run}}"}"""), 0]);
            await Poll.UntilAsync(async () => await Count(client, $"tcp {run}") == 3, TimeSpan.FromSeconds(20), "a later message on the same GELF TCP connection");

            // HTTP: three NDJSON lines, the second bad.
            using var res = await client.PostAsync("/api/logs", new ByteArrayContent([.. Encoding.UTF8.GetBytes($$"""{"message":"http one {{run}}"}""" + "\n"),
                .. Bad("message"), (byte)'\n', .. Encoding.UTF8.GetBytes($$"""{"message":"http three {{run}}"}""" + "\n")]));
            var body = await res.Content.ReadAsStringAsync();
            output.WriteLine(body);
            Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
            var answer = JsonDocument.Parse(body).RootElement;
            Assert.Equal((2, 1), (answer.GetProperty("accepted").GetInt32(), answer.GetProperty("rejected").GetInt32()));
            var error = Assert.Single(answer.GetProperty("errors").EnumerateArray());
            Assert.Equal(2, error.GetProperty("line").GetInt32());
            Assert.Contains("invalid UTF-8 at byte", error.GetProperty("error").GetString());
            await Poll.UntilAsync(async () => await Count(client, $"http {run}") == 2, TimeSpan.FromSeconds(20), "both good HTTP lines stored");

            // Every bad message counted (UDP JSON, GELF UDP, GELF TCP, HTTP); no stack trace in Observe's log.
            await Poll.UntilAsync(async () => (await client.GetFromJsonAsync<JsonElement>("/stats")).GetProperty("logs").GetProperty("rejected")
                .TryGetProperty("invalid_utf8", out var n) && n.GetInt64() == 4, TimeSpan.FromSeconds(20), "four invalid_utf8 rejections");
            var log = observe.Log();
            Assert.DoesNotContain("Exception", log);
            Assert.DoesNotContain(" ERR ", log);
        }
        finally { output.WriteLine(observe.Log()); }
    }

    private static async Task<int> Count(HttpClient client, string words) =>
        (await client.GetFromJsonAsync<JsonElement>($"/api/logs?q={Uri.EscapeDataString(words)}&limit=100")).GetProperty("logs").GetArrayLength();
}
