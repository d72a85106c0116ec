using Microsoft.Extensions.Logging.Abstractions;
using Observe.Checks.Scheduling;
using Observe.Checks.State;
using Observe.TestSupport;

namespace Observe.Checks.Tests;

public class HostDependencyTests
{
    private const string Dummy = "/usr/lib/nagios/plugins/check_dummy";

    [Fact]
    public async Task Service_on_a_down_host_goes_hard_without_notifying_and_children_of_a_down_parent_are_unreachable()
    {
        var options = new ChecksOptions
        {
            Defaults = new CheckDefaults { CheckInterval = "1s", RetryInterval = "1s", MaxCheckAttempts = 5, Timeout = "2s", NotificationInterval = "0" },
            Hosts =
            [
                new HostOptions { Name = "lb1", HostCheck = new CheckOptions { Kind = "command", Command = [Dummy, "2", "lb down"], MaxCheckAttempts = 1, CheckInterval = "200ms" } },
                new HostOptions
                {
                    Name = "web1", Parents = ["lb1"],
                    HostCheck = new CheckOptions { Kind = "command", Command = [Dummy, "2", "no ping"], MaxCheckAttempts = 1, CheckInterval = "200ms" },
                    Checks = [new CheckOptions { Name = "http", Kind = "command", Command = [Dummy, "2", "http down"] }],
                },
                new HostOptions
                {
                    Name = "web2", HostCheck = new CheckOptions { Kind = "command", Command = [Dummy, "1", "warning means up"], MaxCheckAttempts = 1, CheckInterval = "200ms" },
                    Checks = [new CheckOptions { Name = "http", Kind = "command", Command = [Dummy, "2", "http down"], MaxCheckAttempts = 2 }],
                },
            ],
        };
        Assert.Empty(ChecksConfig.Validate(options));
        var alerts = new RecordingAlertSink();
        var engine = new CheckEngine(options, alerts, [], TimeProvider.System, NullLoggerFactory.Instance);
        await engine.StartAsync(default);
        try
        {
            var wait = TimeSpan.FromSeconds(20);
            await Poll.UntilAsync(() => engine.Get("web1", "http") is { StateType: StateType.Hard, State: CheckState.Critical }, wait, "web1/http HARD");
            Assert.True(engine.Get("web1", "http")!.Attempt < 5, "went HARD before max_check_attempts because the host is down");
            Assert.Equal(HostState.Unreachable, engine.HostStateOf(options.Hosts[1]));
            Assert.Equal(HostState.Down, engine.HostStateOf(options.Hosts[0]));
            // web2's host check says WARNING, which for a host means UP: its service notifies normally
            await Poll.UntilAsync(() => alerts.Events.Any(a => a.Key == "check/web2/http"), wait, "web2/http notification");
            Assert.Equal(CheckState.Ok, engine.Get("web2", "_host")!.State);
            Assert.DoesNotContain(alerts.Events, a => a.Key == "check/web1/http" && a.Status == Observe.Alerting.AlertStatus.Firing);
            await Poll.UntilAsync(() => alerts.Events.Any(a => a.Key == "check/lb1/_host" && a.Status == Observe.Alerting.AlertStatus.Firing), wait, "lb1 host DOWN alert");
        }
        finally { await engine.StopAsync(default); }
    }
}
