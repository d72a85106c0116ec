using System.Globalization;

namespace Observe.Checks.Plugins;

/// <summary>
/// A threshold range as the Nagios plugin development guidelines define it: <c>[@]start:end</c>,
/// inclusive; <c>start</c> defaults to 0 when there is no colon, <c>~</c> is negative infinity, an empty
/// end is positive infinity. Without <c>@</c> the range alerts when the value lies outside
/// [start, end]; with <c>@</c> when it lies inside.
/// </summary>
internal readonly record struct NagiosRange(double Start, double End, bool AlertInside)
{
    public static NagiosRange Parse(string text) =>
        TryParse(text, out var r, out var error) ? r : throw new FormatException(error);

    public static bool TryParse(string? text, out NagiosRange range, out string? error)
    {
        range = default; error = null;
        var s = (text ?? "").Trim();
        if (s.Length == 0) { error = "empty range"; return false; }
        var inside = false;
        if (s[0] == '@') { inside = true; s = s[1..]; }
        double start = 0, end;
        var colon = s.IndexOf(':');
        string endText;
        if (colon >= 0)
        {
            var startText = s[..colon];
            endText = s[(colon + 1)..];
            if (startText == "~") start = double.NegativeInfinity;
            else if (!Number(startText, out start)) { error = $"'{text}': start '{startText}' is not a number or ~"; return false; }
            if (endText.Length == 0) { range = new NagiosRange(start, double.PositiveInfinity, inside); return true; }
        }
        else endText = s;
        if (!Number(endText, out end)) { error = $"'{text}': end '{endText}' is not a number"; return false; }
        if (start > end) { error = $"'{text}': start {start} is greater than end {end}"; return false; }
        range = new NagiosRange(start, end, inside);
        return true;
    }

    private static bool Number(string s, out double v) =>
        double.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out v)
        && double.IsFinite(v);

    /// <summary>True when <paramref name="value"/> should raise an alert.</summary>
    public bool Alerts(double value)
    {
        var within = value >= Start && value <= End;
        return AlertInside ? within : !within;
    }
}

/// <summary>A warning and a critical range; critical wins.</summary>
internal sealed record Thresholds(NagiosRange? Warning, NagiosRange? Critical)
{
    public static Thresholds Parse(string? warning, string? critical) => new(
        string.IsNullOrWhiteSpace(warning) ? null : NagiosRange.Parse(warning),
        string.IsNullOrWhiteSpace(critical) ? null : NagiosRange.Parse(critical));

    public CheckState Evaluate(double value) =>
        Critical is { } c && c.Alerts(value) ? CheckState.Critical
        : Warning is { } w && w.Alerts(value) ? CheckState.Warning
        : CheckState.Ok;
}
