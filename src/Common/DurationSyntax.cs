using System.Globalization;

namespace Observe.Common;

/// <summary>The one duration syntax of the whole config and CLI: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>4h</c>, <c>1d</c>
/// or a bare number of seconds.</summary>
public static class DurationSyntax
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        var s = (text ?? "").Trim().ToLowerInvariant();
        if (s.Length == 0) return false;
        var (num, mult) = s.EndsWith("ms") ? (s[..^2], 0.001)
            : s.EndsWith('s') ? (s[..^1], 1.0) : s.EndsWith('m') ? (s[..^1], 60.0)
            : s.EndsWith('h') ? (s[..^1], 3600.0) : s.EndsWith('d') ? (s[..^1], 86400.0) : (s, 1.0);
        if (!double.TryParse(num, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) || !double.IsFinite(n) || n < 0) return false;
        value = TimeSpan.FromSeconds(n * mult);
        return true;
    }

    public static TimeSpan Parse(string? text) =>
        TryParse(text, out var v) ? v : throw new FormatException($"'{text}' is not a duration (e.g. 30s, 5m, 4h)");

    /// <summary>As <see cref="Parse(string?)"/>, naming the config key in the error.</summary>
    public static TimeSpan Parse(string? text, string key) =>
        TryParse(text, out var v) ? v : throw new FormatException($"{key}: '{text}' is not a duration (e.g. 500ms, 30s, 5m, 1h)");
}
