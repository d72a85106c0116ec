using Microsoft.Extensions.Logging.Abstractions;
using Observe.Checks.Kinds;
using Observe.Checks.Scheduling;
using Observe.TestSupport;

namespace Observe.Checks.Tests;

public class SchedulerTests
{
    private sealed class Throwing : ICheck
    {
        public int Calls;
        public Task<CheckResult> RunAsync(CancellationToken cancellationToken) { Interlocked.Increment(ref Calls); throw new InvalidOperationException("kaboom"); }
    }

    private sealed class Slow : ICheck
    {
        public int Running, MaxRunning, Calls;
        public async Task<CheckResult> RunAsync(CancellationToken cancellationToken)
        {
            var now = Interlocked.Increment(ref Running);
            lock (this) MaxRunning = Math.Max(MaxRunning, now);
            Interlocked.Increment(ref Calls);
            await Task.Delay(1500, cancellationToken);
            Interlocked.Decrement(ref Running);
            return new CheckResult(CheckState.Ok, "slow ok", null, [], TimeSpan.FromSeconds(1.5));
        }
    }

    [Fact]
    public async Task Fast_checks_run_change_state_alert_and_emit_metrics_and_a_broken_check_does_not_stop_the_scheduler()
    {
        var server = new TinyServer(_ => null, readRequest: false);
        var options = new ChecksOptions
        {
            Defaults = new CheckDefaults { CheckInterval = "1s", RetryInterval = "1s", MaxCheckAttempts = 2, Timeout = "2s", NotificationInterval = "0" },
            Hosts =
            [
                new HostOptions
                {
                    Name = "web1", Address = "127.0.0.1", Role = "webhead",
                    Checks =
                    [
                        new CheckOptions { Name = "tcp", Kind = "tcp", Port = server.Port, Labels = { ["team"] = "web" } },
                        new CheckOptions { Name = "dummy", Kind = "command", Command = ["/usr/lib/nagios/plugins/check_dummy", "2", "down | t=1.5s;1;2"] },
                        new CheckOptions { Name = "bogus", Kind = "nonsense" },
                        new CheckOptions { Name = "throws", Kind = "tcp", Port = 1 },
                        new CheckOptions { Name = "slow", Kind = "tcp", Port = 1, CheckInterval = "200ms" },
                    ],
                },
            ],
        };
        var alerts = new RecordingAlertSink();
        var metrics = new RecordingMetricSink();
        var engine = new CheckEngine(options, alerts, [metrics], TimeProvider.System, NullLoggerFactory.Instance);
        var throwing = new Throwing();
        engine.Find("web1", "throws")!.Check = throwing;
        var slow = new Slow();
        engine.Find("web1", "slow")!.Check = slow;
        await engine.StartAsync(default);
        try
        {
            var wait = TimeSpan.FromSeconds(20);
            await Poll.UntilAsync(() => engine.Get("web1", "dummy") is { State: CheckState.Critical, StateType: StateType.Hard }, wait, "dummy to go HARD CRITICAL");
            var dummy = engine.Get("web1", "dummy")!;
            Assert.Equal("CRITICAL: down", dummy.Output);
            Assert.NotNull(dummy.NextCheck);
            await Poll.UntilAsync(() => alerts.Events.Any(a => a.Key == "check/web1/dummy"), wait, "the dummy PROBLEM alert"); // published just after the state changes
            var firing = Assert.Single(alerts.Events, a => a.Key == "check/web1/dummy");
            Assert.Equal(Observe.Alerting.AlertStatus.Firing, firing.Status);
            Assert.Equal("webhead", firing.Labels["role"]);

            await Poll.UntilAsync(() => engine.Get("web1", "tcp")?.LastCheck != null, wait, "tcp to run");
            Assert.Equal(CheckState.Ok, engine.Get("web1", "tcp")!.State);
            await Poll.UntilAsync(() => metrics.Points.Any(p => p.Path == "checks.web1.dummy.t") && metrics.Points.Any(p => p.Path == "checks.web1.tcp.check_latency"), wait, "perfdata metrics");
            Assert.Contains(metrics.Points, p => p.Path == "checks.web1.dummy.t" && p.Value == 1.5);
            Assert.Contains(metrics.Points, p => p.Path == "checks.web1.tcp.time");
            Assert.Contains(metrics.Points, p => p.Path == "checks.web1.tcp.check_latency" && p.Value >= 0);
            // flapping as numbers for the Checks dashboard: not flapping, and the CRITICAL after the initial OK is one change
            await Poll.UntilAsync(() => metrics.Points.Any(p => p.Path == "checks.web1.dummy.percent_state_change" && p.Value > 0), wait, "the HARD change in percent_state_change");
            Assert.All(metrics.Points.Where(p => p.Path == "checks.web1.dummy.percent_state_change"), p => Assert.InRange(p.Value, 0, 100));
            Assert.Contains(metrics.Points, p => p.Path == "checks.web1.dummy.flapping" && p.Value == 0);
            Assert.Contains(metrics.Points, p => p.Path == "checks.web1.tcp.percent_state_change" && p.Value == 0);
            Assert.True(engine.Runs >= 2, $"runs counted: {engine.Runs}");

            await Poll.UntilAsync(() => engine.Get("web1", "bogus")?.LastCheck != null && engine.Get("web1", "throws")?.LastCheck != null, wait, "broken checks to run");
            Assert.Equal(CheckState.Unknown, engine.Get("web1", "bogus")!.State);
            Assert.Contains("unknown check kind 'nonsense'", engine.Get("web1", "bogus")!.Output);
            Assert.Contains("kaboom", engine.Get("web1", "throws")!.Output);
            var calls = throwing.Calls;
            await Poll.UntilAsync(() => throwing.Calls >= calls + 2, wait, "the throwing check to keep being scheduled");

            // state change at runtime: the tcp target goes away → soft, then hard CRITICAL with a notification
            await server.DisposeAsync();
            await Poll.UntilAsync(() => engine.Get("web1", "tcp") is { State: CheckState.Critical, StateType: StateType.Hard }, wait, "tcp to go HARD CRITICAL");
            await Poll.UntilAsync(() => alerts.Events.Any(a => a.Key == "check/web1/tcp"), wait, "the tcp PROBLEM alert");
            var tcpAlert = Assert.Single(alerts.Events, a => a.Key == "check/web1/tcp");
            Assert.Equal("web", tcpAlert.Labels["team"]);

            // a 1.5 s check on a 200 ms interval never overlaps itself
            await Poll.UntilAsync(() => slow.Calls >= 2, wait, "slow check twice");
            Assert.Equal(1, slow.MaxRunning);
        }
        finally { await engine.StopAsync(default); }
    }

    [Fact]
    public void Start_times_spread_across_the_interval()
    {
        var fractions = Enumerable.Range(0, 200).Select(i => CheckEngine.Spread($"host{i}/http")).ToList();
        Assert.All(fractions, f => Assert.InRange(f, 0, 1));
        Assert.True(fractions.Count(f => f < 0.5) is > 60 and < 140);
        Assert.Equal(CheckEngine.Spread("a/b"), CheckEngine.Spread("a/b"));
    }

    [Fact]
    public void Metric_labels_become_one_graphite_node() =>
        Assert.Equal(["_var_log", "time", "in_use", "a-b_c"], new[] { "/var/log", "time", "in use", "a-b.c" }.Select(CheckEngine.MetricLabel));
}

public class SlowSinkTests
{
    private sealed class StuckSink : Observe.Collector.IMetricSink
    {
        public string Name => "stuck";
        public async ValueTask WriteAsync(Observe.Collector.MetricBatch batch, CancellationToken cancellationToken) => await Task.Delay(Timeout.Infinite, cancellationToken);
    }

    [Fact]
    public async Task A_stuck_metric_sink_does_not_delay_checks()
    {
        var options = new ChecksOptions
        {
            Defaults = new CheckDefaults { CheckInterval = "200ms", RetryInterval = "200ms", MaxCheckAttempts = 1 },
            Hosts = [new HostOptions { Name = "h", Checks = [new CheckOptions { Name = "p", Kind = "passive", FreshnessThreshold = "100ms" }] }],
        };
        var engine = new Observe.Checks.Scheduling.CheckEngine(options, null, [new StuckSink()], TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        await engine.StartAsync(default);
        try
        {
            var e = engine.Find("h", "p")!;
            for (var i = 0; i < 5; i++) await engine.SubmitAsync(e, CheckState.Ok, "OK | x=1", default).WaitAsync(TimeSpan.FromSeconds(2));
            await Observe.TestSupport.Poll.UntilAsync(() => engine.Get("h", "p")!.State == CheckState.Unknown, TimeSpan.FromSeconds(10), "the freshness check to keep running");
        }
        finally { await engine.StopAsync(default).WaitAsync(TimeSpan.FromSeconds(10)); }
    }
}
