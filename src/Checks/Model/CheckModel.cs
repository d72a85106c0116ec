namespace Observe.Checks;

/// <summary>A service check's state, numbered as Nagios plugin exit codes.</summary>
public enum CheckState
{
    Ok = 0, Warning = 1, Critical = 2, Unknown = 3,
    /// <summary>Not checked yet (no plugin returns it; only <see cref="CheckStatus"/> shows it).</summary>
    Pending = 4,
}

/// <summary>SOFT while retrying, HARD once confirmed (or OK).</summary>
public enum StateType { Soft, Hard }

/// <summary>One item of plugin performance data: <c>'label'=value[UOM];[warn];[crit];[min];[max]</c>.</summary>
/// <param name="Value">null when the plugin reported <c>U</c> (undetermined).</param>
internal sealed record PerfDatum(string Label, double? Value, string Unit, string? Warn, string? Crit, double? Min, double? Max);

/// <summary>The outcome of running a check once, before the state machine sees it.</summary>
internal sealed record CheckResult(CheckState State, string Output, string? LongOutput, IReadOnlyList<PerfDatum> PerfData, TimeSpan Duration)
{
    public static CheckResult Unknown(string reason, TimeSpan duration = default) => new(CheckState.Unknown, reason, null, [], duration);
}

internal static class CheckStateText
{
    public static string Upper(this CheckState s) => s switch
    {
        CheckState.Ok => "OK",
        CheckState.Warning => "WARNING",
        CheckState.Critical => "CRITICAL",
        CheckState.Pending => "PENDING",
        _ => "UNKNOWN",
    };
}
