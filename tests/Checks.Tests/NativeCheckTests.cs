using System.Text.RegularExpressions;
using Observe.Checks.Kinds;
using Observe.Checks.Plugins;

namespace Observe.Checks.Tests;

public class NativeCheckTests
{
    private static readonly TimeSpan Five = TimeSpan.FromSeconds(5);
    private static readonly Thresholds None = new(null, null);

    private static HttpCheck Http(int port, string path = "/", int[]? status = null, string? body = null, string? regex = null, bool redirects = false, Thresholds? time = null, TimeSpan? timeout = null) =>
        new(new Uri($"http://127.0.0.1:{port}{path}"), "GET", new Dictionary<string, string> { ["X-Test"] = "1" }, null, (status ?? []).ToHashSet(), body,
            regex == null ? null : new Regex(regex), redirects, time ?? None, timeout ?? Five, CheckState.Critical);

    [Fact]
    public async Task Http_ok_with_nagios_like_text_and_perfdata()
    {
        await using var server = new TinyServer(_ => TinyServer.Http(200, "hello observe"));
        var r = await Http(server.Port, body: "observe", regex: "h.llo").RunAsync(default);
        Assert.Equal(CheckState.Ok, r.State);
        Assert.Matches(@"^HTTP OK: HTTP/1\.1 200 OK - 13 bytes in \d+\.\d{3} second response time$", r.Output);
        Assert.Equal(["time", "size"], r.PerfData.Select(p => p.Label));
        Assert.Equal(13, r.PerfData[1].Value);
    }

    [Fact]
    public async Task Http_status_rules()
    {
        await using var s404 = new TinyServer(_ => TinyServer.Http(404, "no", "Not Found"));
        Assert.Equal(CheckState.Warning, (await Http(s404.Port).RunAsync(default)).State);
        Assert.Equal(CheckState.Ok, (await Http(s404.Port, status: [404]).RunAsync(default)).State);
        await using var s503 = new TinyServer(_ => TinyServer.Http(503, "busy", "Service Unavailable"));
        var r = await Http(s503.Port).RunAsync(default);
        Assert.Equal(CheckState.Critical, r.State);
        Assert.StartsWith("HTTP CRITICAL: HTTP/1.1 503 Service Unavailable", r.Output);
        await using var s200 = new TinyServer(_ => TinyServer.Http(200, "x"));
        Assert.Equal(CheckState.Critical, (await Http(s200.Port, status: [204]).RunAsync(default)).State);
    }

    [Fact]
    public async Task Http_body_substring_and_regex_missing_are_critical()
    {
        await using var server = new TinyServer(_ => TinyServer.Http(200, "hello"));
        Assert.Contains("string 'bye' not found", (await Http(server.Port, body: "bye").RunAsync(default)).Output);
        Assert.Equal(CheckState.Critical, (await Http(server.Port, regex: "^x+$").RunAsync(default)).State);
    }

    [Fact]
    public async Task Http_redirects_on_and_off()
    {
        await using var target = new TinyServer(_ => TinyServer.Http(200, "landed"));
        await using var server = new TinyServer(_ => TinyServer.Http(302, "", "Found", $"Location: http://127.0.0.1:{target.Port}/x\r\n"));
        var off = await Http(server.Port, body: "landed").RunAsync(default);
        Assert.Contains("302", off.Output);
        Assert.Equal(CheckState.Critical, off.State); // the redirect page does not contain the body
        var on = await Http(server.Port, body: "landed", redirects: true).RunAsync(default);
        Assert.Equal(CheckState.Ok, on.State);
    }

    [Fact]
    public async Task Http_response_time_thresholds_and_timeout()
    {
        await using var slow = new TinyServer(_ => TinyServer.Http(200, "slow"), delay: TimeSpan.FromMilliseconds(300));
        Assert.Equal(CheckState.Warning, (await Http(slow.Port, time: Thresholds.Parse("0.1", "5")).RunAsync(default)).State);
        Assert.Equal(CheckState.Critical, (await Http(slow.Port, time: Thresholds.Parse("0.05", "0.1")).RunAsync(default)).State);
        var t = await Http(slow.Port, timeout: TimeSpan.FromMilliseconds(100)).RunAsync(default);
        Assert.Equal(CheckState.Critical, t.State);
        Assert.Contains("timeout", t.Output);
    }

    [Fact]
    public async Task Http_connection_refused_is_critical()
    {
        var r = await Http(ClosedPort.Get()).RunAsync(default);
        Assert.Equal(CheckState.Critical, r.State);
        Assert.Contains("Unable to open TCP socket", r.Output);
    }

    [Fact]
    public async Task Tcp_connect_send_expect()
    {
        await using var server = new TinyServer(req => req.StartsWith("PING") ? "+PONG\r\n" : "-ERR\r\n");
        var ok = await new TcpCheck("127.0.0.1", server.Port, "PING\r\n", "PONG", None, Five, CheckState.Critical).RunAsync(default);
        Assert.Equal(CheckState.Ok, ok.State);
        Assert.Matches($@"^TCP OK - \d+\.\d{{3}} second response time on 127\.0\.0\.1 port {server.Port}$", ok.Output);
        Assert.Equal("time", Assert.Single(ok.PerfData).Label);
        var wrong = await new TcpCheck("127.0.0.1", server.Port, "HELLO\r\n", "PONG", None, Five, CheckState.Critical).RunAsync(default);
        Assert.Equal(CheckState.Warning, wrong.State);
        Assert.Contains("-ERR", wrong.Output);
    }

    [Fact]
    public async Task Tcp_refused_is_critical_and_plain_connect_is_ok()
    {
        var r = await new TcpCheck("127.0.0.1", ClosedPort.Get(), null, null, None, Five, CheckState.Critical).RunAsync(default);
        Assert.Equal(CheckState.Critical, r.State);
        Assert.Contains("refused", r.Output, StringComparison.OrdinalIgnoreCase);
        await using var server = new TinyServer(_ => null, readRequest: false);
        Assert.Equal(CheckState.Ok, (await new TcpCheck("127.0.0.1", server.Port, null, null, None, Five, CheckState.Critical).RunAsync(default)).State);
    }
}

public class TlsCheckTests
{
    private static System.Security.Cryptography.X509Certificates.X509Certificate2 SelfSigned(int daysLeft)
    {
        using var key = System.Security.Cryptography.RSA.Create(2048);
        var req = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=observe-test", key,
            System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(daysLeft).AddHours(1));
        return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(cert.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pfx), null);
    }

    private static Task<CheckResult> Run(int port, TlsCheckOptions tls) =>
        new HttpCheck(new Uri($"https://127.0.0.1:{port}/"), "GET", new Dictionary<string, string>(), null, new HashSet<int>(), null, null, false,
            new Thresholds(null, null), TimeSpan.FromSeconds(5), CheckState.Critical, tls).RunAsync(default);

    [Fact]
    public async Task Certificate_days_to_expiry_and_verification()
    {
        using var cert = SelfSigned(10);
        await using var server = new TinyServer(_ => TinyServer.Http(200, "secure"), tls: cert);
        // verification on (default): a self-signed certificate fails the check
        var verified = await Run(server.Port, new TlsCheckOptions(true, 0, 0));
        Assert.Equal(CheckState.Critical, verified.State);
        Assert.Equal(CheckState.Ok, (await Run(server.Port, new TlsCheckOptions(false, 0, 0))).State);
        Assert.Equal(CheckState.Ok, (await Run(server.Port, new TlsCheckOptions(false, 7, 3))).State);
        var warn = await Run(server.Port, new TlsCheckOptions(false, 30, 7));
        Assert.Equal(CheckState.Warning, warn.State);
        Assert.Contains("certificate 'CN=observe-test' expires in 10 days", warn.Output);
        Assert.Equal(CheckState.Critical, (await Run(server.Port, new TlsCheckOptions(false, 60, 30))).State);
    }

}

/// <summary>Issue 14 (checks.md did not say): a relative http <c>url</c> goes to the host's address on <c>port</c>.</summary>
public class HttpCheckPortTests
{
    [Fact]
    public async Task A_relative_url_uses_the_checks_port_on_the_hosts_address()
    {
        await using var server = new TinyServer(_ => TinyServer.Http(200, "ok"));
        var host = new HostOptions { Name = "web1", Address = "127.0.0.1" };
        var check = ChecksConfig.Build(host, new CheckOptions { Name = "http", Kind = "http", Url = "/health", Port = server.Port, ExpectBody = "ok" }, new ChecksOptions());
        var r = await check.RunAsync(default);
        Assert.True(r.State == CheckState.Ok, r.Output);
    }
}
