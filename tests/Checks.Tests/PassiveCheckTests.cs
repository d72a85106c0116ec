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
            Assert.Contains(metrics.Points, p => p.Path == "checks.batch1.backup.bytes" && p.Value == 12e9);
            await Task.Delay(600);
            Assert.Equal(CheckState.Ok, engine.Get("batch1", "backup")!.State); // still fresh: the scheduler did not touch it

            await Poll.UntilAsync(() => engine.Get("batch1", "backup") is { State: CheckState.Critical, StateType: StateType.Hard }, TimeSpan.FromSeconds(10), "stale → HARD CRITICAL");
            Assert.Contains("no passive result for", engine.Get("batch1", "backup")!.Output);
            Assert.Contains(alerts.Events, a => a.Key == "check/batch1/backup" && a.Status == Observe.Alerting.AlertStatus.Firing);

            await engine.SubmitAsync(e, CheckState.Ok, "BACKUP OK", default);
            Assert.Equal((CheckState.Ok, StateType.Hard), (engine.Get("batch1", "backup")!.State, engine.Get("batch1", "backup")!.StateType));
            Assert.Contains(alerts.Events, a => a.Key == "check/batch1/backup" && a.Status == Observe.Alerting.AlertStatus.Resolved);
        }
        finally { await engine.StopAsync(default); }
    }
}
