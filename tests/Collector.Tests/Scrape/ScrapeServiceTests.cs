using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector.Scrape;
using Observe.TestSupport;

namespace Observe.Collector.Tests.Scrape;

/// <summary>The scrape itself against a real HTTP server (TestSupport's StatsApp): what is published, and the bounds.</summary>
public class ScrapeServiceTests
{
    private static (ScrapeService Service, ConcurrentQueue<MetricBatch> Batches) Service(ScrapeOptions options)
    {
        var batches = new ConcurrentQueue<MetricBatch>();
        return (new ScrapeService(options, batches.Enqueue, NullLoggerFactory.Instance), batches);
    }

    private static ScrapeTargetOptions Target(string url, string timeout = "5s") =>
        new() { Job = "cart", Instance = "web1", Url = url, Interval = "10s", Timeout = timeout };

    [Fact]
    public async Task A_scrape_publishes_the_pages_numbers_up_duration_and_sends_the_configured_headers()
    {
        await using var app = await StatsApp.StartAsync();
        var t = Target(app.Url());
        t.Headers.Add(new ScrapeHeaderOptions { Name = "Authorization", Value = "Bearer s3cret" });
        var (service, batches) = Service(new ScrapeOptions { Targets = [t] });
        await using var _ = service;
        var result = await service.ScrapeAsync(service.Targets.Single(), CancellationToken.None);
        Assert.Equal(ScrapeFailure.None, result.Failure);
        var points = Assert.Single(batches).Points.ToDictionary(p => p.Path, p => p.Value);
        Assert.Equal(1027, points["scrape.cart.web1.counters.requests"]);
        Assert.Equal(140.25, points["scrape.cart.web1.timings.1.mean_ms"]);
        Assert.Equal(0.5, points["scrape.cart.web1.vm.schedulers.1"]);
        Assert.Equal(1, points["scrape.cart.web1.up"]);
        Assert.InRange(points["scrape.cart.web1.scrape_duration"], 0.001, 5000);
        Assert.Equal(result.Series, points["scrape.cart.web1.scrape_series"]);
        Assert.True(app.Headers.TryDequeue(out var headers));
        Assert.Equal("Bearer s3cret", headers["Authorization"]);
    }

    [Theory]
    [InlineData("/big", "body_size")]
    [InlineData("/deep", "json_depth")]
    [InlineData("/fail", "status")]
    [InlineData("/slow", "timeout")]
    public async Task A_failing_target_is_down_with_its_reason_counted(string path, string reason)
    {
        var expected = Enum.GetValues<ScrapeFailure>().Single(f => ScrapeService.Reason(f) == reason);
        await using var app = await StatsApp.StartAsync();
        var (service, batches) = Service(new ScrapeOptions { MaxBodyBytes = 1024 * 1024, Targets = [Target(app.Url(path), timeout: path == "/slow" ? "300ms" : "10s")] });
        await using var _ = service;
        var result = await service.ScrapeAsync(service.Targets.Single(), CancellationToken.None);
        Assert.Equal(expected, result.Failure);
        var points = Assert.Single(batches).Points.ToDictionary(p => p.Path, p => p.Value);
        Assert.Equal(0, points["scrape.cart.web1.up"]);
        Assert.Equal(3, points.Count); // up, scrape_duration, scrape_series: nothing half-read
        Assert.Equal(1, service.Snapshot().Failures[ScrapeService.Reason(expected)]);
    }

    [Fact]
    public async Task A_refused_connection_is_down_as_connect()
    {
        var (service, batches) = Service(new ScrapeOptions { Targets = [Target($"http://127.0.0.1:{FreePort.Get()}/stats")] });
        await using var _ = service;
        Assert.Equal(ScrapeFailure.Connect, (await service.ScrapeAsync(service.Targets.Single(), CancellationToken.None)).Failure);
        Assert.Equal(0, Assert.Single(batches).Points.Single(p => p.Path.EndsWith(".up")).Value);
    }

    [Fact]
    public async Task Quartz_runs_each_target_on_its_interval()
    {
        await using var app = await StatsApp.StartAsync();
        var a = Target(app.Url()); a.Interval = "1s"; a.Timeout = "1s";
        var b = Target(app.Url()); b.Instance = "web2"; b.Interval = "1s"; b.Timeout = "1s";
        var (service, batches) = Service(new ScrapeOptions { Targets = [a, b] });
        await using var _ = service;
        await service.StartAsync(CancellationToken.None);
        await Poll.UntilAsync(() => batches.Count(x => x.Points.Any(p => p.Path == "scrape.cart.web2.up")) >= 3, TimeSpan.FromSeconds(20), "three scrapes of web2");
        Assert.Contains(batches, x => x.Points.Any(p => p.Path == "scrape.cart.web1.up"));
        Assert.True(service.Snapshot().Scrapes >= 4);
    }

    [Fact]
    public async Task Https_targets_are_verified_unless_given_their_CA_or_told_not_to()
    {
        using var cert = TestCertificate.Create();
        var port = FreePort.Get();
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port, l => l.UseHttps(cert)));
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        app.MapGet("/stats", () => Microsoft.AspNetCore.Http.Results.Text("{\"a\": 1}", "application/json"));
        await app.StartAsync();
        var ca = Path.Combine(Repo.TempDir("scrape-ca"), "ca.pem");
        await File.WriteAllTextAsync(ca, cert.ExportCertificatePem());
        var url = $"https://127.0.0.1:{port}/stats";
        var verified = Target(url); verified.Instance = "verified";
        var withCa = Target(url); withCa.Instance = "ca"; withCa.Tls.CaFile = ca;
        var insecure = Target(url); insecure.Instance = "insecure"; insecure.Tls.InsecureSkipVerify = true;
        var (service, _) = Service(new ScrapeOptions { Targets = [verified, withCa, insecure] });
        await using var _s = service;
        async Task<ScrapeFailure> Run(string instance) => (await service.ScrapeAsync(service.Targets.Single(t => t.Prefix.EndsWith(instance)), CancellationToken.None)).Failure;
        Assert.Equal(ScrapeFailure.Connect, await Run(".verified")); // self-signed: not trusted by default
        Assert.Equal(ScrapeFailure.None, await Run(".ca"));
        Assert.Equal(ScrapeFailure.None, await Run(".insecure"));
    }

    [Fact]
    public void Validation_names_each_problem_by_key()
    {
        var dup = Target("http://127.0.0.1:1/stats");
        var options = new ScrapeOptions
        {
            Targets =
            [
                new() { Job = "a b", Url = "ftp://x", Interval = "0s", Timeout = "x", Format = "xml", Prefix = "bad..prefix", Include = ["{a"] },
                new() { Job = "cart", Url = "http://h:1/", Interval = "5s", Timeout = "10s", Headers = [new() { Name = "X-Bad\n", Value = null }] },
                dup, Target("http://127.0.0.1:1/stats"),
                new() { Job = "tls", Url = "https://h/", Tls = new() { CaFile = "/nonexistent.pem" } },
            ],
        };
        var keys = options.Validate().Select(p => p.KeyPath).ToHashSet();
        Assert.Superset(new HashSet<string>
        {
            "scrape.targets[0].job", "scrape.targets[0].url", "scrape.targets[0].interval", "scrape.targets[0].timeout",
            "scrape.targets[0].format", "scrape.targets[0].prefix", "scrape.targets[0].include[0]",
            "scrape.targets[1].timeout", "scrape.targets[1].headers[0].name", "scrape.targets[1].headers[0].value",
            "scrape.targets[3].prefix", "scrape.targets[4].tls.caFile",
        }, keys);
        Assert.Empty(new ScrapeOptions { Targets = [Target("http://127.0.0.1:1/stats")] }.Validate());
    }
}
