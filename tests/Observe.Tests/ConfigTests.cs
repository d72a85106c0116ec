using System.Collections;
using Observe.Host.Config;

namespace Observe.Observe.Tests;

public class ConfigTests
{
    internal static (ObserveConfig, List<ConfigProblem>) LoadText(string yaml, IDictionary? env = null)
    {
        var path = Path.Combine(Path.GetTempPath(), $"observe-config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        try { return ConfigBinder.Load(path, env ?? new Hashtable()); }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Defaults_are_valid_and_match_the_documented_values()
    {
        var (c, problems) = ConfigBinder.Load(null, new Hashtable());
        Assert.Empty(problems);
        Assert.Equal("127.0.0.1", c.Collector.Statsd.Address);
        Assert.Equal(8125, c.Collector.Statsd.Port);
        Assert.Equal(10_000, c.Collector.Statsd.FlushInterval);
        Assert.Equal([90.0], c.Collector.Statsd.PercentThreshold);
        Assert.True(c.Collector.Statsd.LegacyNamespace);
        Assert.Equal(500_000, c.Collector.Statsd.MaxActiveKeys);
        Assert.Equal(2003, c.Collector.Graphite.Port);
        Assert.Equal(8080, c.Http.Port);
        Assert.Equal("./data", c.Storage.DataDir);
    }

    [Fact]
    public void Every_problem_is_reported_with_key_path_and_line()
    {
        var (_, problems) = LoadText("""
            collector:
              statsd:
                port: 99999
                prot: 1
                percentThreshold: [90, abc]
            http:
              port: x
            storage:
              schemas:
                - pattern: "["
                  retentions: 1m:1d,10s:7d
            """);
        var text = problems.Select(p => p.ToString()).ToList();
        Assert.Equal(6, problems.Count);
        Assert.Contains(problems, p => p.KeyPath == "collector.statsd.prot" && p.Line == 4 && p.Message.StartsWith("unknown key"));
        Assert.Contains(problems, p => p.KeyPath == "collector.statsd.percentThreshold[1]" && p.Line == 5);
        Assert.Contains(problems, p => p.KeyPath == "http.port" && p.Line == 7);
        Assert.Contains(problems, p => p.KeyPath == "collector.statsd.port" && p.Line == 3 && p.Message.Contains("99999"));
        Assert.Contains(problems, p => p.KeyPath == "storage.schemas[0].pattern" && p.Line == 10);
        Assert.Contains(problems, p => p.KeyPath == "storage.schemas[0].retentions" && p.Line == 11);
    }

    [Fact]
    public void Retentions_must_go_from_fine_to_coarse()
    {
        var (_, problems) = LoadText("""
            storage:
              schemas:
                - pattern: "^x"
                  retentions: 1m:1d,10s:7d
            """);
        var p = Assert.Single(problems);
        Assert.Equal("storage.schemas[0].retentions", p.KeyPath);
        Assert.Equal(4, p.Line);
    }

    [Fact]
    public void Yaml_syntax_errors_name_the_line()
    {
        var (_, problems) = LoadText("collector:\n  statsd: [\n");
        var p = Assert.Single(problems);
        Assert.Equal("(syntax)", p.KeyPath);
        Assert.True(p.Line >= 2);
    }

    [Fact]
    public void Environment_overrides_the_file()
    {
        var env = new Hashtable
        {
            ["OBSERVE__Collector__Statsd__Port"] = "9125",
            ["OBSERVE__COLLECTOR__STATSD__PERCENTTHRESHOLD"] = "90, 99.9, -10",
            ["OBSERVE__Http__Nope"] = "1",
            ["PATH"] = "/bin",
        };
        var (c, problems) = LoadText("collector:\n  statsd:\n    port: 8000\n", env);
        Assert.Equal(9125, c.Collector.Statsd.Port);
        Assert.Equal([90, 99.9, -10], c.Collector.Statsd.PercentThreshold);
        var p = Assert.Single(problems);
        Assert.Equal("http.nope", p.KeyPath);
    }

    [Fact]
    public void Nested_lists_of_objects_bind()
    {
        var (c, problems) = LoadText("""
            collector:
              statsd:
                histogram:
                  - metric: api.latency
                    bins: [10, 100, inf]
                deleteCounters: true
            """);
        Assert.Empty(problems);
        var h = Assert.Single(c.Collector.Statsd.Histogram);
        Assert.Equal("api.latency", h.Metric);
        Assert.Equal(["10", "100", "inf"], h.Bins);
        Assert.True(c.Collector.Statsd.DeleteCounters);
        Assert.Null(c.Collector.Statsd.DeleteTimers);
    }

    [Fact]
    public void Config_check_exits_non_zero_on_problems_and_zero_on_a_good_file()
    {
        var good = Path.Combine(Path.GetTempPath(), $"observe-good-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(good, "http:\n  port: 8081\n");
        Assert.Equal(0, Host.Program.CheckConfig(good));
        File.WriteAllText(good, "http:\n  prot: 8081\n");
        Assert.Equal(1, Host.Program.CheckConfig(good));
        File.Delete(good);
    }
    [Fact]
    public void Auth_tokens_are_validated_with_key_paths_and_the_secret_is_never_echoed()
    {
        var (_, problems) = LoadText("""
            auth:
              tokens:
                - name: deploybot
                  token: short-secret-x
                  scopes: [deploy, root]
                - name: deploybot
                  tokenFile: /nonexistent/observe-token
                  scopes: []
                - token: a-long-enough-secret-value
                  tokenFile: /etc/hostname
                  scopes: [admin]
            """);
        var text = string.Join("\n", problems);
        Assert.True(text.Contains("auth.tokens[0].token: too short"), text);
        Assert.Contains("auth.tokens[0].scopes[1]: 'root' is not one of", text);
        Assert.Contains("auth.tokens[1].name: 'deploybot' is used by another token", text);
        Assert.Contains("auth.tokens[1].tokenFile: '/nonexistent/observe-token' does not exist", text);
        Assert.Contains("auth.tokens[1].scopes: give at least one", text);
        Assert.Contains("auth.tokens[2].name: every token needs a name", text);
        Assert.Contains("auth.tokens[2].tokenFile: give either token or tokenFile, not both", text);
        Assert.DoesNotContain("short-secret-x", text);
        Assert.DoesNotContain("a-long-enough-secret-value", text);
    }

    [Fact]
    public void Any_text_key_can_come_from_a_file_or_the_environment_and_list_items_are_addressed_by_index()
    {
        var dir = Directory.CreateTempSubdirectory("observe-secrets").FullName;
        File.WriteAllText(Path.Combine(dir, "token"), "file-secret-0123456789abc\n");
        File.WriteAllText(Path.Combine(dir, "host"), "carbon.internal\n");
        File.WriteAllText(Path.Combine(dir, "env-token"), "env-file-secret-0123456789");
        var env = new Hashtable
        {
            ["OBSERVE__Auth__Tokens__1__Name"] = "ci",
            ["OBSERVE__Auth__Tokens__1__TokenFile"] = Path.Combine(dir, "env-token"),
            ["OBSERVE__Auth__Tokens__1__Scopes"] = "ingest,deploy",
            ["OBSERVE__Auth__Tokens__2__Name"] = "bot",
            ["OBSERVE__Auth__Tokens__2__Token"] = "env-inline-secret-0123456789",
            ["OBSERVE__Auth__Tokens__2__Scopes"] = "alerts",
        };
        var (c, problems) = LoadText($"""
            sinks:
              carbon:
                hostFile: {dir}/host
            auth:
              tokens:
                - name: deploybot
                  tokenFile: {dir}/token
                  scopes: [deploy]
            """, env);
        Assert.Empty(problems);
        Assert.Equal("carbon.internal", Assert.Single(c.Sinks.Carbon).Host); // the older single-mapping form
        Assert.Equal(["deploybot", "ci", "bot"], c.Auth.Tokens.Select(t => t.Name));
        Assert.Equal(["file-secret-0123456789abc", "env-file-secret-0123456789", "env-inline-secret-0123456789"], c.Auth.Tokens.Select(t => t.Token));
        Assert.Equal(["ingest", "deploy"], c.Auth.Tokens[1].Scopes);
        Directory.Delete(dir, true);
    }

    /// <summary>Issue 15 finding 12: redaction matched substrings, so a secret "short" garbled "too short" and gave itself away;
    /// two tokens with one secret (different scopes) passed.</summary>
    [Fact]
    public void Secrets_are_redacted_as_whole_tokens_and_two_tokens_may_not_share_a_secret()
    {
        var dir = Directory.CreateTempSubdirectory("observe-secrets").FullName;
        File.WriteAllText(Path.Combine(dir, "level"), "short");
        var (_, problems) = LoadText($$"""
            logging:
              levelFile: {{dir}}/level
            auth:
              tokens:
                - {name: tiny, token: short, scopes: [read]}
                - {name: reader, token: one-secret-for-two-0123, scopes: [read]}
                - {name: writer, token: one-secret-for-two-0123, scopes: [admin]}
            """);
        var text = string.Join("\n", problems);
        Assert.Contains("auth.tokens[0].token: too short: use at least 16 characters", text);
        Assert.Contains("logging.level: '(secret)' is not one of", text);
        Assert.DoesNotContain("too (secret)", text);
        Assert.Contains("auth.tokens[2].token: the same secret as auth.tokens[1]; every token needs its own", text);
        Assert.DoesNotContain("one-secret-for-two-0123", text);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Redaction_replaces_a_secret_standing_as_a_value_but_not_inside_a_word()
    {
        var problems = ConfigBinder.Redact([new("f", 1, 1, "k", "'hunter2' and key=hunter2; and (hunter2) but not hunter22 or xhunter2, nor short in shorter")],
            ["hunter2", "short"]);
        Assert.Equal("'(secret)' and key=(secret); and ((secret)) but not hunter22 or xhunter2, nor (secret) in shorter", Assert.Single(problems).Message);
    }

    [Fact]
    public void A_secret_is_never_quoted_in_a_problem_even_when_a_validator_echoes_the_value()
    {
        var dir = Directory.CreateTempSubdirectory("observe-secrets").FullName;
        File.WriteAllText(Path.Combine(dir, "level"), "file-secret-quoted-by-validator");
        var env = new Hashtable
        {
            ["OBSERVE__Auth__Tokens__0__Name"] = "env-secret-name-is-no-secret",
            ["OBSERVE__Auth__Tokens__0__Token"] = "env-secret-x",
            ["OBSERVE__Auth__Tokens__0__Scopes"] = "root",
            ["OBSERVE__Sinks__Carbon__0__PortFile"] = "/x", // not a text key: no file rule
            ["OBSERVE__Auth__Tokens__x__Token"] = "env-secret-bad-index",
        };
        var (_, problems) = LoadText($"""
            logging:
              levelFile: {dir}/level
            http:
              addressFile: /nonexistent/observe-address
            """, env);
        var text = string.Join("\n", problems);
        Assert.Contains(problems, p => p.KeyPath == "logging.level" && p.Line == 2 && p.Message.StartsWith("'(secret)' is not one of"));
        Assert.Contains("http.addressFile: '/nonexistent/observe-address' does not exist", text);
        Assert.True(text.Contains("auth.tokens[0].token: too short"), text);
        Assert.Contains("sinks.carbon[0].portFile: unknown key", text);
        Assert.Contains("auth.tokens[x]: expected an item number", text);
        foreach (var secret in new[] { "file-secret-quoted-by-validator", "env-secret-x", "env-secret-bad-index" })
            Assert.DoesNotContain(secret, text);
        Directory.Delete(dir, true);
    }
}

public class ChecksConfigTests
{
    [Fact]
    public void Check_problems_name_the_key_path_and_line()
    {
        var path = Path.Combine(Path.GetTempPath(), $"observe-checks-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, """
            checks:
              hosts:
                - name: web1
                  checks:
                    - name: ping
                      kind: telepathy
                    - name: disk
                      kind: command
                      command: [/nonexistent/check_disk, -w, "10%"]
            """);
        try
        {
            var (_, problems) = ConfigBinder.Load(path, new System.Collections.Hashtable());
            Assert.Equal(2, problems.Count);
            Assert.Contains(problems, p => p.KeyPath == "checks.hosts[0].checks[0].kind" && p.Line == 6 && p.Message.Contains("telepathy"));
            Assert.Contains(problems, p => p.KeyPath == "checks.hosts[0].checks[1].command[0]" && p.Line == 9 && p.Message.Contains("not found"));
            Assert.Equal(1, Host.Program.CheckConfig(path));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Deploys_section_binds_and_every_problem_names_its_key_and_line()
    {
        var (c, problems) = ConfigTests.LoadText("""
            checks:
              hosts:
                - name: web1
                  checks:
                    - {name: http, kind: tcp, port: 80}
            deploys:
              window: 2m
              services:
                - name: mobile-api
                  autoRollback: true
                  checks: [web1/http]
                  slis:
                    - {name: errors, target: "divideSeries(stats.api.errors, stats.api.requests)", maxRatio: 2, floor: 0.01}
                    - {name: p90, target: stats.timers.api.upper_90, maxRatio: 1.5}
                  rollback:
                    command: [/usr/local/bin/rollback, --fast]
                    timeout: 2m
            """);
        Assert.Empty(problems);
        var svc = Assert.Single(c.Deploys.Services);
        Assert.Equal("2m", c.Deploys.Window);
        Assert.Equal("30m", c.Deploys.Baseline);
        Assert.Equal(0.01, svc.Slis[0].Floor);
        Assert.Equal(["/usr/local/bin/rollback", "--fast"], svc.Rollback!.Command);

        (_, problems) = ConfigTests.LoadText("""
            deploys:
              window: soon
              services:
                - name: "mobile api"
                  autoRollback: true
                  checks: [web1/http, nohost]
                  slis:
                    - {name: errors, target: "divideSeries(stats.api.errors", direction: up, maxRatio: 0.5}
            """);
        string[] keys = ["deploys.window", "deploys.services[0].name", "deploys.services[0].autoRollback", "deploys.services[0].checks[0]",
            "deploys.services[0].checks[1]", "deploys.services[0].slis[0].target", "deploys.services[0].slis[0].direction", "deploys.services[0].slis[0].maxRatio"];
        foreach (var k in keys) Assert.Contains(problems, p => p.KeyPath == k && p.Line > 0);
        Assert.Equal(keys.Length, problems.Count);
    }

    [Fact]
    public void Alerting_secrets_come_from_a_file_or_the_environment_of_a_list_item()
    {
        var keyFile = Path.Combine(Path.GetTempPath(), $"observe-pd-{Guid.NewGuid():N}");
        File.WriteAllText(keyFile, "pd-key-from-file\n");
        try
        {
            var (c, problems) = ConfigTests.LoadText($$"""
                alerting:
                  smtp: { host: mail.example.com, username: observe, passwordFile: {{keyFile}} }
                  route: { receiver: pager }
                  receivers:
                    - { name: pager, pagerduty: { routingKeyFile: {{keyFile}} } }
                    - { name: other, pagerduty: { routingKey: placeholder } }
                """, new System.Collections.Hashtable { ["OBSERVE__Alerting__Receivers__1__Pagerduty__RoutingKey"] = "pd-key-from-env" });
            Assert.Empty(problems);
            Assert.Equal("pd-key-from-file", c.Alerting.Smtp.Password);
            Assert.Equal("pd-key-from-file", c.Alerting.Receivers[0].Pagerduty!.RoutingKey);
            Assert.Equal("pd-key-from-env", c.Alerting.Receivers[1].Pagerduty!.RoutingKey);
        }
        finally { File.Delete(keyFile); }
    }

    [Fact]
    public void An_alerting_section_binds_and_its_problems_name_the_key_path_and_line()
    {
        var path = Path.Combine(Path.GetTempPath(), $"observe-alerting-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, """
            alerting:
              irc: { server: irc.example.com, port: 6697, tls: true, nickservPassword: s3cret-nickserv }
              smtp: { host: mail.example.com, security: starttls, username: observe, password: s3cret-smtp }
              receivers:
                - name: ops
                  irc: { channel: "#ops" }
                  email: { to: [ops@example.com] }
                - name: pager
                  pagerduty: { routingKey: s3cret-routing-key }
              route:
                receiver: ops
                group_by: [host]
                routes:
                  - receiver: pager
                    matchers: [severity=critical]
                    continue: true
                    escalation: [{ after: 15m, receiver: ops }]
                  - receiver: nobody
                    groupWait: soon
              inhibitRules:
                - sourceMatchers: [check=_host]
                  targetMatchers: [check!=_host]
                  equal: [host]
            """);
        try
        {
            var (c, problems) = ConfigBinder.Load(path, new System.Collections.Hashtable());
            Assert.Equal(2, problems.Count);
            Assert.Contains(problems, p => p.KeyPath == "alerting.route.routes[1].receiver" && p.Line == 18 && p.Message.Contains("nobody"));
            Assert.Contains(problems, p => p.KeyPath == "alerting.route.routes[1].groupWait" && p.Line == 19);
            Assert.DoesNotContain(problems, p => p.Message.Contains("s3cret"));
            Assert.Equal(["host"], c.Alerting.Route.GroupBy);
            Assert.True(c.Alerting.Route.Routes[0].Continue);
            Assert.Equal("15m", c.Alerting.Route.Routes[0].Escalation![0].After);
            Assert.Equal("s3cret-routing-key", c.Alerting.Receivers[1].Pagerduty!.RoutingKey);
            Assert.Equal(["host"], c.Alerting.InhibitRules[0].Equal);
            Assert.True(c.Alerting.Irc.Tls);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Sinks_are_lists_validated_per_item_without_echoing_their_secrets()
    {
        var (c, problems) = ConfigTests.LoadText("""
            sinks:
              spool: {maxBytes: 10, retryMaxSeconds: 5}
              carbon: {host: graphite.internal, port: 2004}
              influx:
                - {name: influx, url: "http://influx:8086", db: observe, username: u, password: influx-secret-value}
                - {name: carbon, url: "ftp://x", version: 2, token: v2-secret-token-value, precision: h}
            """);
        Assert.Equal(("carbon", "graphite.internal", 2004), (c.Sinks.Carbon.Single().Name, c.Sinks.Carbon[0].Host, c.Sinks.Carbon[0].Port));
        Assert.Equal("influx-secret-value", c.Sinks.Influx[0].Password);
        var text = string.Join("\n", problems);
        Assert.Contains("sinks.spool.maxBytes: must be at least 1024", text);
        Assert.Contains("sinks.influx[1].name: 'carbon' is already the name of another sink", text);
        Assert.Contains("sinks.influx[1].url: must be an http(s) URL", text);
        Assert.Contains("sinks.influx[1].bucket: required for version 2", text);
        Assert.Contains("sinks.influx[1].precision:", text);
        Assert.Equal(5, problems.Count);
        Assert.DoesNotContain("secret", text);
    }
}
