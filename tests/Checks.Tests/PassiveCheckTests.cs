using Microsoft.Extensions.Logging.Abstractions;
using Observe.Checks.Scheduling;
using Observe.TestSupport;

namespace Observe.Checks.Tests;

public class PassiveCheckTests
{
    [Fact]
    public async Task Passive_results_apply_and_a_silent_check_goes_stale()
    {
        var options = new ChecksOptions
        {
            Defaults = new CheckDefaults { CheckInterval = "200ms", RetryInterval = "200ms", MaxCheckAttempts = 2, NotificationInterval = "0" },
            Hosts = [new HostOptions { Name = "batch1", Checks = [new CheckOptions { Name = "backup", Kind = "passive", FreshnessThreshold = "1500ms", StaleState = "critical" }] }],
        };
        Assert.Empty(ChecksConfig.Validate(options));
        var metrics = new RecordingMetricSink();
        var alerts = new RecordingAlertSink();
        var engine = new CheckEngine(options, alerts, [metrics], TimeProvider.System, NullLoggerFactory.Instance);
        await engine.StartAsync(default);
        try
        {
            var e = engine.Find("batch1", "backup")!;
            await engine.SubmitAsync(e, CheckState.Ok, "BACKUP OK - 12 GB | bytes=12000000000B;;;0", default);
            var s = engine.Get("batch1", "backup")!;
            Assert.Equal((CheckState.Ok, "BACKUP OK - 12 GB"), (s.State, s.Output));
            await Poll.UntilAsync(() => metrics.Points.Any(p => p.Path == "checks.batch1.backup.bytes" && p.Value == 12e9), TimeSpan.FromSeconds(5), "perfdata metric (queued)");
            await Task.Delay(600);
            Assert.Equal(CheckState.Ok, engine.Get("batch1", "backup")!.State); // still fresh: the scheduler did not touch it

            await Poll.UntilAsync(() => engine.Get("batch1", "backup") is { State: CheckState.Critical, StateType: StateType.Hard }, TimeSpan.FromSeconds(10), "stale → HARD CRITICAL");
            Assert.Contains("no passive result for", engine.Get("batch1", "backup")!.Output);
            await Poll.UntilAsync(() => alerts.Events.Any(a => a.Key == "check/batch1/backup" && a.Status == Observe.Alerting.AlertStatus.Firing), TimeSpan.FromSeconds(5), "the PROBLEM alert");

            await engine.SubmitAsync(e, CheckState.Ok, "BACKUP OK", default);
            Assert.Equal((CheckState.Ok, StateType.Hard), (engine.Get("batch1", "backup")!.State, engine.Get("batch1", "backup")!.StateType));
            Assert.Contains(alerts.Events, a => a.Key == "check/batch1/backup" && a.Status == Observe.Alerting.AlertStatus.Resolved);
        }
        finally { await engine.StopAsync(default); }
    }
}

public class PassiveFreshnessScheduleTests
{
    /// <summary>Issue 15 finding 3: a stale passive check re-armed itself at its old NextCheck (in the past) and ran in a tight loop.</summary>
    [Fact]
    public async Task A_stale_passive_checks_next_run_is_always_in_the_future()
    {
        var options = new ChecksOptions
        {
            Defaults = new CheckDefaults { CheckInterval = "10s", RetryInterval = "10s", MaxCheckAttempts = 3 },
            Hosts = [new HostOptions { Name = "batch1", Checks = [new CheckOptions { Name = "backup", Kind = "passive" }] }],
        };
        var clock = new ManualTimeProvider();
        var engine = new CheckEngine(options, null, [], clock, NullLoggerFactory.Instance);
        var e = engine.Find("batch1", "backup")!;
        for (var i = 0; i < 6; i++)
        {
            var now = clock.GetUtcNow();
            var next = await engine.RunAsync(e, now, default);
            Assert.True(next > now, $"run {i}: next check {next:O} is not after now {now:O}");
            Assert.Equal(next, engine.Get("batch1", "backup")!.NextCheck);
            clock.Advance(next - now);
        }
        Assert.Equal(CheckState.Unknown, engine.Get("batch1", "backup")!.State); // it did go stale on the way
    }

    /// <summary>The same through Quartz on the real clock: runs of a stale check come one interval apart, not thousands a second.</summary>
    [Fact]
    public async Task A_stale_passive_check_runs_once_per_interval()
    {
        var options = new ChecksOptions
        {
            Defaults = new CheckDefaults { CheckInterval = "100ms", RetryInterval = "100ms", MaxCheckAttempts = 2 },
            Hosts = [new HostOptions { Name = "batch1", Checks = [new CheckOptions { Name = "backup", Kind = "passive" }] }],
        };
        var engine = new CheckEngine(options, null, [], TimeProvider.System, NullLoggerFactory.Instance);
        await engine.StartAsync(default);
        try
        {
            await Poll.UntilAsync(() => engine.Get("batch1", "backup")!.State == CheckState.Unknown, TimeSpan.FromSeconds(10), "the check to go stale");
            var started = System.Diagnostics.Stopwatch.StartNew();
            var from = engine.Runs;
            await Poll.UntilAsync(() => engine.Runs >= from + 8, TimeSpan.FromSeconds(10), "8 more freshness runs");
            Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(600), $"8 runs of a 100 ms check took {started.Elapsed.TotalMilliseconds:0} ms ({engine.Runs - from} runs)");
        }
        finally { await engine.StopAsync(default); }
    }
}

public class ServiceCheckTests
{
    [Fact]
    public async Task Dogstatsd_service_checks_feed_the_matching_passive_check()
    {
        var options = new ChecksOptions
        {
            Defaults = new CheckDefaults { CheckInterval = "1h", MaxCheckAttempts = 1 },
            Hosts =
            [
                new HostOptions { Name = "app1", Checks = [new CheckOptions { Name = "db", Kind = "passive", ServiceCheck = "app.can_connect" }] },
                new HostOptions { Name = "app2", Checks = [new CheckOptions { Name = "db", Kind = "passive", ServiceCheck = "app.can_connect" }] },
            ],
        };
        var engine = new CheckEngine(options, null, [], TimeProvider.System, NullLoggerFactory.Instance);
        await engine.StartAsync(default);
        try
        {
            IServiceCheckReceiver r = engine;
            Assert.True(r.OnServiceCheck(new Observe.Collector.StatsdServiceCheck("app.can_connect", 2, null, "app2", "DB refused", [])));
            await Poll.UntilAsync(() => engine.Get("app2", "db")!.State == CheckState.Critical, TimeSpan.FromSeconds(10), "app2/db CRITICAL");
            Assert.Equal("DB refused", engine.Get("app2", "db")!.Output);
            Assert.Equal(CheckState.Ok, engine.Get("app1", "db")!.State);
            Assert.False(r.OnServiceCheck(new Observe.Collector.StatsdServiceCheck("app.can_connect", 2, null, null, "which host?", [])));
            Assert.False(r.OnServiceCheck(new Observe.Collector.StatsdServiceCheck("other", 0, null, "app1", null, [])));
            Assert.False(r.OnServiceCheck(new Observe.Collector.StatsdServiceCheck("app.can_connect", 9, null, "app1", null, [])));
        }
        finally { await engine.StopAsync(default); }
    }
}
