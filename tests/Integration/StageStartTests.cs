using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// HTTP before the stages (issue 21, restart to first /render): the real binary serves /render while a stage is still
/// starting, /health says it is starting, and a stage's API waits boundedly, then answers 503 with Retry-After.
/// </summary>
public class StageStartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Render_and_health_answer_while_a_stage_start_is_blocked_and_a_stage_api_answers_503_with_retry_after()
    {
        // The checks cluster's PostgreSQL accepts connections and never answers: the checks engine cannot start (until the
        // connection's 120 s timeout), as when the database is slow or behind a dead route.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        using var stopSilent = new CancellationTokenSource();
        var connections = 0;
        var accept = TcpAccept.EachAsync(silent, async c =>
        {
            Interlocked.Increment(ref connections);
            await Task.Delay(Timeout.Infinite, stopSilent.Token);
        }, stopSilent.Token);
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var setup = new ObserveSetup(Repo.TempDir("stagestart"))
        {
            LogLevel = "information",
            ClientTimeout = TimeSpan.FromSeconds(30), // the stage API's bounded wait is 10 s
            ExtraYaml = $$"""
                alerting: {enabled: false}
                checks:
                  cluster:
                    enabled: true
                    connectionString: "Host=127.0.0.1;Port={{port}};Username=observe;Password=observe;Database=observe;Timeout=120"
                    instanceId: node-a
                """,
        };
        await using var observe = await ObserveProcess.LaunchAsync(setup);
        try
        {
            async Task<bool> Renders()
            {
                try { return (await observe.Client.GetAsync("/render?target=a.b&from=-1min&format=json")).StatusCode == HttpStatusCode.OK; }
                catch (HttpRequestException) { return false; }
            }
            // Both awaited: /render answers from the moment HTTP listens, which may be before the engine reaches its database.
            await Poll.UntilAsync(async () => observe.Process.HasExited || (Volatile.Read(ref connections) > 0 && await Renders()),
                TimeSpan.FromSeconds(40), "/render answering while the checks engine waits for its database");
            Assert.False(observe.Process.HasExited, observe.Log());
            Assert.DoesNotContain("checks: ", observe.Log()); // "checks: N checks … scheduled" once the engine has started

            var health = await observe.Client.GetAsync("/health");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.StartsWith("starting: ", await health.Content.ReadAsStringAsync());
            Assert.Equal("1", health.Headers.GetValues("Retry-After").Single());

            // A stage's API waits for the stages (10 s), then says it is starting.
            var waited = Stopwatch.StartNew();
            var checks = await observe.Client.GetAsync("/api/checks");
            output.WriteLine($"/api/checks: {(int)checks.StatusCode} after {waited.Elapsed.TotalSeconds:F1} s: {await checks.Content.ReadAsStringAsync()}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, checks.StatusCode);
            Assert.Equal("1", checks.Headers.GetValues("Retry-After").Single());
            Assert.Contains("starting", await checks.Content.ReadAsStringAsync());
            Assert.True(waited.Elapsed >= TimeSpan.FromSeconds(9), $"answered after {waited.Elapsed.TotalSeconds:F1} s, not after its wait");
            output.WriteLine(observe.Log());
        }
        finally
        {
            observe.Process.Kill9(); // the blocked connect is not cancellable: nothing to wait for
            await stopSilent.CancelAsync();
            await accept;
        }
    }
}
