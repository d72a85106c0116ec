using Microsoft.Extensions.Logging.Abstractions;
using Observe.Checks.Scheduling;
using Observe.TestSupport;

namespace Observe.Checks.Tests;

/// <summary>The real monitoring-plugins through the scheduler: states, output and perfdata metrics in the metric sink.</summary>
[Trait("Category", "Peer")] // real monitoring-plugins against real servers: not in ./test.sh --fast
public class RealPluginEngineTests
{
    private const string P = "/usr/lib/nagios/plugins";

    [Fact]
    public async Task Real_plugins_through_the_engine_give_states_output_and_perfdata_metrics()
    {
        await using var http = new TinyServer(_ => TinyServer.Http(200, "healthy"));
        var refused = ClosedPort.Get();
        var options = new ChecksOptions
        {
            Defaults = new CheckDefaults { CheckInterval = "1s", RetryInterval = "1s", MaxCheckAttempts = 1, Timeout = "10s" },
            Hosts =
            [
                new HostOptions
                {
                    Name = "web1",
                    Checks =
                    [
                        new CheckOptions { Name = "http", Kind = "command", Command = [$"{P}/check_http", "-I", "127.0.0.1", "-p", http.Port.ToString(), "-s", "healthy"] },
                        new CheckOptions { Name = "tcp", Kind = "command", Command = [$"{P}/check_tcp", "-H", "127.0.0.1", "-p", refused.ToString()] },
                        new CheckOptions { Name = "procs", Kind = "command", Command = [$"{P}/check_procs", "-w", "100000", "-c", "200000"] },
                        new CheckOptions { Name = "disk", Kind = "command", Command = [$"{P}/check_disk", "-w", "0%", "-c", "0%", "-p", "/"] },
                    ],
                },
            ],
        };
        Assert.Empty(ChecksConfig.Validate(options));
        var metrics = new RecordingMetricSink();
        var alerts = new RecordingAlertSink();
        var engine = new CheckEngine(options, alerts, [metrics], TimeProvider.System, NullLoggerFactory.Instance);
        await engine.StartAsync(default);
        try
        {
            await Poll.UntilAsync(() => engine.Current().All(s => s.LastCheck != null), TimeSpan.FromSeconds(30), "every plugin to run");
            var http1 = engine.Get("web1", "http")!;
            Assert.Equal(CheckState.Ok, http1.State);
            Assert.StartsWith("HTTP OK", http1.Output);
            var tcp = engine.Get("web1", "tcp")!;
            Assert.Equal((CheckState.Critical, StateType.Hard), (tcp.State, tcp.StateType));
            Assert.Contains("refused", tcp.Output, StringComparison.OrdinalIgnoreCase);
            Assert.StartsWith("PROCS OK", engine.Get("web1", "procs")!.Output);
            Assert.StartsWith("DISK", engine.Get("web1", "disk")!.Output);

            string[] expected = ["checks.web1.http.time", "checks.web1.http.size", "checks.web1.procs.procs", "checks.web1.disk._", "checks.web1.tcp.check_latency"];
            await Poll.UntilAsync(() => expected.All(x => metrics.Points.Any(p => p.Path == x)), TimeSpan.FromSeconds(10), "perfdata metrics (written just after the state)");
            var paths = metrics.Points.Select(p => p.Path).ToHashSet();
            Assert.Contains("checks.web1.http.time", paths);
            Assert.Contains("checks.web1.http.size", paths);
            Assert.Contains("checks.web1.procs.procs", paths);
            Assert.Contains("checks.web1.disk._", paths);          // check_disk's "/" label
            Assert.Contains("checks.web1.tcp.check_latency", paths);
            Assert.Contains(metrics.Points, p => p.Path == "checks.web1.tcp.state" && p.Value == 2);
            await Poll.UntilAsync(() => alerts.Events.Any(a => a.Key == "check/web1/tcp" && a.Severity == "critical"), TimeSpan.FromSeconds(5), "the tcp PROBLEM alert");
        }
        finally { await engine.StopAsync(default); }
    }
}
