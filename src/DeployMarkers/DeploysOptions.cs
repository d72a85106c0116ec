using System.Text.RegularExpressions;
using Observe.Checks;
using Observe.Common;

namespace Observe.DeployMarkers;

/// <summary>
/// The <c>deploys:</c> section of observe.yaml: how deploys are verified and which services have SLIs, checks and a
/// rollback action. Durations are strings with a unit (<c>30s</c>, <c>5m</c>). Reference: docs/configuration.md.
/// </summary>
public sealed class DeploysOptions
{
    public bool Enabled { get; set; } = true;
    /// <summary>How long after <c>finish</c> the service is watched before it passes.</summary>
    public string Window { get; set; } = "5m";
    /// <summary>The window before <c>start</c> the post-deploy window is compared with.</summary>
    public string Baseline { get; set; } = "30m";
    /// <summary>How often pending verifications are evaluated; default: the StatsD flush interval.</summary>
    public string? EvaluateInterval { get; set; }
    /// <summary>Points each window needs before an SLI is judged (fewer at the end of the window = inconclusive).</summary>
    public int MinPoints { get; set; } = 3;
    /// <summary>Confidence of the one-sided Mann-Whitney U test a regression must also pass.</summary>
    public double Confidence { get; set; } = 0.95;
    /// <summary>Default time limit of a rollback command or webhook.</summary>
    public string RollbackTimeout { get; set; } = "5m";
    /// <summary>Counters <c>&lt;prefix&gt;.&lt;service&gt;.&lt;env&gt;.started|finished|rolled_back</c>.</summary>
    public string MetricPrefix { get; set; } = "deploys";
    public List<DeployServiceOptions> Services { get; set; } = [];
}

/// <summary>A deployable service: what says it is healthy and how to roll it back.</summary>
public sealed class DeployServiceOptions
{
    public string Name { get; set; } = "";
    /// <summary>Run the rollback action when verification fails.</summary>
    public bool AutoRollback { get; set; }
    /// <summary>Per-service override of <see cref="DeploysOptions.Window"/>.</summary>
    public string? Window { get; set; }
    /// <summary>Per-service override of <see cref="DeploysOptions.Baseline"/>.</summary>
    public string? Baseline { get; set; }
    public List<SliOptions> Slis { get; set; } = [];
    /// <summary>Checks of the service as <c>host/check</c>; a HARD CRITICAL one after the deploy started fails it.</summary>
    public List<string> Checks { get; set; } = [];
    public RollbackOptions? Rollback { get; set; }
}

/// <summary>One service-level indicator: a Graphite target and how far it may move in the bad direction.</summary>
public sealed class SliOptions
{
    public string Name { get; set; } = "";
    /// <summary>A Graphite target; functions allowed (<c>divideSeries(stats.api.errors, stats.api.requests)</c>).</summary>
    public string Target { get; set; } = "";
    /// <summary>The bad direction: increase (errors, latency), decrease (throughput, success rate) or either.</summary>
    public string Direction { get; set; } = "increase";
    /// <summary>How many times the baseline median the post-deploy median may move in the bad direction (2 = 2×, 1.5 = +50 %).</summary>
    public double MaxRatio { get; set; } = 2.0;
    /// <summary>
    /// Absolute level the post-deploy median must also pass before the SLI can fail (above it for increase, below it
    /// for decrease): keeps 0.1 % → 0.3 % errors from rolling back.
    /// </summary>
    public double? Floor { get; set; }
}

/// <summary>What rolling back means for a service: a command (argv, no shell) or a webhook.</summary>
public sealed class RollbackOptions
{
    /// <summary>argv; gets OBSERVE_SERVICE, OBSERVE_ENV, OBSERVE_BAD_VERSION, OBSERVE_GOOD_VERSION, OBSERVE_ROLLBACK_OF in its environment.</summary>
    public List<string> Command { get; set; } = [];
    /// <summary>Extra environment for the command.</summary>
    public Dictionary<string, string> Environment { get; set; } = [];
    /// <summary>URL that gets a JSON POST {deployId, service, env, badVersion, goodVersion, reason}.</summary>
    public string? Webhook { get; set; }
    /// <summary>Headers for the webhook (e.g. Authorization; secret: never logged or shown).</summary>
    public Dictionary<string, string> Headers { get; set; } = [];
    public string? Timeout { get; set; }
}

/// <summary>Validates the <c>deploys:</c> section.</summary>
public static partial class DeploysConfig
{
    /// <summary>Every problem, keyed under <paramref name="prefix"/>; an SLI's target is checked by <paramref name="targetProblem"/> (see ChecksConfig.Validate).</summary>
    public static IReadOnlyList<ConfigProblem> Validate(DeploysOptions o, string prefix = "deploys", Func<string, string?>? targetProblem = null)
    {
        var problems = new List<ConfigProblem>();
        void Fail(string key, string message) => problems.Add(new(key, message));
        void Dur(string key, string? value)
        {
            if (value != null && (!DurationSyntax.TryParse(value, out var d) || d <= TimeSpan.Zero))
                Fail(key, $"'{value}' is not a positive duration (e.g. 30s, 5m, 1h)");
        }
        Dur($"{prefix}.window", o.Window);
        Dur($"{prefix}.baseline", o.Baseline);
        Dur($"{prefix}.evaluateInterval", o.EvaluateInterval);
        Dur($"{prefix}.rollbackTimeout", o.RollbackTimeout);
        if (o.MinPoints < 1) Fail($"{prefix}.minPoints", "must be at least 1");
        if (o.Confidence is <= 0.5 or >= 1 || !double.IsFinite(o.Confidence)) Fail($"{prefix}.confidence", "must be between 0.5 and 1 (e.g. 0.95)");
        if (!MetricNode().IsMatch(o.MetricPrefix)) Fail($"{prefix}.metricPrefix", "must be a Graphite path (letters, digits, '_', '-', '.')");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < o.Services.Count; i++)
        {
            var s = o.Services[i];
            var key = $"{prefix}.services[{i}]";
            if (!Name().IsMatch(s.Name)) Fail($"{key}.name", $"'{s.Name}' is not a service name (letters, digits, '_', '-'; at most 64)");
            else if (!names.Add(s.Name)) Fail($"{key}.name", $"'{s.Name}' is declared twice");
            Dur($"{key}.window", s.Window);
            Dur($"{key}.baseline", s.Baseline);
            var sliNames = new HashSet<string>(StringComparer.Ordinal);
            for (var j = 0; j < s.Slis.Count; j++)
            {
                var sli = s.Slis[j];
                var sk = $"{key}.slis[{j}]";
                if (string.IsNullOrWhiteSpace(sli.Name)) Fail($"{sk}.name", "required");
                else if (!sliNames.Add(sli.Name)) Fail($"{sk}.name", $"'{sli.Name}' is used twice in this service");
                if (targetProblem?.Invoke(sli.Target) is { } tp) Fail($"{sk}.target", tp);
                if (sli.Direction is not ("increase" or "decrease" or "either")) Fail($"{sk}.direction", $"'{sli.Direction}' is not one of increase, decrease, either");
                if (!(sli.MaxRatio > 1) || !double.IsFinite(sli.MaxRatio)) Fail($"{sk}.maxRatio", "must be a number above 1 (2 = may double, 1.5 = +50 %)");
                if (sli.Floor is { } f && !double.IsFinite(f)) Fail($"{sk}.floor", "must be a number");
            }
            for (var j = 0; j < s.Checks.Count; j++)
                if (s.Checks[j].Split('/') is not [{ Length: > 0 }, { Length: > 0 }]) Fail($"{key}.checks[{j}]", $"'{s.Checks[j]}' is not host/check");
            if (s.Rollback is { } r)
            {
                if (r.Command.Count == 0 == (r.Webhook == null)) Fail($"{key}.rollback", "give exactly one of command and webhook");
                if (r.Webhook != null && !(Uri.TryCreate(r.Webhook, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
                    Fail($"{key}.rollback.webhook", "must be an absolute http(s) URL");
                if (r.Command.Count > 0 && string.IsNullOrWhiteSpace(r.Command[0])) Fail($"{key}.rollback.command[0]", "the program must not be empty");
                Dur($"{key}.rollback.timeout", r.Timeout);
            }
            else if (s.AutoRollback) Fail($"{key}.autoRollback", "autoRollback needs a rollback action (rollback.command or rollback.webhook)");
        }
        return problems;
    }

    /// <summary>Service and environment names become Graphite path nodes and tags: no dots, spaces or control characters.</summary>
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\\z")]
    internal static partial Regex Name();

    [GeneratedRegex(@"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\z")]
    private static partial Regex MetricNode();
}
