using System.Net;
using System.Text;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>Issue 15 finding 12, against the real binary: a second Observe on the same ports fails clearly instead of
/// sharing them through SO_REUSEPORT; a burst of bad tokens is counted, not logged line by line.</summary>
public class SecondInstanceAndAuthLogTests(ITestOutputHelper output)
{
    /// <summary>Observe <paramref name="name"/> in its own directory under <paramref name="dir"/>, on the StatsD port of the setup
    /// (free unless given) and the Graphite port <paramref name="graphite"/>.</summary>
    private static ObserveSetup Setup(string dir, string name, int graphite, int? statsd = null) =>
        new(Path.Combine(dir, name)) { StatsdPort = statsd ?? FreePort.Get(), ClientTimeout = TimeSpan.FromSeconds(5), Config = s => Yaml(dir, name, s.HttpPort, s.StatsdPort, graphite) };

    private static string Yaml(string dir, string name, int http, int statsd, int graphite, string extra = "") => $$"""
        http: {port: {{http}}}
        collector:
          statsd: {port: {{statsd}}, flushOnStop: immediate}
          graphite: {port: {{graphite}}, pickle: {port: 0} }
        storage: {dataDir: {{dir}}/{{name}}-data}
        {{extra}}
        """;

    [Fact]
    public async Task A_second_observe_on_the_same_statsd_or_graphite_port_exits_naming_the_port()
    {
        var dir = Repo.TempDir("second");
        var graphite = FreePort.Get();
        await using var first = await ObserveProcess.StartAsync(Setup(dir, "first", graphite), "first.log");
        var statsd = first.Setup.StatsdPort;

        // Same StatsD port (UDP and TCP), everything else its own.
        await using (var second = await ObserveProcess.LaunchAsync(Setup(dir, "second", FreePort.Get(), statsd), "second.log"))
        {
            await Poll.UntilAsync(() => second.Process.HasExited, TimeSpan.FromSeconds(30), "the second observe to give up on the taken StatsD port");
            output.WriteLine(second.Log());
            Assert.Equal(1, second.Process.ExitCode);
            Assert.Contains($"cannot start: statsd cannot listen on udp 127.0.0.1:{statsd}: Address already in use (another process holds it", second.Log());
        }
        // Same Graphite port only.
        await using (var third = await ObserveProcess.LaunchAsync(Setup(dir, "third", graphite), "third.log"))
        {
            await Poll.UntilAsync(() => third.Process.HasExited, TimeSpan.FromSeconds(30), "the third observe to give up on the taken Graphite port");
            output.WriteLine(third.Log());
            Assert.Equal(1, third.Process.ExitCode);
            Assert.Contains($"cannot start: graphite cannot listen on tcp 127.0.0.1:{graphite}: Address already in use (another process holds it", third.Log());
        }
        Assert.False(first.Process.HasExited, "the first observe stopped");
    }

    [Fact]
    public async Task A_hundred_bad_tokens_are_counted_and_logged_once()
    {
        var dir = Repo.TempDir("authlog");
        await using var observe = await ObserveProcess.StartAsync(new ObserveSetup(dir)
        {
            ClientTimeout = TimeSpan.FromSeconds(5),
            Config = s => Yaml(dir, "auth", s.HttpPort, FreePort.Get(), FreePort.Get(), """
                auth:
                  tokens:
                    - {name: ci, token: a-long-enough-secret-0123456789, scopes: [admin]}
                """),
        });
        var client = observe.Client;
        for (var i = 0; i < 100; i++)
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, "/events/") { Content = new StringContent("""{"what":"x","tags":"t"}""", Encoding.UTF8, "application/json") };
            req.Headers.TryAddWithoutValidation("Authorization", i % 2 == 0 ? $"Bearer guess-{i}" : $"Basic guess-{i}");
            using var res = await client.SendAsync(req);
            Assert.Equal(HttpStatusCode.Unauthorized, res.StatusCode);
        }
        Assert.Contains("observe_auth_failures_total 100", await client.GetStringAsync("/metrics"));
        var log = observe.Log();
        output.WriteLine(log);
        Assert.DoesNotContain("was not authenticated", log);
        Assert.InRange(log.Split('\n').Count(l => l.Contains("auth: refused")), 1, 2); // one per 10 s; the burst may straddle two
    }
}
