using System.Text.RegularExpressions;
using Observe.Checks.Kinds;
using Observe.Checks.Plugins;
using Observe.Checks.State;
using Observe.Common;

namespace Observe.Checks;

/// <summary>Turns configuration into runnable checks; <see cref="Validate"/> finds what would not work.</summary>
public static class ChecksConfig
{
    public static readonly IReadOnlyList<string> Kinds = ["http", "tcp", "command", "metric", "pool", "passive"];

    /// <summary>
    /// Every problem in the <c>checks:</c> section, each with its key path under <paramref name="prefix"/>. A metric check's
    /// target is checked by <paramref name="targetProblem"/> (the host passes the Graphite parser's; Checks sees only the
    /// storage seams): null when the target parses, else what is wrong.
    /// </summary>
    public static IReadOnlyList<ConfigProblem> Validate(ChecksOptions options, string prefix = "checks", Func<string, string?>? targetProblem = null)
    {
        var problems = new List<ConfigProblem>();
        void Fail(string key, string message) => problems.Add(new ConfigProblem(key, message));
        void Dur(string key, string? value, bool required)
        {
            if (value == null) { if (required) Fail(key, "required"); return; }
            if (!DurationSyntax.TryParse(value, out _)) Fail(key, $"'{value}' is not a duration (e.g. 500ms, 30s, 5m, 1h)");
        }
        void Range(string key, string? value)
        {
            if (value != null && !NagiosRange.TryParse(value, out _, out var err)) Fail(key, $"bad range syntax: {err}");
        }
        var d = options.Defaults;
        Dur($"{prefix}.defaults.checkInterval", d.CheckInterval, true);
        Dur($"{prefix}.defaults.retryInterval", d.RetryInterval, true);
        Dur($"{prefix}.defaults.timeout", d.Timeout, true);
        Dur($"{prefix}.defaults.notificationInterval", d.NotificationInterval, true);
        if (d.MaxCheckAttempts < 1) Fail($"{prefix}.defaults.maxCheckAttempts", "must be at least 1");
        if (TimeoutState(d.TimeoutState) == null) Fail($"{prefix}.defaults.timeoutState", $"'{d.TimeoutState}' is not one of critical, unknown");
        if (options.MaxConcurrency < 1) Fail($"{prefix}.maxConcurrency", "must be at least 1");
        if (options.LowFlapThreshold < 0 || options.HighFlapThreshold > 100 || options.LowFlapThreshold > options.HighFlapThreshold)
            Fail($"{prefix}.highFlapThreshold", "flap thresholds must satisfy 0 ≤ low ≤ high ≤ 100");

        Dur($"{prefix}.state.writeDelay", options.State.WriteDelay, false);
        if (DurationSyntax.TryParse(options.State.WriteDelay, out var wd) && wd > TimeSpan.FromSeconds(1)) Fail($"{prefix}.state.writeDelay", "must be at most 1s");
        Dur($"{prefix}.state.historyRetention", options.State.HistoryRetention, true);

        var cl = options.Cluster;
        if (cl.Enabled)
        {
            if (string.IsNullOrWhiteSpace(cl.ConnectionString)) Fail($"{prefix}.cluster.connectionString", "required when the cluster is enabled");
            else
            {
                try { _ = new Npgsql.NpgsqlConnectionStringBuilder(cl.ConnectionString); }
                catch (ArgumentException e) { Fail($"{prefix}.cluster.connectionString", $"not a PostgreSQL connection string: {e.Message}"); }
            }
            if (string.IsNullOrWhiteSpace(cl.InstanceId)) Fail($"{prefix}.cluster.instanceId", "required (or 'auto')");
            Dur($"{prefix}.cluster.checkinInterval", cl.CheckinInterval, true);
            Dur($"{prefix}.cluster.checkinMisfireThreshold", cl.CheckinMisfireThreshold, true);
            if (DurationSyntax.TryParse(cl.CheckinInterval, out var ck) && ck < TimeSpan.FromMilliseconds(500)) Fail($"{prefix}.cluster.checkinInterval", "must be at least 500ms");
            if (!System.Text.RegularExpressions.Regex.IsMatch(cl.TablePrefix, "^[A-Za-z_][A-Za-z0-9_]*$")) Fail($"{prefix}.cluster.tablePrefix", $"'{cl.TablePrefix}' must be letters, digits and '_'");
        }

        var hostNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var h in options.Hosts) hostNames.Add(h.Name);
        var seenHosts = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Hosts.Count; i++)
        {
            var h = options.Hosts[i];
            var hp = $"{prefix}.hosts[{i}]";
            if (!ValidName(h.Name)) Fail($"{hp}.name", $"'{h.Name}' must be non-empty letters, digits, '-', '_' (it becomes a metric path node)");
            else if (!seenHosts.Add(h.Name)) Fail($"{hp}.name", $"duplicate host '{h.Name}'");
            for (var p = 0; p < h.Parents.Count; p++)
                if (!hostNames.Contains(h.Parents[p])) Fail($"{hp}.parents[{p}]", $"unknown host '{h.Parents[p]}'");
            if (h.HostCheck != null) ValidateCheck(h.HostCheck, $"{hp}.hostCheck", nameRequired: false);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var j = 0; j < h.Checks.Count; j++)
            {
                var c = h.Checks[j];
                var cp = $"{hp}.checks[{j}]";
                ValidateCheck(c, cp, nameRequired: true);
                if (ValidName(c.Name) && !seen.Add(c.Name)) Fail($"{cp}.name", $"duplicate check '{c.Name}' on host '{h.Name}'");
            }
        }
        return problems;

        void ValidateCheck(CheckOptions c, string cp, bool nameRequired)
        {
            if (nameRequired && !ValidName(c.Name)) Fail($"{cp}.name", $"'{c.Name}' must be non-empty letters, digits, '-', '_'");
            Dur($"{cp}.checkInterval", c.CheckInterval, false);
            Dur($"{cp}.retryInterval", c.RetryInterval, false);
            Dur($"{cp}.timeout", c.Timeout, false);
            Dur($"{cp}.notificationInterval", c.NotificationInterval, false);
            if (c.CheckInterval != null && DurationSyntax.TryParse(c.CheckInterval, out var ci) && ci < TimeSpan.FromMilliseconds(100)) Fail($"{cp}.checkInterval", "must be at least 100ms");
            if (c.MaxCheckAttempts is < 1) Fail($"{cp}.maxCheckAttempts", "must be at least 1");
            if (c.TimeoutState != null && TimeoutState(c.TimeoutState) == null) Fail($"{cp}.timeoutState", $"'{c.TimeoutState}' is not one of critical, unknown");
            Range($"{cp}.warning", c.Warning);
            Range($"{cp}.critical", c.Critical);
            switch (c.Kind)
            {
                case "command":
                    if (c.Command.Count == 0) Fail($"{cp}.command", "required: the plugin path and its arguments");
                    else if (CommandCheck.ResolveExecutable(c.Command[0]) is not { } exe) Fail($"{cp}.command[0]", $"plugin binary '{c.Command[0]}' not found");
                    else if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(exe) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) == 0)
                        Fail($"{cp}.command[0]", $"plugin binary '{exe}' is not executable");
                    if (c.MaxOutputBytes < 80) Fail($"{cp}.maxOutputBytes", "must be at least 80");
                    break;
                case "http":
                    if (c.Url != null && !Uri.TryCreate(c.Url, UriKind.RelativeOrAbsolute, out _)) Fail($"{cp}.url", $"'{c.Url}' is not a URL");
                    if (c.Url != null && !c.Url.StartsWith('/') && Uri.TryCreate(c.Url, UriKind.Absolute, out var u) && u.Scheme is not ("http" or "https")) Fail($"{cp}.url", "must be http or https");
                    foreach (var s in c.ExpectStatus) if (s is < 100 or > 599) Fail($"{cp}.expectStatus", $"{s} is not an HTTP status");
                    if (c.ExpectBodyRegex != null) { try { _ = new Regex(c.ExpectBodyRegex); } catch (ArgumentException e) { Fail($"{cp}.expectBodyRegex", $"invalid regular expression: {e.Message}"); } }
                    if (c.CertificateDaysWarning < 0 || c.CertificateDaysCritical < 0 || (c.CertificateDaysWarning > 0 && c.CertificateDaysCritical > c.CertificateDaysWarning))
                        Fail($"{cp}.certificateDaysCritical", "certificate days must be ≥ 0, and critical ≤ warning");
                    try { _ = new HttpMethod(c.Method); } catch (FormatException) { Fail($"{cp}.method", $"'{c.Method}' is not an HTTP method"); }
                    break;
                case "tcp":
                    if (c.Port is < 1 or > 65535) Fail($"{cp}.port", "required: 1–65535");
                    break;
                case "pool":
                    if (c.BackendKind is not ("http" or "tcp")) Fail($"{cp}.backendKind", $"'{c.BackendKind}' is not one of http, tcp");
                    if (c.Backends.Count == 0) Fail($"{cp}.backends", "required: at least one backend");
                    var names = new HashSet<string>(StringComparer.Ordinal);
                    for (var b = 0; b < c.Backends.Count; b++)
                    {
                        var be = c.Backends[b];
                        if (!ValidName(be.Name)) Fail($"{cp}.backends[{b}].name", $"'{be.Name}' must be non-empty letters, digits, '-', '_'");
                        else if (!names.Add(be.Name)) Fail($"{cp}.backends[{b}].name", $"duplicate backend '{be.Name}'");
                        if (be.Port is < 0 or > 65535 || (c.BackendKind == "tcp" && be.Port == 0 && c.Port == 0)) Fail($"{cp}.backends[{b}].port", "required for tcp: 1–65535");
                    }
                    if (c.MinHealthyCritical < 0 || c.MinHealthyWarning < c.MinHealthyCritical) Fail($"{cp}.minHealthyWarning", "must satisfy 0 ≤ minHealthyCritical ≤ minHealthyWarning");
                    if (c.ExpectBodyRegex != null) { try { _ = new Regex(c.ExpectBodyRegex); } catch (ArgumentException e) { Fail($"{cp}.expectBodyRegex", $"invalid regular expression: {e.Message}"); } }
                    break;
                case "passive":
                    Dur($"{cp}.freshnessThreshold", c.FreshnessThreshold, false);
                    if (TimeoutState(c.StaleState) == null) Fail($"{cp}.staleState", $"'{c.StaleState}' is not one of critical, unknown");
                    break;
                case "metric":
                    if (string.IsNullOrWhiteSpace(c.Target)) Fail($"{cp}.target", "required: a Graphite target (path, glob or functions)");
                    else if (targetProblem?.Invoke(c.Target) is { } problem) Fail($"{cp}.target", problem);
                    Dur($"{cp}.window", c.Window, true);
                    if (c.Aggregate is not ("avg" or "min" or "max" or "sum" or "last")) Fail($"{cp}.aggregate", $"'{c.Aggregate}' is not one of avg, min, max, sum, last");
                    if (NoDataState(c.NoData) == null) Fail($"{cp}.noData", $"'{c.NoData}' is not one of unknown, ok, warning, critical");
                    if (c.Warning == null && c.Critical == null) Fail($"{cp}.critical", "a metric check needs a warning or critical range");
                    break;
                default:
                    Fail($"{cp}.kind", c.Kind.Length == 0 ? $"required: one of {string.Join(", ", Kinds)}" : $"unknown kind '{c.Kind}' (one of {string.Join(", ", Kinds)})");
                    break;
            }
        }
    }

    internal static bool ValidName(string s) => s.Length > 0 && s.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_');

    internal static CheckState? TimeoutState(string s) => s.ToLowerInvariant() switch { "critical" => CheckState.Critical, "unknown" => CheckState.Unknown, _ => null };

    internal static CheckState? NoDataState(string s) => s.ToLowerInvariant() switch
    {
        "unknown" => CheckState.Unknown,
        "ok" => CheckState.Ok,
        "warning" => CheckState.Warning,
        "critical" => CheckState.Critical,
        _ => null,
    };

    internal static CheckPolicy Policy(CheckOptions c, ChecksOptions o) => new(
        c.MaxCheckAttempts ?? o.Defaults.MaxCheckAttempts,
        DurationSyntax.Parse(c.CheckInterval ?? o.Defaults.CheckInterval, "checkInterval"),
        DurationSyntax.Parse(c.RetryInterval ?? o.Defaults.RetryInterval, "retryInterval"),
        DurationSyntax.Parse(c.NotificationInterval ?? o.Defaults.NotificationInterval, "notificationInterval"),
        c.FlapDetection, c.LowFlapThreshold ?? o.LowFlapThreshold, c.HighFlapThreshold ?? o.HighFlapThreshold);

    /// <summary>Builds the runnable check; a configuration that cannot be built becomes a check that always says why (UNKNOWN).</summary>
    internal static ICheck Build(HostOptions host, CheckOptions c, ChecksOptions o, Observe.Storage.ISeriesQuery? series = null, TimeProvider? clock = null)
    {
        try
        {
            var timeout = DurationSyntax.Parse(c.Timeout ?? o.Defaults.Timeout, "timeout");
            var timeoutState = TimeoutState(c.TimeoutState ?? o.Defaults.TimeoutState) ?? CheckState.Critical;
            var address = host.Address ?? host.Name;
            var time = Thresholds.Parse(c.Warning, c.Critical);
            return c.Kind switch
            {
                "command" => new CommandCheck(c.Command, c.Environment, timeout, timeoutState, c.MaxOutputBytes),
                "http" => new HttpCheck(HttpUrl(c.Url, c.Host ?? address, c.Port), c.Method, c.Headers, c.Body, c.ExpectStatus.ToHashSet(), c.ExpectBody,
                    c.ExpectBodyRegex == null ? null : new Regex(c.ExpectBodyRegex, RegexOptions.None, TimeSpan.FromSeconds(1)), c.FollowRedirects, time, timeout, timeoutState,
                    new TlsCheckOptions(c.VerifyTls, c.CertificateDaysWarning, c.CertificateDaysCritical)),
                "tcp" => new TcpCheck(c.Host ?? address, c.Port, c.Send, c.Expect, time, timeout, timeoutState),
                "pool" => new PoolCheck(c.Backends.Select(b => (b.Name, Backend(c, b, timeout, timeoutState, time))).ToList(), c.MinHealthyWarning, c.MinHealthyCritical),
                "passive" => new BrokenCheck("(a passive check is not run)"),
                "metric" when series == null => new BrokenCheck("(metric checks need Observe's series store, which is not configured)"),
                "metric" when string.IsNullOrWhiteSpace(c.Target) => new BrokenCheck("(metric check without a target)"),
                "metric" => new MetricCheck(series, c.Target, DurationSyntax.Parse(c.Window, "window"), c.Aggregate, time,
                    NoDataState(c.NoData) ?? CheckState.Unknown, clock ?? TimeProvider.System),
                _ => new BrokenCheck($"(unknown check kind '{c.Kind}')"),
            };
        }
        catch (Exception e) when (e is FormatException or ArgumentException or UriFormatException)
        {
            return new BrokenCheck($"(bad check configuration: {e.Message})");
        }
    }

    private static ICheck Backend(CheckOptions c, PoolBackend b, TimeSpan timeout, CheckState timeoutState, Thresholds time)
    {
        var address = b.Address ?? b.Name;
        var port = b.Port != 0 ? b.Port : c.Port;
        if (c.BackendKind == "tcp") return new TcpCheck(address, port, c.Send, c.Expect, time, timeout, timeoutState);
        var path = c.Url ?? "/";
        if (!path.StartsWith('/')) path = "/" + path;
        var url = new Uri($"http://{address}{(port != 0 ? ":" + port : "")}{path}");
        return new HttpCheck(url, c.Method, c.Headers, c.Body, c.ExpectStatus.ToHashSet(), c.ExpectBody,
            c.ExpectBodyRegex == null ? null : new Regex(c.ExpectBodyRegex, RegexOptions.None, TimeSpan.FromSeconds(1)), c.FollowRedirects, time, timeout, timeoutState);
    }

    /// <summary>An absolute URL as given; a path goes to http://host-or-address:port (80 when <c>port</c> is not set).</summary>
    private static Uri HttpUrl(string? url, string address, int port)
    {
        if (url != null && Uri.TryCreate(url, UriKind.Absolute, out var abs) && abs.Scheme is "http" or "https") return abs;
        var path = url ?? "/";
        if (!path.StartsWith('/')) path = "/" + path;
        return new Uri($"http://{address}{(port != 0 ? ":" + port : "")}{path}");
    }
}

/// <summary>A check whose configuration could not be built: always UNKNOWN with the reason.</summary>
internal sealed class BrokenCheck(string reason) : ICheck
{
    public Task<CheckResult> RunAsync(CancellationToken cancellationToken) => Task.FromResult(CheckResult.Unknown(reason));
}
