using System.Net.Http.Json;
using System.Text.Json;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// The client commands of the real `observe` binary (deploy, checks, alerts, ack, silence) as a new user meets them:
/// where Observe is (--url), who they are, and what --help offers.
/// </summary>
public class CliTests(ITestOutputHelper output)
{
    /// <summary>cron, systemd, containers and a rollback command's own environment have no $USER (nor $LOGNAME).</summary>
    private static readonly Dictionary<string, string?> NoUser = new() { ["USER"] = null, ["LOGNAME"] = null };

    private async Task<(int Exit, string Stdout, string Stderr)> Observe(params string[] args)
    {
        var r = await ObserveBinary.RunToEndAsync(args, NoUser, workDir: Repo.TempDir("cli"));
        output.WriteLine($"observe {string.Join(' ', args)} → {r.Exit}\n{r.Stdout}{r.Stderr}");
        return r;
    }

    [Fact]
    public async Task Deploy_lock_unlock_start_and_finish_without_USER_are_by_the_OS_user()
    {
        await using var app = await ObserveApp.StartAsync(c => c.Collector.Statsd.Enabled = false);
        var url = app.HttpBase.ToString();
        var who = Environment.UserName;
        var locked = await Observe("deploy", "lock", "staging", "--reason", "db migration", "--url", url);
        Assert.Equal(0, locked.Exit);
        Assert.Contains($"staging locked by {who}", locked.Stdout);
        Assert.Equal(0, (await Observe("deploy", "unlock", "staging", "--url", url)).Exit);
        Assert.Equal(0, (await Observe("deploy", "start", "--service", "shop", "--env", "prod", "--version", "v1", "--url", url)).Exit);
        Assert.Equal(0, (await Observe("deploy", "finish", "--service", "shop", "--env", "prod", "--version", "v1", "--url", url)).Exit);
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        var deploys = await http.GetFromJsonAsync<JsonElement>("/api/deploys?service=shop&env=prod");
        Assert.Equal(who, deploys[0].GetProperty("by").GetString());
    }

    [Fact]
    public async Task Every_client_command_takes_url_as_host_port_and_refuses_a_bad_one_with_exit_2()
    {
        await using var app = await ObserveApp.StartAsync(c => c.Collector.Statsd.Enabled = false);
        var hostPort = $"127.0.0.1:{app.HttpBase.Port}";
        string[][] commands =
        [
            ["checks"], ["alerts"], ["silence", "list"], ["deploy", "lock", "qa", "--by", "ci"],
            ["deploy", "start", "--service", "shop", "--env", "qa2", "--version", "v1"],
        ];
        var good = await Task.WhenAll(commands.Select(c => Observe([.. c, "--url", hostPort])));
        Assert.All(good, r => Assert.Equal(0, r.Exit));
        string[][] refused =
        [
            .. commands, ["ack", "check/web1/http"], ["silence", "add", "--match", "host=web1", "--for", "1h", "--reason", "x"], ["silence", "expire", "abc"],
            ["deploy", "unlock", "qa"], ["deploy", "fail", "--service", "shop", "--env", "qa", "--version", "v1"],
        ];
        foreach (var bad in new[] { "notaurl", "ftp://127.0.0.1:21", "http://" })
        {
            var results = await Task.WhenAll(refused.Select(c => Observe([.. c, "--url", bad])));
            Assert.All(results, r =>
            {
                Assert.Equal(2, r.Exit);
                Assert.Contains($"--url '{bad}' is not an HTTP address", r.Stderr);
                Assert.DoesNotContain("   at ", r.Stdout + r.Stderr);
            });
        }
    }

    [Fact]
    public async Task A_client_command_refuses_a_config_file_that_does_not_exist()
    {
        foreach (var cmd in new[] { new[] { "checks" }, ["alerts"], ["deploy", "unlock", "qa"] })
        {
            var r = await Observe([.. cmd, "-c", "missing.yaml"]);
            Assert.Equal(2, r.Exit);
            Assert.Contains("missing.yaml: file not found", r.Stderr);
        }
    }

    [Fact]
    public async Task A_client_command_reads_only_the_http_section_of_its_config()
    {
        await using var app = await ObserveApp.StartAsync(c => c.Collector.Statsd.Enabled = false);
        var dir = Repo.TempDir("clicfg");
        var config = Path.Combine(dir, "server.yaml");
        // The server's problems are not the client's: it needs the address, nothing else.
        await File.WriteAllTextAsync(config, $"http: {{port: {app.HttpBase.Port}}}\ncollector: {{statsd: {{flushInterval: soon}}}}\nchecks: {{bogus: 1}}\n");
        Assert.Equal(0, (await Observe("alerts", "-c", config)).Exit);
        await File.WriteAllTextAsync(config, "http: {port: 70000}\n");
        var bad = await Observe("alerts", "-c", config);
        Assert.Equal(2, bad.Exit);
        Assert.Contains("http.port", bad.Stderr);
    }

    [Fact]
    public async Task Only_deploy_fail_offers_a_reason_and_only_finish_offers_wait()
    {
        var start = await Observe("deploy", "start", "--help");
        var finish = await Observe("deploy", "finish", "--help");
        var fail = await Observe("deploy", "fail", "--help");
        Assert.DoesNotContain("--reason", start.Stdout);
        Assert.DoesNotContain("--reason", finish.Stdout);
        Assert.Contains("--reason", fail.Stdout);
        Assert.Contains("--wait", finish.Stdout);
        Assert.DoesNotContain("--wait", fail.Stdout);
        // The who-default is said where it applies.
        Assert.Contains("the OS user name, else the host name", start.Stdout);
        Assert.Contains("the OS user name, else the host name", (await Observe("silence", "add", "--help")).Stdout);
    }
}
