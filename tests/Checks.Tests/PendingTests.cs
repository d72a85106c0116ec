using Microsoft.Extensions.Logging.Abstractions;
using Observe.Checks.Scheduling;
using Observe.TestSupport;

namespace Observe.Checks.Tests;

/// <summary>Issue 16/17: a check that has never run is PENDING (API, CLI), not OK, and is not listed as a problem.</summary>
public class PendingTests
{
    [Fact]
    public void A_never_run_check_is_pending_in_the_api_and_the_cli_table()
    {
        var options = new ChecksOptions
        {
            Hosts = [new HostOptions { Name = "web", Checks = [new CheckOptions { Name = "fresh", Kind = "passive", FreshnessThreshold = "1h" }] }],
        };
        var engine = new CheckEngine(options, null, [], new ManualTimeProvider(DateTimeOffset.Parse("2026-12-01T00:00:00Z")), NullLoggerFactory.Instance);
        var status = Assert.Single(engine.Current());
        Assert.Equal(CheckState.Pending, status.State);
        Assert.Null(status.LastCheck);
        var table = ChecksCli.Render(engine.Current(), DateTimeOffset.Parse("2026-12-01T00:00:05Z"));
        Assert.Contains("PENDING", table);
        Assert.DoesNotContain(" OK ", table);
        Assert.Equal(0, ChecksCli.ExitCode(engine.Current()));
        Assert.False(ChecksCli.IsProblem(status));
    }
}
