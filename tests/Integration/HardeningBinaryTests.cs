using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Issue 15 findings 1, 2 and 5 with their exact probes against the real `observe` process: 50 000 nested
/// sumSeries and a 40 000-long pipe chain (both ended it with a stack overflow), the backtracking glob after a long
/// StatsD key (froze the store), summarize/hitcount at 1 s over 5 years (10–17 GB). Each is a quick 400 (the glob a
/// quick 200), the process stays up and keeps serving, its peak RSS stays under 512 MB (151 MB measured), and the refusals are counted (on /metrics and as observe.limit_hits.* series).
/// One process for all probes: ~10 s.
/// </summary>
public class HardeningBinaryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Hostile_render_and_find_requests_get_quick_answers_and_the_process_stays_small_and_alive()
    {
        var dir = Repo.TempDir("harden");
        int statsd = FreePort.Get(), graphite = FreePort.Get();
        await using var observe = await ObserveProcess.StartAsync(new ObserveSetup(dir)
        {
            ClientTimeout = TimeSpan.FromSeconds(60),
            Config = s => $$"""
            http: {port: {{s.HttpPort}}}
            collector:
              statsd: {port: {{statsd}}, flushInterval: 1000}
              graphite: {port: {{graphite}}, pickle: {port: 0} }
            storage:
              dataDir: {{dir}}/data
              schemas:
                - {name: all, pattern: ".*", retentions: "1s:2h,1m:7d,10m:5y"}
            logging: {level: warning}
            """,
        });
        var client = observe.Client;
        try
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            using (var tcp = new TcpClient())
            {
                await tcp.ConnectAsync(IPAddress.Loopback, graphite);
                var lines = string.Concat(Enumerable.Range(0, 3).Select(h => $"hist.host{h}.cpu {h} {now - 600}\n"));
                await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(lines));
            }
            var longKey = "x." + new string('a', 60);
            using (var udp = new UdpClient())
                await udp.SendAsync(Encoding.ASCII.GetBytes(longKey + ":1|c"), new IPEndPoint(IPAddress.Loopback, statsd));
            await Poll.UntilAsync(async () =>
                (await client.GetStringAsync("/metrics/find?query=stats_counts.x.*")).Contains("aaaa") &&
                (await client.GetStringAsync("/metrics/find?query=hist.*")).Contains("host2"), TimeSpan.FromSeconds(20), "the series stored");

            async Task Probe(string what, Func<Task<HttpResponseMessage>> send, HttpStatusCode expected, string? says)
            {
                var sw = Stopwatch.StartNew();
                using var res = await send();
                var body = await res.Content.ReadAsStringAsync();
                output.WriteLine($"{what}: {(int)res.StatusCode} in {sw.ElapsedMilliseconds} ms: {body[..Math.Min(body.Length, 160)]}");
                Assert.Equal(expected, res.StatusCode);
                if (says != null) Assert.Contains(says, body);
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"{what} took {sw.Elapsed}");
                Assert.Equal("ok\n", await client.GetStringAsync("/health"));
            }

            var nested = string.Concat(Enumerable.Repeat("sumSeries(", 50_000)) + "hist.host0.cpu" + new string(')', 50_000);
            await Probe("50 000 nested sumSeries", () => client.PostAsync("/render", new FormUrlEncodedContent([new("target", nested), new("format", "json")])),
                HttpStatusCode.BadRequest, "storage.render.maxDepth");
            var piped = "hist.host0.cpu" + string.Concat(Enumerable.Repeat("|scale(1)", 40_000));
            await Probe("40 000 piped scale(1)", () => client.PostAsync("/render", new FormUrlEncodedContent([new("target", piped), new("format", "json")])),
                HttpStatusCode.BadRequest, "storage.render.maxDepth");
            await Probe("backtracking glob", () => client.GetAsync("/metrics/find?query=stats_counts.x.*a*a*a*a*a*a*a*a*a*a*b"), HttpStatusCode.OK, null);
            await Probe("summarize 1s over 5y", () => client.GetAsync("/render?target=summarize(hist.*.cpu,%221s%22,%22sum%22)&from=-5y&format=json"),
                HttpStatusCode.BadRequest, "storage.render.maxPointsProduced");
            await Probe("hitcount 1s over 5y", () => client.GetAsync("/render?target=hitcount(hist.*.cpu,%221s%22)&from=-5y&format=json"),
                HttpStatusCode.BadRequest, "storage.render.maxPointsProduced");
            await Probe("summarize 1d over 5y", () => client.GetAsync("/render?target=summarize(hist.*.cpu,%221d%22,%22sum%22)&from=-5y&format=json"),
                HttpStatusCode.OK, "summarize(hist.host0.cpu");

            var metrics = await client.GetStringAsync("/metrics");
            Assert.Contains("observe_limit_hits_total{limit=\"storage.render.maxDepth\"} 2", metrics);
            Assert.Contains("observe_limit_hits_total{limit=\"storage.render.maxPointsProduced\"} 2", metrics);
            Assert.Contains("\"storage.render.maxDepth\": 2", await client.GetStringAsync("/stats"));
            // The same counters as observe.* series (one list feeds both): a dashboard graphs the refusals through /render.
            // A 1 s archive keeps each 1 s flush's rate in its own slot.
            foreach (var limit in new[] { "storage_render_maxDepth", "storage_render_maxPointsProduced" })
                await Poll.UntilAsync(async () => (await RenderJson.PointsAsync(client, $"observe.limit_hits.{limit}_per_second", now - 120)).Values.Sum() >= 2,
                    TimeSpan.FromSeconds(20), $"observe.limit_hits.{limit}_per_second adds up to the 2 refusals");

            // Peak resident memory over the whole run (the probes once took it to 4–17 GB).
            var status = await File.ReadAllLinesAsync($"/proc/{observe.Process.Pid}/status");
            var peakKb = long.Parse(status.Single(l => l.StartsWith("VmHWM:")).Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1]);
            output.WriteLine($"peak RSS {peakKb / 1024} MB");
            Assert.True(peakKb < 512 * 1024, $"peak RSS {peakKb / 1024} MB");
            Assert.False(observe.Process.HasExited);
        }
        finally
        {
            output.WriteLine(observe.Log());
        }
    }
}
