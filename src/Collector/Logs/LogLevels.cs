namespace Observe.Collector.Logs;

/// <summary>
/// Observe's one set of log levels: trace, debug, info, warn, error, fatal (the application loggers' set —
/// Serilog, log4j, NLog, zap — so that <c>logs.&lt;service&gt;.error</c> means the same for every sender).
/// Syslog severities (GELF's <c>level</c>) map as: 0–2 → fatal, 3 → error, 4 → warn, 5–6 → info, 7 → debug.
/// </summary>
internal static class LogLevels
{
    public const string Trace = "trace", Debug = "debug", Info = "info", Warn = "warn", Error = "error", Fatal = "fatal";
    public static readonly string[] All = [Trace, Debug, Info, Warn, Error, Fatal];

    public static string FromSyslog(long severity) => severity switch
    {
        <= 2 => Fatal,
        3 => Error,
        4 => Warn,
        5 or 6 => Info,
        _ => Debug,
    };

    /// <summary>A level name (any case, common spellings) or a syslog number; null when unknown.</summary>
    public static string? FromName(ReadOnlySpan<char> name)
    {
        name = name.Trim();
        if (name.Length == 1 && char.IsAsciiDigit(name[0])) return FromSyslog(name[0] - '0');
        Span<char> lower = stackalloc char[16];
        if (name.Length > lower.Length) return null;
        var n = name.ToLowerInvariant(lower);
        return lower[..n] switch
        {
            "trace" or "verbose" or "vrb" or "trc" or "finest" or "finer" => Trace,
            "debug" or "dbg" or "fine" or "config" => Debug,
            "info" or "information" or "informational" or "inf" or "notice" or "log" => Info,
            "warn" or "warning" or "wrn" => Warn,
            "error" or "err" or "eror" or "severe" => Error,
            "fatal" or "critical" or "crit" or "alert" or "emergency" or "emerg" or "panic" or "ftl" => Fatal,
            _ => null,
        };
    }
}
