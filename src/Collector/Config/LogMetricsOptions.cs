using System.Text.RegularExpressions;
using Observe.Common;

namespace Observe.Collector;

/// <summary><c>logs.metrics:</c> rules that turn structured log events into StatsD counters and timers (docs/configuration.md#metrics-from-logs).</summary>
public sealed class LogMetricsOptions
{
    /// <summary>Distinct series (rule, group values, tags) made since start; an event that would make one more is dropped and counted.</summary>
    public int MaxSeries { get; set; } = 10_000;
    /// <summary>Time one <c>regex</c> condition may take on one value; a match that takes longer counts as no match (counted).
    /// Matching is linear in the value's length; the first matches also build the matcher's states, hence the margin.</summary>
    public int RegexTimeoutMs { get; set; } = 100;
    /// <summary>A group or tag value longer than this is cut to it (one series per distinct long value would be unbounded in size).</summary>
    public int MaxValueLength { get; set; } = 64;
    public List<LogMetricRule> Rules { get; set; } = [];

    /// <summary>The problems of <c>logs.metrics</c>, by key path.</summary>
    public IEnumerable<ConfigProblem> Validate(string at = "logs.metrics")
    {
        if (MaxSeries < 1) yield return new($"{at}.maxSeries", "must be at least 1");
        if (RegexTimeoutMs is < 1 or > 1000) yield return new($"{at}.regexTimeoutMs", "must be 1 to 1000");
        if (MaxValueLength is < 1 or > 200) yield return new($"{at}.maxValueLength", "must be 1 to 200");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Rules.Count; i++)
        {
            var r = Rules[i];
            var p = $"{at}.rules[{i}]";
            if (!IsPath(r.Name)) yield return new($"{p}.name", $"'{r.Name}' is not a Graphite path (letters, digits, _ and -, separated by dots)");
            else if (!names.Add(r.Name)) yield return new($"{p}.name", $"'{r.Name}' is the name of an earlier rule");
            if (r.Level != null && Logs.LogLevels.FromName(r.Level) == null) yield return new($"{p}.level", $"'{r.Level}' is not a level ({string.Join(", ", Logs.LogLevels.All)})");
            if (r.Timer is { Length: 0 }) yield return new($"{p}.timer", "must name a field");
            for (var j = 0; j < r.Where.Count; j++)
            {
                var w = r.Where[j];
                var wp = $"{p}.where[{j}]";
                if (string.IsNullOrEmpty(w.Field)) yield return new($"{wp}.field", "must name a field");
                if ((w.Value == null) == (w.Regex == null)) yield return new(wp, "needs exactly one of value (=) and regex (=~)");
                if (w.Regex != null && !TryRegex(w.Regex, 5, out var error)) yield return new($"{wp}.regex", error!);
            }
            foreach (var (list, key) in new[] { (r.GroupBy, "groupBy"), (r.Tags, "tags") })
                for (var j = 0; j < list.Count; j++)
                    if (string.IsNullOrEmpty(list[j]) || list[j].AsSpan().IndexOfAny(";=. ") >= 0)
                        yield return new($"{p}.{key}[{j}]", $"'{list[j]}' is not a field name (no ; = . or space)");
        }
    }

    private static bool IsPath(string s) =>
        !string.IsNullOrEmpty(s) && s.Split('.').All(n => n.Length > 0 && n.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'));

    internal static bool TryRegex(string pattern, int timeoutMs, out string? error)
    {
        try { _ = Compile(pattern, timeoutMs); error = null; return true; }
        catch (ArgumentException e) { error = $"not a regular expression: {e.Message}"; return false; }
        catch (NotSupportedException e) { error = $"not supported (matched without backtracking): {e.Message}"; return false; }
    }

    // NonBacktracking: matching time is linear in the value, so a hostile pattern cannot stall ingest; the timeout bounds the rest.
    internal static Regex Compile(string pattern, int timeoutMs)
    {
        var r = new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(timeoutMs));
        _ = r.IsMatch("warm-up: the first match builds the matcher's initial states, which must not count against an event's time");
        return r;
    }
}

/// <summary>One rule: which events (service, level, field conditions), what to measure (a count, or a numeric field as a timer), and how to split it.</summary>
public sealed class LogMetricRule
{
    /// <summary>The StatsD key: a count goes to <c>stats_counts.&lt;name&gt;…</c>, a timer to <c>stats.timers.&lt;name&gt;…</c>.</summary>
    public string Name { get; set; } = "";
    /// <summary>Only events of this service (exact); null = any.</summary>
    public string? Service { get; set; }
    /// <summary>Only events of this level (Observe's set: trace … fatal); null = any.</summary>
    public string? Level { get; set; }
    /// <summary>Every condition must hold.</summary>
    public List<LogFieldCondition> Where { get; set; } = [];
    /// <summary>A numeric field aggregated as a StatsD timer (milliseconds); null = count the events. An event without it, or not a number ≥ 0, is skipped (counted).</summary>
    public string? Timer { get; set; }
    /// <summary>Fields whose values become path nodes after the name, in order (missing → <c>unknown</c>).</summary>
    public List<string> GroupBy { get; set; } = [];
    /// <summary>Fields whose values become Graphite tags <c>;field=value</c> (missing → <c>unknown</c>).</summary>
    public List<string> Tags { get; set; } = [];
}

/// <summary>A condition on one field (also <c>service</c>, <c>level</c>, <c>host</c>, <c>message</c>): equal to <see cref="Value"/>, or matching <see cref="Regex"/>.</summary>
public sealed class LogFieldCondition
{
    public string Field { get; set; } = "";
    public string? Value { get; set; }
    public string? Regex { get; set; }
}
