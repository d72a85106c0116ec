using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Secrets given inline, from a file and from the environment never show up in anything Observe says: its whole
/// log output (at verbose level), any API response (including failed auth), or `observe config check` output.
/// </summary>
public class SecretsTests(ITestOutputHelper output)
{
    private const string InlineSecret = "inl1ne-S3CRET-d41d8cd98f00b204";
    private const string FileSecret = "f1le-S3CRET-e9800998ecf8427e";
    private const string EnvSecret = "env-S3CRET-a87ff679a2f3e71d91";
    private const string ShortSecret = "shrt-S3CRET-9";
    private const string LevelSecret = "lvl-S3CRET-1679091c5a880faf";
    private const string SmtpSecret = "smtp-S3CRET-c4ca4238a0b92382";
    private const string PagerDutySecret = "pd-S3CRET-eccbc87e4b5ce2fe28";
    private const string NickServSecret = "nick-S3CRET-a87ff679a2f3e71d";
    private static readonly string[] Secrets = [InlineSecret, FileSecret, EnvSecret, ShortSecret, LevelSecret, SmtpSecret, PagerDutySecret, NickServSecret];

    [Fact]
    public async Task Secrets_never_appear_in_the_log_api_responses_or_config_check_output()
    {
        var dir = Repo.TempDir("secrets");
        int statsd = FreePort.Get(), closed = FreePort.Get(); // nothing listens on `closed`: every delivery fails
        var tokenFile = Path.Combine(dir, "token");
        await File.WriteAllTextAsync(tokenFile, FileSecret + "\n");
        var env = new Dictionary<string, string>
        {
            ["OBSERVE__Auth__Tokens__2__Name"] = "fromenv",
            ["OBSERVE__Auth__Tokens__2__Token"] = EnvSecret,
            ["OBSERVE__Auth__Tokens__2__Scopes"] = "alerts",
        };
        var said = new StringBuilder();
        var observe = await ObserveProcess.StartAsync(new ObserveSetup(dir)
        {
            Environment = env,
            Config = s => $$"""
            http: {port: {{s.HttpPort}}}
            collector:
              statsd: {port: {{statsd}}, flushOnStop: immediate}
              graphite: {enabled: false}
            storage: {dataDir: {{dir}}/data}
            logging: {level: verbose}
            checks:
              hosts:
                - name: web1
                  checks: [{name: backup, kind: passive, maxCheckAttempts: 1}]
            alerting:
              irc: {server: 127.0.0.1, port: {{closed}}, nickservPassword: {{NickServSecret}}, reconnectMinDelay: 1s}
              smtp: {host: 127.0.0.1, port: {{closed}}, username: observe, password: {{SmtpSecret}}, security: none}
              delivery: {maxAttempts: 1}
              route: {receiver: ops, groupWait: 0s}
              receivers:
                - name: ops
                  irc: {channel: "#ops"}
                  email: {to: [ops@example.com]}
                  pagerduty: {routingKey: {{PagerDutySecret}}, url: "http://127.0.0.1:{{closed}}/v2/enqueue"}
            auth:
              tokens:
                - {name: inline, token: {{InlineSecret}}, scopes: [admin]}
                - {name: fromfile, tokenFile: {{tokenFile}}, scopes: [ingest]}
            """,
        });
        try
        {
            var client = observe.Client;

            async Task<HttpStatusCode> Call(HttpMethod method, string path, string? authorization = null, string? json = null)
            {
                using var req = new HttpRequestMessage(method, path);
                if (authorization != null) req.Headers.TryAddWithoutValidation("Authorization", authorization);
                if (json != null) req.Content = new StringContent(json, Encoding.UTF8, "application/json");
                using var res = await client.SendAsync(req);
                said.AppendLine($"{method} {path} → {(int)res.StatusCode}").AppendLine(res.Headers.ToString()).AppendLine(res.Content.Headers.ToString())
                    .AppendLine(await res.Content.ReadAsStringAsync());
                return res.StatusCode;
            }

            const string ev = """{"what":"deploy","tags":"deploy web","data":"v1"}""";
            Assert.Equal(HttpStatusCode.Unauthorized, await Call(HttpMethod.Post, "/events/", null, ev));
            Assert.Equal(HttpStatusCode.Unauthorized, await Call(HttpMethod.Post, "/events/", $"Bearer {FileSecret}x", ev)); // a near miss
            Assert.Equal(HttpStatusCode.Unauthorized, await Call(HttpMethod.Post, "/events/", $"Basic {FileSecret}", ev));
            Assert.Equal(HttpStatusCode.Forbidden, await Call(HttpMethod.Post, "/events/", $"Bearer {EnvSecret}", ev));
            Assert.True((int)await Call(HttpMethod.Post, "/events/", $"Bearer {FileSecret}", ev) < 300);
            Assert.True((int)await Call(HttpMethod.Post, "/api/checks/web1/backup/ack", $"Bearer {EnvSecret}", """{"comment":"x"}""") < 500);
            Assert.Equal(HttpStatusCode.Forbidden, await Call(HttpMethod.Post, "/api/checks/web1/backup/result", $"Bearer {EnvSecret}", """{"status":2,"output":"x"}"""));
            Assert.True((int)await Call(HttpMethod.Post, "/api/checks/web1/backup/result", $"Bearer {InlineSecret}", """{"status":2,"output":"x"}""") < 300);
            // The hard CRITICAL fires an alert: mail and page deliveries fail (nothing listens) and are logged at verbose.
            await Poll.UntilAsync(async () =>
            {
                using var doc = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync("/api/alerts/receivers"));
                var failed = doc.RootElement.GetProperty("receivers").EnumerateArray()
                    .Where(r => r.GetProperty("failed").GetInt64() > 0).Select(r => r.GetProperty("integration").GetString()).ToList();
                return failed.Contains("pagerduty") && failed.Contains("email");
            }, TimeSpan.FromSeconds(30), "the page and the mail failed");
            foreach (var path in new[] { "/api/alerts", "/api/alerts/history", "/api/alerts/receivers", "/api/silences" })
                await Call(HttpMethod.Get, path);
            foreach (var path in new[] { "/stats", "/metrics", "/api/checks", "/render?target=*&format=json", "/metrics/find?query=*",
                                         "/version", "/functions", "/events/get_data", "/tags", "/health", "/nope" })
                await Call(HttpMethod.Get, path);
            Assert.Equal(HttpStatusCode.OK, await Call(HttpMethod.Get, "/stats", $"Bearer {InlineSecret}"));

            Assert.True(await observe.Process.TerminateAsync(TimeSpan.FromSeconds(25)), "observe did not stop on SIGTERM");
        }
        finally { await observe.DisposeAsync(); }
        var log = observe.Log();
        Assert.Contains("statsd listening", log); // the log was captured (verbose level)

        // config check of a file with problems around secrets, with the same environment.
        var bad = Path.Combine(dir, "bad.yaml");
        var levelFile = Path.Combine(dir, "level");
        await File.WriteAllTextAsync(levelFile, LevelSecret);
        await File.WriteAllTextAsync(bad, $$"""
            logging: {levelFile: {{levelFile}}}
            auth:
              tokens:
                - {name: short, token: {{ShortSecret}}, scopes: [admin]}
                - {name: twice, token: {{InlineSecret}}, tokenFile: {{tokenFile}}, scopes: [ingest]}
            """);
        var (exit, check) = await RunToEnd(["config", "check", bad], env);
        Assert.Equal(1, exit);
        Assert.Contains("auth.tokens[0].token: too short", check);
        Assert.Contains("logging.level: '(secret)' is not one of", check);
        Assert.Contains("give either token or tokenFile, not both", check);

        output.WriteLine(check);
        foreach (var secret in Secrets)
        {
            Assert.False(log.Contains(secret), $"the log shows {secret}:\n{log}");
            Assert.False(said.ToString().Contains(secret), $"an API response shows {secret}:\n{said}");
            Assert.False(check.Contains(secret), $"config check shows {secret}:\n{check}");
        }
    }

    private static async Task<(int Exit, string Output)> RunToEnd(string[] args, IDictionary<string, string> env)
    {
        var (exit, stdout, stderr) = await ObserveBinary.RunToEndAsync(args, env.ToDictionary(e => e.Key, e => (string?)e.Value));
        return (exit, stdout + stderr);
    }
}
