using System.CommandLine;
using Observe.Storage.Import;

namespace Observe.Host;

/// <summary>
/// <c>observe import whisper DIR</c> (into a running Observe over HTTP, scope <c>ingest</c>) and
/// <c>observe import carbon-conf SCHEMAS [AGGREGATION]</c> (prints the equivalent <c>storage:</c> rules).
/// </summary>
internal static class ImportCommands
{
    public static void Add(RootCommand root, Option<string?> configOption)
    {
        var url = ClientCommands.UrlOption();
        var token = new Option<string?>("--token") { Description = "Bearer token with scope ingest (default: $OBSERVE_TOKEN)" };
        var dir = new Argument<string>("dir") { Description = "Carbon's whisper directory (e.g. /var/lib/graphite/whisper)" };
        var progress = new Option<string?>("--progress") { Description = "Resume file (default: one per directory under $XDG_STATE_HOME/observe or ~/.local/state/observe)" };
        var restart = new Option<bool>("--restart") { Description = "Ignore the resume file and send every file again (the server still writes only what differs)" };
        var batchBytes = new Option<int>("--batch-bytes")
        {
            Description = "Request body size to aim at; keep it below the server's http.maxRequestBodyBytes",
            DefaultValueFactory = _ => 2 * 1024 * 1024,
        };
        batchBytes.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1024) r.AddError("--batch-bytes must be at least 1024");
        });
        var whisper = new Command("whisper", "Import every .wsp under DIR (every archive at its own resolution) into a running Observe; resumable, idempotent.")
            { dir, url, token, progress, restart, batchBytes, configOption };
        whisper.SetAction((parse, ct) => ClientCommands.WithBaseUrl(parse, url, configOption, b => WhisperImportCli.RunAsync(b,
            parse.GetValue(token) ?? ClientCommands.NullIfEmpty(Environment.GetEnvironmentVariable("OBSERVE_TOKEN")),
            new WhisperImportOptions(parse.GetValue(dir)!, parse.GetValue(progress), parse.GetValue(restart), parse.GetValue(batchBytes)),
            Console.Out, !Console.IsOutputRedirected, ct)));

        var schemas = new Argument<string>("storage-schemas.conf") { Description = "carbon's storage-schemas.conf" };
        var aggregation = new Argument<string?>("storage-aggregation.conf") { Description = "carbon's storage-aggregation.conf", Arity = ArgumentArity.ZeroOrOne };
        var conf = new Command("carbon-conf", "Print carbon's retention and aggregation rules as observe.yaml storage.schemas/storage.aggregation.") { schemas, aggregation };
        conf.SetAction(parse =>
        {
            var s = parse.GetValue(schemas)!;
            var a = parse.GetValue(aggregation);
            foreach (var f in a == null ? [s] : new[] { s, a })
                if (!File.Exists(f)) { Console.Error.WriteLine($"{f}: file not found"); return ClientCommands.UsageError; }
            var problems = new List<string>();
            try { Console.Out.Write(CarbonConf.ToObserveYaml(File.ReadAllText(s), a == null ? null : File.ReadAllText(a), problems, s, a ?? "")); }
            catch (FormatException e) { Console.Error.WriteLine(e.Message); return 1; }
            foreach (var p in problems) Console.Error.WriteLine($"skipped: {p}");
            return problems.Count > 0 ? 1 : 0;
        });

        root.Subcommands.Add(new Command("import", "Bring a Graphite shop's data and rules over.") { whisper, conf });
    }
}
