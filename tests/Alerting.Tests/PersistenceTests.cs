using Microsoft.Extensions.Logging.Abstractions;
using Observe.Alerting.Pipeline;
using Observe.Alerting.Pipeline.Persistence;
using Observe.TestSupport;

namespace Observe.Alerting.Tests;

/// <summary>Issue 16: the pipeline's state across a restart (a new pipeline on the same state file), on a hand-moved clock.</summary>
public class PersistenceTests
{
    private static AlertingOptions Options() => PipelineHarness.Options(o =>
    {
        o.Route.Escalation = [new EscalationOptions { After = "10m", Receiver = "boss" }];
        o.Receivers.Add(new ReceiverOptions { Name = "boss", Webhook = new() { Url = "http://127.0.0.1:1/" } });
    });

    [Fact]
    public async Task A_restarted_pipeline_tells_nobody_again_and_escalates_at_the_original_time()
    {
        var path = Path.Combine(Repo.TempDir("alert-state"), "state.db");
        var clock = new ManualTimeProvider();
        var sent = new RecordingQueue();
        var first = new AlertPipeline(Options(), sent, clock, NullLogger.Instance, store: new SqliteAlertStateStore(path, 1000, NullLogger.Instance));
        var labels = new Dictionary<string, string> { ["host"] = "web", ["check"] = "http" };
        await first.SendAsync(new AlertEvent("checks", "check/web/http", AlertStatus.Firing, "critical", "web/http is CRITICAL", null, labels, clock.GetUtcNow()), default);
        var started = clock.GetUtcNow();
        for (var i = 0; i < 60; i++) { clock.Advance(TimeSpan.FromSeconds(1)); first.Tick(); }
        Assert.Single(sent.For("ops"));
        first.CloseStore();

        // "Restart" 2 minutes later: same file, new pipeline, new queue.
        clock.Advance(TimeSpan.FromMinutes(2));
        var again = new RecordingQueue();
        var second = new AlertPipeline(Options(), again, clock, NullLogger.Instance, store: new SqliteAlertStateStore(path, 1000, NullLogger.Instance));
        Assert.Equal(started, Assert.Single(second.Active()).Alert.StartsAt);
        while (clock.GetUtcNow() < started + TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1)) { clock.Advance(TimeSpan.FromSeconds(1)); second.Tick(); }
        Assert.Empty(again.All);
        clock.Advance(TimeSpan.FromSeconds(1)); second.Tick();
        var escalation = Assert.Single(again.All);
        Assert.Equal(("boss", started + TimeSpan.FromMinutes(10)), (escalation.Receiver, escalation.Time));
        Assert.Contains(second.History.Query(null, "notify", 100), h => h.Receiver == "ops" && h.Time < started + TimeSpan.FromMinutes(2));
        second.CloseStore();
    }

    [Fact]
    public async Task A_recovery_of_a_problem_notified_elsewhere_is_told_once_and_other_unknown_resolves_are_not()
    {
        var h = new PipelineHarness(PipelineHarness.Options());
        h.Resolve("web", "disk");
        Assert.Empty(h.Sent.All);
        var labels = new Dictionary<string, string> { ["host"] = "web", ["check"] = "http", ["notification_type"] = "RECOVERY" };
        await h.Pipeline.SendAsync(new AlertEvent("checks", "check/web/http", AlertStatus.Resolved, "info", "RECOVERY web/http is OK", null, labels, h.Clock.GetUtcNow()), default);
        var n = Assert.Single(h.Sent.For("ops"));
        Assert.Equal((NotificationKind.Resolved, "check/web/http"), (n.Kind, n.Alerts.Single().Key));
        h.Advance(TimeSpan.FromMinutes(10));
        Assert.Single(h.Sent.All);
    }
}
