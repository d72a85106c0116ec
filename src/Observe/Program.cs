using System.CommandLine;
using Observe.Host.Config;

namespace Observe.Host;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        StartupTimeline.Mark("main");
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

        ClientCommands.Add(root, configOption);

        // No System.CommandLine termination handling: it would give `run` only 2 s after SIGTERM before returning from
        // Main. The web host's own SIGTERM handler stops the stages in order (last flush, sinks drained, store closed).
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
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
