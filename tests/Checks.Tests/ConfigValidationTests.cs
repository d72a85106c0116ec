using Observe.Common;
namespace Observe.Checks.Tests;

public class ConfigValidationTests
{
    private static ChecksOptions With(params CheckOptions[] checks) => new() { Hosts = [new HostOptions { Name = "web1", Checks = [.. checks] }] };

    [Fact]
    public void A_good_config_has_no_problems()
    {
        var o = With(
            new CheckOptions { Name = "http", Kind = "http", Url = "/health", ExpectStatus = [200], Warning = "0.5", Critical = "~:2", ExpectBodyRegex = "ok|fine" },
            new CheckOptions { Name = "tcp", Kind = "tcp", Port = 443, CheckInterval = "30s", RetryInterval = "10s", TimeoutState = "unknown" },
            new CheckOptions { Name = "load", Kind = "command", Command = ["/usr/lib/nagios/plugins/check_load", "-w", "5", "-c", "10"] });
        Assert.Empty(ChecksConfig.Validate(o).Select(p => $"{p.KeyPath}: {p.Message}"));
    }

    [Fact]
    public void State_persistence_settings_are_validated()
    {
        var o = With();
        o.State = new ChecksStateOptions { WriteDelay = "2s", HistoryRetention = "forever" };
        var p = ChecksConfig.Validate(o).ToDictionary(x => x.KeyPath, x => x.Message);
        Assert.Contains("at most 1s", p["checks.state.writeDelay"]);
        Assert.Contains("not a duration", p["checks.state.historyRetention"]);
    }

    [Fact]
    public void Problems_are_named_by_key_path()
    {
        var o = With(
            new CheckOptions { Name = "a", Kind = "snmp" },
            new CheckOptions { Name = "b", Kind = "http", Warning = "20:10", Critical = "abc" },
            new CheckOptions { Name = "c", Kind = "command", Command = ["/usr/lib/nagios/plugins/check_nope"] },
            new CheckOptions { Name = "d", Kind = "tcp", CheckInterval = "soon", MaxCheckAttempts = 0, TimeoutState = "ok" },
            new CheckOptions { Name = "d", Kind = "command" },
            new CheckOptions { Name = "bad.name", Kind = "" });
        o.Hosts[0].Parents = ["nowhere"];
        var p = ChecksConfig.Validate(o).ToDictionary(x => x.KeyPath, x => x.Message);
        Assert.Contains("unknown kind 'snmp'", p["checks.hosts[0].checks[0].kind"]);
        Assert.Contains("bad range syntax", p["checks.hosts[0].checks[1].warning"]);
        Assert.Contains("bad range syntax", p["checks.hosts[0].checks[1].critical"]);
        Assert.Contains("'/usr/lib/nagios/plugins/check_nope' not found", p["checks.hosts[0].checks[2].command[0]"]);
        Assert.Contains("not a duration", p["checks.hosts[0].checks[3].checkInterval"]);
        Assert.Contains("at least 1", p["checks.hosts[0].checks[3].maxCheckAttempts"]);
        Assert.Contains("required", p["checks.hosts[0].checks[3].port"]);
        Assert.Contains("critical, unknown", p["checks.hosts[0].checks[3].timeoutState"]);
        Assert.Contains("duplicate check 'd'", p["checks.hosts[0].checks[4].name"]);
        Assert.Contains("required", p["checks.hosts[0].checks[4].command"]);
        Assert.Contains("must be non-empty", p["checks.hosts[0].checks[5].name"]);
        Assert.Contains("required: one of http, tcp, command", p["checks.hosts[0].checks[5].kind"]);
        Assert.Contains("unknown host 'nowhere'", p["checks.hosts[0].parents[0]"]);
    }

    [Fact]
    public void Plugin_that_is_not_executable_is_reported()
    {
        var path = Path.Combine(Path.GetTempPath(), $"observe-noexec-{Guid.NewGuid():N}");
        File.WriteAllText(path, "#!/bin/sh\n");
        var p = Assert.Single(ChecksConfig.Validate(With(new CheckOptions { Name = "x", Kind = "command", Command = [path] })));
        Assert.Equal("checks.hosts[0].checks[0].command[0]", p.KeyPath);
        Assert.Contains("not executable", p.Message);
    }

    [Theory]
    [InlineData("500ms", 0.5)]
    [InlineData("30s", 30)]
    [InlineData("5m", 300)]
    [InlineData("1h", 3600)]
    [InlineData("2", 2)]
    [InlineData("1d", 86400)]
    public void Durations(string text, double seconds)
    {
        Assert.True(DurationSyntax.TryParse(text, out var d));
        Assert.Equal(seconds, d.TotalSeconds);
    }
}
