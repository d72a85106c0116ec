namespace Observe.Checks.Tests;

public class PoolCheckTests
{
    private static CheckOptions Pool(string kind, int warn, int crit, params (string Name, int Port)[] backends) => new()
    {
        Name = "pool", Kind = "pool", BackendKind = kind, Url = "/health", ExpectBody = "ok", MinHealthyWarning = warn, MinHealthyCritical = crit, Timeout = "2s",
        Backends = backends.Select(b => new PoolBackend { Name = b.Name, Address = "127.0.0.1", Port = b.Port }).ToList(),
    };

    private static Task<CheckResult> Run(CheckOptions c)
    {
        var o = new ChecksOptions { Hosts = [new HostOptions { Name = "lb1", Checks = [c] }] };
        Assert.Empty(ChecksConfig.Validate(o));
        return ChecksConfig.Build(o.Hosts[0], c, o).RunAsync(default);
    }

    [Fact]
    public async Task Healthy_count_against_minimums_and_failing_backends_named()
    {
        await using var a = new TinyServer(_ => TinyServer.Http(200, "ok"));
        await using var b = new TinyServer(_ => TinyServer.Http(200, "ok"));
        await using var c = new TinyServer(_ => TinyServer.Http(500, "no", "Internal Server Error"));
        var dead = ClosedPort.Get();

        var all = await Run(Pool("http", 2, 1, ("web1", a.Port), ("web2", b.Port)));
        Assert.Equal(CheckState.Ok, all.State);
        Assert.Equal("POOL OK - 2 of 2 backends healthy", all.Output);

        var some = await Run(Pool("http", 3, 2, ("web1", a.Port), ("web2", b.Port), ("web3", c.Port), ("web4", dead)));
        Assert.Equal(CheckState.Warning, some.State);
        Assert.Equal("POOL WARNING - 2 of 4 backends healthy; failing: web3, web4", some.Output);
        Assert.Contains("web3: HTTP CRITICAL: HTTP/1.1 500", some.LongOutput);
        Assert.Equal(2, some.PerfData.Single(p => p.Label == "healthy").Value);

        var few = await Run(Pool("http", 3, 2, ("web1", a.Port), ("web3", c.Port), ("web4", dead)));
        Assert.Equal(CheckState.Critical, few.State);

        var tcp = await Run(Pool("tcp", 1, 1, ("web1", a.Port), ("web4", dead)));
        Assert.Equal(CheckState.Ok, tcp.State);
        Assert.Equal("POOL OK - 1 of 2 backends healthy; failing: web4", tcp.Output);
    }

    [Fact]
    public void Pool_config_problems()
    {
        var o = new ChecksOptions { Hosts = [new HostOptions { Name = "lb1", Checks = [new CheckOptions { Name = "p", Kind = "pool", BackendKind = "udp", MinHealthyWarning = 1, MinHealthyCritical = 2 }] }] };
        var p = ChecksConfig.Validate(o).Select(x => x.KeyPath).ToList();
        Assert.Contains("checks.hosts[0].checks[0].backendKind", p);
        Assert.Contains("checks.hosts[0].checks[0].backends", p);
        Assert.Contains("checks.hosts[0].checks[0].minHealthyWarning", p);
    }
}
