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
        root.Subcommands.Add(checks);
        AddAlertingCommands(root, configOption);

        return await root.Parse(args).InvokeAsync();
    }

    /// <summary><c>observe ack</c>, <c>observe silence add|list|expire</c>, <c>observe alerts</c> (Alerting's API over HTTP).</summary>
    private static void AddAlertingCommands(RootCommand root, Option<string?> configOption)
    {
        static Uri Base(ParseResult parse, Option<string?> configOption)
        {
            var (cfg, _) = ConfigBinder.Load(parse.GetValue(configOption) ?? (File.Exists("observe.yaml") ? "observe.yaml" : null));
            return new Uri($"http://{cfg.Http.Address}:{cfg.Http.Port}/");
        }
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
