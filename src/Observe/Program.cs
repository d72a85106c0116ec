using System.CommandLine;
using Observe.Host.Config;

namespace Observe.Host;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("Observe: StatsD + Graphite + Nagios in one program, tied to deploys.");

        var configOption = new Option<string?>("--config", "-c")
        {
            Description = "Path to observe.yaml (every key optional; see docs/configuration.md)",
        };
        var run = new Command("run", "Start every enabled stage: listeners, aggregation, storage, HTTP API.") { configOption };
        run.SetAction((parse, ct) => ObserveHost.RunAsync(parse.GetValue(configOption), ct));
        root.Subcommands.Add(run);

        var checkFile = new Argument<string?>("file") { Description = "Config file to check (default observe.yaml)", Arity = ArgumentArity.ZeroOrOne };
        var check = new Command("check", "Validate a config file; report every problem with its key path and line.") { checkFile, configOption };
        check.SetAction(parse => CheckConfig(parse.GetValue(checkFile) ?? parse.GetValue(configOption) ?? "observe.yaml"));
        var config = new Command("config", "Configuration commands.") { check };
        root.Subcommands.Add(config);

        var problemsOnly = new Option<bool>("--problems") { Description = "Only checks that are not OK" };
        var checks = new Command("checks", "Show the state of every check of a running Observe (exit code: worst state).") { problemsOnly, configOption };
        checks.SetAction(async (parse, ct) =>
        {
            var (cfg, _) = ConfigBinder.Load(parse.GetValue(configOption) ?? (File.Exists("observe.yaml") ? "observe.yaml" : null));
            return await Observe.Checks.ChecksCli.PrintAsync(new Uri($"http://{cfg.Http.Address}:{cfg.Http.Port}/"), parse.GetValue(problemsOnly), Console.Out, ct);
        });
        var availFrom = new Option<string>("--from") { Description = "Start of the report: -30d, -12h, ISO-8601 or unix seconds", DefaultValueFactory = _ => "-30d" };
        var availUntil = new Option<string>("--until") { Description = "End of the report (default now)", DefaultValueFactory = _ => "now" };
        var availHost = new Option<string?>("--host") { Description = "Only this host's checks" };
        var availability = new Command("availability", "Time each check spent OK / WARNING / CRITICAL / UNKNOWN / in downtime / unmonitored, problems and MTTR.") { availFrom, availUntil, availHost, configOption };
        availability.SetAction(async (parse, ct) =>
        {
            var (cfg, _) = ConfigBinder.Load(parse.GetValue(configOption) ?? (File.Exists("observe.yaml") ? "observe.yaml" : null));
            return await Observe.Checks.ChecksCli.PrintAvailabilityAsync(new Uri($"http://{cfg.Http.Address}:{cfg.Http.Port}/"), parse.GetValue(availFrom)!,
                parse.GetValue(availUntil)!, parse.GetValue(availHost), Console.Out, ct);
        });
        checks.Subcommands.Add(availability);
        root.Subcommands.Add(checks);
        AddAlertingCommands(root, configOption);

        root.Subcommands.Add(DeployCommand(configOption));

        // No System.CommandLine termination handling: it would give `run` only 2 s after SIGTERM before returning from
        // Main. The web host's own SIGTERM handler stops the stages in order (last flush, sinks drained, store closed).
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    /// <summary>
    /// <c>observe deploy start|finish|fail|lock|unlock</c>: talks HTTP to a running Observe (<c>--url</c>, default from the
    /// config's http address and port), with <c>Authorization: Bearer $OBSERVE_TOKEN</c> when that is set.
    /// </summary>
    private static Command DeployCommand(Option<string?> configOption)
    {
        var url = new Option<string?>("--url") { Description = "Observe's HTTP address (default: http.address/http.port of the config)" };
        var by = new Option<string?>("--by") { Description = "Who is deploying (default $USER; a token's name wins)" };
        var force = new Option<bool>("--force") { Description = "Go past (or take over) a lock held by someone else; recorded and announced" };
        var deploy = new Command("deploy", "Deploy markers and environment locks (exit 0 ok, 1 deploy failed/rolled back, 2 refused, 3 unreachable).");
        foreach (var ev in new[] { "start", "finish", "fail" })
        {
            var service = new Option<string>("--service") { Description = "Service name", Required = true };
            var env = new Option<string>("--env") { Description = "Environment", Required = true };
            var version = new Option<string>("--version") { Description = "Version being deployed", Required = true };
            var branch = new Option<string?>("--branch");
            var revision = new Option<string?>("--revision");
            var description = new Option<string?>("--description");
            var reason = new Option<string?>("--reason") { Description = "fail: what went wrong" };
            var id = new Option<string?>("--id") { Description = "Client-chosen deploy id (a repeated marker with the same id changes nothing)" };
            var rollbackOf = new Option<string?>("--rollback-of") { Description = "This deploy is a rollback of that deploy id (default $OBSERVE_ROLLBACK_OF)" };
            var wait = new Option<bool>("--wait") { Description = "finish: wait for the verdict; exit 1 when the deploy is rolled back" };
            var waitTimeout = new Option<string>("--wait-timeout") { Description = "How long --wait waits (default 15m)", DefaultValueFactory = _ => "15m" };
            var cmd = new Command(ev, $"Mark the {ev} of a deploy.") { service, env, version, branch, revision, by, description, reason, id, force, rollbackOf, url, configOption };
            if (ev == "finish") { cmd.Options.Add(wait); cmd.Options.Add(waitTimeout); }
            cmd.SetAction(async (parse, ct) =>
            {
                TimeSpan? waitFor = null;
                if (parse.GetValue(wait))
                {
                    if (!Observe.Checks.Durations.TryParse(parse.GetValue(waitTimeout), out var w)) { Console.Out.WriteLine("--wait-timeout is not a duration (e.g. 10m)"); return 2; }
                    waitFor = w;
                }
                var marker = new Observe.DeployMarkers.DeployCliMarker(ev, parse.GetValue(id), parse.GetValue(service), parse.GetValue(env), parse.GetValue(version),
                    parse.GetValue(branch), parse.GetValue(revision), parse.GetValue(by) ?? Environment.GetEnvironmentVariable("USER"), parse.GetValue(description),
                    parse.GetValue(reason), parse.GetValue(force), parse.GetValue(rollbackOf) ?? NullIfEmpty(Environment.GetEnvironmentVariable("OBSERVE_ROLLBACK_OF")));
                return await Observe.DeployMarkers.DeployCli.MarkAsync(BaseUrl(parse.GetValue(url), parse.GetValue(configOption)), Token(), marker, waitFor, Console.Out, ct);
            });
            deploy.Subcommands.Add(cmd);
        }
        var lockEnv = new Argument<string>("env") { Description = "Environment to lock" };
        var lockReason = new Option<string?>("--reason") { Description = "Why (shown to whoever is refused)" };
        var lockCmd = new Command("lock", "Lock an environment: deploys by anyone else are refused with 409.") { lockEnv, by, lockReason, force, url, configOption };
        lockCmd.SetAction((parse, ct) => Observe.DeployMarkers.DeployCli.LockAsync(BaseUrl(parse.GetValue(url), parse.GetValue(configOption)), Token(),
            parse.GetValue(lockEnv)!, parse.GetValue(by) ?? Environment.GetEnvironmentVariable("USER"), parse.GetValue(lockReason), parse.GetValue(force), Console.Out, ct));
        deploy.Subcommands.Add(lockCmd);
        var unlockEnv = new Argument<string>("env") { Description = "Environment to unlock" };
        var unlockCmd = new Command("unlock", "Release an environment lock (someone else's only with --force).") { unlockEnv, by, force, url, configOption };
        unlockCmd.SetAction((parse, ct) => Observe.DeployMarkers.DeployCli.UnlockAsync(BaseUrl(parse.GetValue(url), parse.GetValue(configOption)), Token(),
            parse.GetValue(unlockEnv)!, parse.GetValue(by) ?? Environment.GetEnvironmentVariable("USER"), parse.GetValue(force), Console.Out, ct));
        deploy.Subcommands.Add(unlockCmd);
        return deploy;
    }

    private static Uri BaseUrl(string? url, string? configPath)
    {
        if (!string.IsNullOrEmpty(url)) return new Uri(url);
        var (cfg, _) = ConfigBinder.Load(configPath ?? (File.Exists("observe.yaml") ? "observe.yaml" : null));
        return new Uri($"http://{cfg.Http.Address}:{cfg.Http.Port}/");
    }

    private static string? Token() => NullIfEmpty(Environment.GetEnvironmentVariable("OBSERVE_TOKEN"));

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    /// <summary><c>observe ack</c>, <c>observe silence add|list|expire</c>, <c>observe alerts</c> (Alerting's API over HTTP).</summary>
    private static void AddAlertingCommands(RootCommand root, Option<string?> configOption)
    {
        static Uri Base(ParseResult parse, Option<string?> configOption) => BaseUrl(null, parse.GetValue(configOption));
        var author = new Option<string?>("--author") { Description = "Who (ignored when OBSERVE_TOKEN is set: the token's name is recorded)" };

        var ackKey = new Argument<string>("key") { Description = "Alert key, e.g. check/web1/http (see observe alerts)" };
        var ackComment = new Option<string?>("--comment", "-m") { Description = "Why / what you are doing" };
        var ack = new Command("ack", "Acknowledge a firing alert: escalation stops, receivers are told.") { ackKey, ackComment, author, configOption };
        ack.SetAction((parse, ct) => Observe.Alerting.AlertingCli.AckAsync(Base(parse, configOption), parse.GetValue(ackKey)!, parse.GetValue(ackComment), parse.GetValue(author), Console.Out, ct));
        root.Subcommands.Add(ack);

        var alerts = new Command("alerts", "List the alerts of a running Observe (firing, resolving; acked, silenced, inhibited).") { configOption };
        alerts.SetAction((parse, ct) => Observe.Alerting.AlertingCli.AlertsAsync(Base(parse, configOption), Console.Out, ct));
        root.Subcommands.Add(alerts);

        var match = new Option<string[]>("--match") { Description = "Label matcher (repeatable): host=web1, check!=_host, service=~api|web", Required = true, AllowMultipleArgumentsPerToken = false };
        var forOption = new Option<string>("--for") { Description = "How long, e.g. 2h", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why (recorded)", Required = true };
        var add = new Command("add", "Silence alerts matching every --match for a while.") { match, forOption, reason, author, configOption };
        add.SetAction((parse, ct) => Observe.Alerting.AlertingCli.SilenceAddAsync(Base(parse, configOption), parse.GetValue(match)!, parse.GetValue(forOption)!, parse.GetValue(reason)!, parse.GetValue(author), Console.Out, ct));
        var list = new Command("list", "List silences (pending, active, expired).") { configOption };
        list.SetAction((parse, ct) => Observe.Alerting.AlertingCli.SilenceListAsync(Base(parse, configOption), Console.Out, ct));
        var id = new Argument<string>("id") { Description = "Silence id (see observe silence list)" };
        var expire = new Command("expire", "End a silence now.") { id, configOption };
        expire.SetAction((parse, ct) => Observe.Alerting.AlertingCli.SilenceExpireAsync(Base(parse, configOption), parse.GetValue(id)!, Console.Out, ct));
        root.Subcommands.Add(new Command("silence", "Silences of a running Observe.") { add, list, expire });
    }

    internal static int CheckConfig(string path)
    {
        var (_, problems) = ConfigBinder.Load(path);
        if (problems.Count == 0)
        {
            Console.Out.WriteLine($"{path}: OK");
            return 0;
        }
        foreach (var p in problems) Console.Error.WriteLine(p);
        Console.Error.WriteLine($"{problems.Count} problem(s) in {path}");
        return 1;
    }
}
