using Microsoft.Extensions.Logging.Abstractions;
using Observe.Checks.Scheduling;
using Observe.TestSupport;

namespace Observe.Checks.Tests;

public class ReloadTests
{
    private const string Dummy = "/usr/lib/nagios/plugins/check_dummy";

    private static ChecksOptions Config(params CheckOptions[] checks) => new()
    {
        Defaults = new CheckDefaults { CheckInterval = "300ms", RetryInterval = "300ms", MaxCheckAttempts = 1, NotificationInterval = "0" },
        Hosts = [new HostOptions { Name = "web1", Checks = [.. checks] }],
    };

    [Fact]
    public async Task Reload_keeps_state_of_kept_checks_adds_and_removes_and_refuses_bad_config()
    {
        var engine = new CheckEngine(Config(
                new CheckOptions { Name = "a", Kind = "command", Command = [Dummy, "2", "a down"] },
                new CheckOptions { Name = "b", Kind = "command", Command = [Dummy, "0", "b fine"] }),
            null, [], TimeProvider.System, NullLoggerFactory.Instance);
        await engine.StartAsync(default);
        try
        {
            var wait = TimeSpan.FromSeconds(15);
            await Poll.UntilAsync(() => engine.Get("web1", "a")!.State == CheckState.Critical, wait, "a CRITICAL");
            Assert.True(await engine.AcknowledgeAsync(engine.Find("web1", "a")!, "alice", "known", sticky: true, default));
            var changedAt = engine.Get("web1", "a")!.LastStateChange;

            IChecksReloader reloader = engine;
            var bad = await reloader.ReloadAsync(Config(new CheckOptions { Name = "a", Kind = "telepathy" }), default);
            Assert.Equal("checks.hosts[0].checks[0].kind", Assert.Single(bad).KeyPath);
            Assert.NotNull(engine.Get("web1", "b"));

            var problems = await reloader.ReloadAsync(Config(
                new CheckOptions { Name = "a", Kind = "command", Command = [Dummy, "2", "a still down"], CheckInterval = "200ms" },
                new CheckOptions { Name = "c", Kind = "command", Command = [Dummy, "1", "c new"] }), default);
            Assert.Empty(problems);
            Assert.Null(engine.Get("web1", "b"));
            await Poll.UntilAsync(() => engine.Get("web1", "c")?.State == CheckState.Warning, wait, "new check c to run");
            await Poll.UntilAsync(() => engine.Get("web1", "a")!.Output == "CRITICAL: a still down", wait, "a to run with its new command");
            var a = engine.Get("web1", "a")!;
            Assert.Equal(CheckState.Critical, a.State);
            Assert.Equal(changedAt, a.LastStateChange);           // state kept: no new state change
            Assert.Equal("alice", a.Acknowledgement?.Author);     // ack kept
            Assert.Equal(2, engine.Current().Count);
        }
        finally { await engine.StopAsync(default); }
    }
}
