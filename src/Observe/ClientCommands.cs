using System.CommandLine;
using Observe.Common;
using Observe.Host.Config;

namespace Observe.Host;

/// <summary>
/// The commands that talk HTTP to a running Observe (<c>deploy …</c>, <c>checks</c>, <c>alerts</c>, <c>ack</c>,
/// <c>silence …</c>). Each takes <c>--url</c> and <c>--config</c> the same way, and the same default for "who".
/// </summary>
internal static class ClientCommands
{
    /// <summary>Exit code for a bad command line (an unusable --url, a missing --config): the same as "refused" for deploys.</summary>
    public const int UsageError = 2;

    public const string UrlHelp = "Observe's HTTP address: http(s)://host:port or host:port (default: http.address/http.port of --config or ./observe.yaml, https when it has http.tls)";

    // Every command that takes --url takes these too (added in Add): how to trust an HTTPS server.
    private static readonly Option<string?> CaFile = new("--ca-file") { Description = "PEM CA certificate(s) to trust for https:// besides the system's (a self-signed server certificate itself works; default $OBSERVE_CA_FILE)" };
    private static readonly Option<bool> Insecure = new("--insecure") { Description = "Do not check the https:// server's certificate at all (a test box only; default $OBSERVE_TLS_INSECURE=1)" };

    /// <summary>
    /// Who runs a client command when <c>--by</c>/<c>--author</c> is not given: the OS user name (from the user database,
    /// so it works where <c>$USER</c> is unset: cron, systemd, containers, a rollback command), else the host name.
    /// A bearer token's name always wins on the server.
    /// </summary>
    public const string WhoHelp = "default: the OS user name, else the host name; a token's name wins";

    public static string DefaultWho()
    {
        try
        {
            var user = Environment.UserName;
            if (!string.IsNullOrWhiteSpace(user)) return user;
        }
        catch (Exception e) when (e is InvalidOperationException or PlatformNotSupportedException) { }
        return Environment.MachineName;
    }

    /// <summary>The <c>--url</c> option every client command carries.</summary>
    public static Option<string?> UrlOption() => new("--url") { Description = UrlHelp };

    /// <summary>
    /// Where Observe is: <paramref name="url"/> when given (<c>host:port</c> gets <c>http://</c>), otherwise the HTTP
    /// address of the config (read only then). Null with <paramref name="error"/> set when neither gives a usable address.
    /// </summary>
    public static Uri? BaseUrl(string? url, string? configPath, out string? error)
    {
        error = null;
        if (!string.IsNullOrEmpty(url))
        {
            var text = url.Trim();
            var hasScheme = text.Contains("://", StringComparison.Ordinal);
            // Without a scheme only host:port is taken: a bare word is more likely a mistake than a host name.
            if (!hasScheme && !HasPort(text)) { error = BadUrl(url); return null; }
            if (Uri.TryCreate(hasScheme ? text : "http://" + text, UriKind.Absolute, out var u)
                && u.Scheme is "http" or "https" && u.Host.Length > 0 && string.IsNullOrEmpty(u.Query) && string.IsNullOrEmpty(u.Fragment))
                return u.AbsoluteUri.EndsWith('/') ? u : new Uri(u.AbsoluteUri + "/");
            error = BadUrl(url);
            return null;
        }
        if (configPath != null && !File.Exists(configPath)) { error = $"--config {configPath}: file not found"; return null; }
        // Only the http section is read: the rest of the config is the server's business.
        var (http, problems) = ConfigBinder.LoadHttp(configPath ?? (File.Exists("observe.yaml") ? "observe.yaml" : null));
        if (problems.Count > 0)
        {
            error = string.Join('\n', problems) + $"\n{problems.Count} configuration problem(s); give --url or fix the config";
            return null;
        }
        return new Uri($"{(http.Tls.Enabled ? "https" : "http")}://{(http.Address.Contains(':') ? $"[{http.Address}]" : http.Address)}:{http.Port}/");
    }

    private static bool HasPort(string hostPort)
    {
        var colon = hostPort.LastIndexOf(':');
        return colon > 0 && int.TryParse(hostPort.AsSpan(colon + 1).TrimEnd('/'), out var port) && port is > 0 and <= 65535;
    }

    private static string BadUrl(string url) => $"--url '{url}' is not an HTTP address (e.g. http://127.0.0.1:8080 or 127.0.0.1:8080)";

    /// <summary>Runs <paramref name="action"/> against the resolved address, or prints why there is none and exits with <see cref="UsageError"/>.</summary>
    public static async Task<int> WithBaseUrl(ParseResult parse, Option<string?> url, Option<string?> config, Func<Uri, Task<int>> action)
    {
        var baseUrl = BaseUrl(parse.GetValue(url), parse.GetValue(config), out var error);
        error ??= Observe.Durability.ApiClient.Trust(parse.GetValue(CaFile) ?? NullIfEmpty(Environment.GetEnvironmentVariable("OBSERVE_CA_FILE")),
            parse.GetValue(Insecure) || Environment.GetEnvironmentVariable("OBSERVE_TLS_INSECURE") == "1");
        if (baseUrl == null || error != null)
        {
            await Console.Error.WriteLineAsync(error);
            return UsageError;
        }
        return await action(baseUrl);
    }

    public static void Add(RootCommand root, Option<string?> configOption)
    {
        AddChecks(root, configOption);
        AddAlerting(root, configOption);
        root.Subcommands.Add(Deploy(configOption));
        ImportCommands.Add(root, configOption);
        AddTlsOptions(root);
    }

    private static void AddTlsOptions(Command command)
    {
        if (command.Options.Any(o => o.Name == "--url")) { command.Options.Add(CaFile); command.Options.Add(Insecure); }
        foreach (var sub in command.Subcommands) AddTlsOptions(sub);
    }

    private static void AddChecks(RootCommand root, Option<string?> configOption)
    {
        var url = UrlOption();
        var problemsOnly = new Option<bool>("--problems") { Description = "Only checks that are not OK" };
        var checks = new Command("checks", "Show the state of every check of a running Observe (exit code: worst state).") { problemsOnly, url, configOption };
        checks.SetAction((parse, ct) => WithBaseUrl(parse, url, configOption,
            b => Observe.Checks.ChecksCli.PrintAsync(b, parse.GetValue(problemsOnly), Console.Out, ct)));
        AddCheckActions(checks, url, configOption);
        var availFrom = new Option<string>("--from") { Description = "Start of the report: -30d, -12h, ISO-8601 or unix seconds", DefaultValueFactory = _ => "-30d" };
        var availUntil = new Option<string>("--until") { Description = "End of the report (default now)", DefaultValueFactory = _ => "now" };
        var availHost = new Option<string?>("--host") { Description = "Only this host's checks" };
        var availability = new Command("availability", "Time each check spent OK / WARNING / CRITICAL / UNKNOWN / in downtime / unmonitored, problems and MTTR.") { availFrom, availUntil, availHost, url, configOption };
        availability.SetAction((parse, ct) => WithBaseUrl(parse, url, configOption, b => Observe.Checks.ChecksCli.PrintAvailabilityAsync(b, parse.GetValue(availFrom)!,
            parse.GetValue(availUntil)!, parse.GetValue(availHost), Console.Out, ct)));
        checks.Subcommands.Add(availability);
        root.Subcommands.Add(checks);
    }

    /// <summary><c>observe checks ack|remove-ack|downtime|cancel-downtime HOST/CHECK</c> (Checks' API over HTTP; a check's ack acknowledges its alert too).</summary>
    private static void AddCheckActions(Command checks, Option<string?> url, Option<string?> configOption)
    {
        var author = new Option<string?>("--author") { Description = $"Who ({WhoHelp})" };
        var comment = new Option<string?>("--comment", "-m") { Description = "Why / what you are doing" };
        Argument<string> Target() => new("check") { Description = "HOST/CHECK, e.g. web1/http (see observe checks)" };

        var ackTarget = Target();
        var sticky = new Option<bool>("--sticky") { Description = "Keep the acknowledgement across WARNING↔CRITICAL changes (until recovery)" };
        var ack = new Command("ack", "Acknowledge a check's problem (and its alert): notifications stop until it changes or recovers.") { ackTarget, comment, sticky, author, url, configOption };
        ack.SetAction((parse, ct) => WithBaseUrl(parse, url, configOption, b => Observe.Checks.ChecksCli.AckAsync(b, parse.GetValue(ackTarget)!, parse.GetValue(comment),
            parse.GetValue(sticky), parse.GetValue(author) ?? DefaultWho(), Console.Out, ct)));
        checks.Subcommands.Add(ack);

        var removeTarget = Target();
        var remove = new Command("remove-ack", "Remove a check's acknowledgement.") { removeTarget, url, configOption };
        remove.SetAction((parse, ct) => WithBaseUrl(parse, url, configOption, b => Observe.Checks.ChecksCli.RemoveAckAsync(b, parse.GetValue(removeTarget)!, Console.Out, ct)));
        checks.Subcommands.Add(remove);

        var dtTarget = Target();
        var forOption = new Option<string>("--for") { Description = "How long, e.g. 2h (fixed: from now; flexible: the window in which it may start, and its length)", Required = true };
        var flexible = new Option<bool>("--flexible") { Description = "Start at the first problem within the window instead of now" };
        var downtime = new Command("downtime", "Schedule a downtime: the check's notifications are suppressed while it lasts.") { dtTarget, forOption, flexible, comment, author, url, configOption };
        downtime.SetAction((parse, ct) => WithBaseUrl(parse, url, configOption, b => Observe.Checks.ChecksCli.DowntimeAsync(b, parse.GetValue(dtTarget)!, parse.GetValue(forOption)!,
            parse.GetValue(flexible), parse.GetValue(comment), parse.GetValue(author) ?? DefaultWho(), Console.Out, ct)));
        checks.Subcommands.Add(downtime);

        var cancelTarget = Target();
        var cancelId = new Argument<int>("id") { Description = "Downtime id (printed by observe checks downtime; in GET /api/checks)" };
        var cancel = new Command("cancel-downtime", "Cancel a scheduled or running downtime.") { cancelTarget, cancelId, url, configOption };
        cancel.SetAction((parse, ct) => WithBaseUrl(parse, url, configOption, b => Observe.Checks.ChecksCli.CancelDowntimeAsync(b, parse.GetValue(cancelTarget)!, parse.GetValue(cancelId), Console.Out, ct)));
        checks.Subcommands.Add(cancel);
    }

    /// <summary><c>observe ack</c>, <c>observe silence add|list|expire</c>, <c>observe alerts</c> (Alerting's API over HTTP).</summary>
    private static void AddAlerting(RootCommand root, Option<string?> configOption)
    {
        var url = UrlOption();
        var author = new Option<string?>("--author") { Description = $"Who ({WhoHelp})" };

        var ackKey = new Argument<string>("key") { Description = "Alert key, e.g. check/web1/http (see observe alerts)" };
        var ackComment = new Option<string?>("--comment", "-m") { Description = "Why / what you are doing" };
        var ack = new Command("ack", "Acknowledge a firing alert: escalation stops, receivers are told.") { ackKey, ackComment, author, url, configOption };
        ack.SetAction((parse, ct) => WithBaseUrl(parse, url, configOption, b =>
            Observe.Alerting.AlertingCli.AckAsync(b, parse.GetValue(ackKey)!, parse.GetValue(ackComment), parse.GetValue(author) ?? DefaultWho(), Console.Out, ct)));
        root.Subcommands.Add(ack);

        var alerts = new Command("alerts", "List the alerts of a running Observe (firing, resolving; acked, silenced, inhibited).") { url, configOption };
        alerts.SetAction((parse, ct) => WithBaseUrl(parse, url, configOption, b => Observe.Alerting.AlertingCli.AlertsAsync(b, Console.Out, ct)));
        root.Subcommands.Add(alerts);

        var match = new Option<string[]>("--match") { Description = "Label matcher (repeatable): host=web1, check!=_host, service=~api|web", Required = true, AllowMultipleArgumentsPerToken = false };
        var forOption = new Option<string>("--for") { Description = "How long, e.g. 2h", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why (recorded)", Required = true };
        var add = new Command("add", "Silence alerts matching every --match for a while.") { match, forOption, reason, author, url, configOption };
        add.SetAction((parse, ct) => WithBaseUrl(parse, url, configOption, b => Observe.Alerting.AlertingCli.SilenceAddAsync(b, parse.GetValue(match)!,
            parse.GetValue(forOption)!, parse.GetValue(reason)!, parse.GetValue(author) ?? DefaultWho(), Console.Out, ct)));
        var list = new Command("list", "List silences (pending, active, expired).") { url, configOption };
        list.SetAction((parse, ct) => WithBaseUrl(parse, url, configOption, b => Observe.Alerting.AlertingCli.SilenceListAsync(b, Console.Out, ct)));
        var id = new Argument<string>("id") { Description = "Silence id (see observe silence list)" };
        var expire = new Command("expire", "End a silence now.") { id, author, url, configOption };
        expire.SetAction((parse, ct) => WithBaseUrl(parse, url, configOption, b =>
            Observe.Alerting.AlertingCli.SilenceExpireAsync(b, parse.GetValue(id)!, parse.GetValue(author) ?? DefaultWho(), Console.Out, ct)));
        root.Subcommands.Add(new Command("silence", "Silences of a running Observe.") { add, list, expire });
    }

    /// <summary>
    /// <c>observe deploy start|finish|fail|lock|unlock|resolve</c>, with <c>Authorization: Bearer $OBSERVE_TOKEN</c> when that is set.
    /// </summary>
    private static Command Deploy(Option<string?> configOption)
    {
        var url = UrlOption();
        var by = new Option<string?>("--by") { Description = $"Who is deploying ({WhoHelp})" };
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
            var reason = new Option<string?>("--reason") { Description = "What went wrong" };
            var id = new Option<string?>("--id") { Description = "Client-chosen deploy id (a repeated marker with the same id changes nothing)" };
            var rollbackOf = new Option<string?>("--rollback-of") { Description = "This deploy is a rollback of that deploy id (default $OBSERVE_ROLLBACK_OF)" };
            var idFile = new Option<string?>("--id-file") { Description = "start writes the deploy id here; finish and fail read it when --id is not given (default $OBSERVE_DEPLOY_ID_FILE)" };
            var wait = new Option<bool>("--wait") { Description = "Wait for the verdict; exit 1 when the deploy is rolled back" };
            var waitTimeout = new Option<string>("--wait-timeout") { Description = "How long --wait waits (default 15m)", DefaultValueFactory = _ => "15m" };
            var cmd = new Command(ev, $"Mark the {ev} of a deploy.") { service, env, version, branch, revision, by, description, id, idFile, force, rollbackOf, url, configOption };
            // Only a failure has a reason; only a finish has a verdict to wait for.
            if (ev == "fail") cmd.Options.Add(reason);
            if (ev == "finish") { cmd.Options.Add(wait); cmd.Options.Add(waitTimeout); }
            cmd.SetAction((parse, ct) => WithBaseUrl(parse, url, configOption, async b =>
            {
                TimeSpan? waitFor = null;
                if (ev == "finish" && parse.GetValue(wait))
                {
                    if (!DurationSyntax.TryParse(parse.GetValue(waitTimeout), out var w)) { await Console.Error.WriteLineAsync("--wait-timeout is not a duration (e.g. 10m)"); return UsageError; }
                    waitFor = w;
                }
                var marker = new Observe.DeployMarkers.DeployCliMarker(ev, parse.GetValue(id), parse.GetValue(service), parse.GetValue(env), parse.GetValue(version),
                    parse.GetValue(branch), parse.GetValue(revision), parse.GetValue(by) ?? DefaultWho(), parse.GetValue(description),
                    ev == "fail" ? parse.GetValue(reason) : null, parse.GetValue(force),
                    parse.GetValue(rollbackOf) ?? NullIfEmpty(Environment.GetEnvironmentVariable("OBSERVE_ROLLBACK_OF")),
                    parse.GetValue(idFile) ?? NullIfEmpty(Environment.GetEnvironmentVariable("OBSERVE_DEPLOY_ID_FILE")));
                return await Observe.DeployMarkers.DeployCli.MarkAsync(b, Token(), marker, waitFor, Console.Out, ct);
            }));
            deploy.Subcommands.Add(cmd);
        }
        var lockEnv = new Argument<string>("env") { Description = "Environment to lock" };
        var lockReason = new Option<string?>("--reason") { Description = "Why (shown to whoever is refused)" };
        var lockCmd = new Command("lock", "Lock an environment: deploys by anyone else are refused with 409.") { lockEnv, by, lockReason, force, url, configOption };
        lockCmd.SetAction((parse, ct) => WithBaseUrl(parse, url, configOption, b => Observe.DeployMarkers.DeployCli.LockAsync(b, Token(),
            parse.GetValue(lockEnv)!, parse.GetValue(by) ?? DefaultWho(), parse.GetValue(lockReason), parse.GetValue(force), Console.Out, ct)));
        deploy.Subcommands.Add(lockCmd);
        var unlockEnv = new Argument<string>("env") { Description = "Environment to unlock" };
        var unlockCmd = new Command("unlock", "Release an environment lock (someone else's only with --force).") { unlockEnv, by, force, url, configOption };
        unlockCmd.SetAction((parse, ct) => WithBaseUrl(parse, url, configOption, b => Observe.DeployMarkers.DeployCli.UnlockAsync(b, Token(),
            parse.GetValue(unlockEnv)!, parse.GetValue(by) ?? DefaultWho(), parse.GetValue(force), Console.Out, ct)));
        deploy.Subcommands.Add(unlockCmd);
        var resolveId = new Argument<string>("id") { Description = "The deploy whose alert (failed verification, rolled back) is dealt with" };
        var resolveCmd = new Command("resolve", "Resolve a deploy's alert by hand (a later deploy that passes verification resolves it too).") { resolveId, by, url, configOption };
        resolveCmd.SetAction((parse, ct) => WithBaseUrl(parse, url, configOption, b => Observe.DeployMarkers.DeployCli.ResolveAsync(b, Token(),
            parse.GetValue(resolveId)!, parse.GetValue(by) ?? DefaultWho(), Console.Out, ct)));
        deploy.Subcommands.Add(resolveCmd);
        return deploy;
    }

    private static string? Token() => NullIfEmpty(Environment.GetEnvironmentVariable("OBSERVE_TOKEN"));

    internal static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
