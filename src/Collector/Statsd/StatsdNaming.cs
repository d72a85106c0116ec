using System.Runtime.CompilerServices;
using System.Text;

namespace Observe.Collector.Statsd;

/// <summary>Key sanitising (stats.js sanitizeKeyName) and the graphite backend's output names.</summary>
internal sealed class StatsdNaming
{
    private readonly bool _legacy;
    private readonly bool _sanitizeAtOutput;
    private readonly string _suffix;
    private readonly string[] _global, _counter, _timer, _gauge, _set;
    public string PrefixStats { get; }

    public StatsdNaming(StatsdOptions o)
    {
        _legacy = o.LegacyNamespace;
        _sanitizeAtOutput = !o.KeyNameSanitize;
        // Etsy: an unset globalSuffix is '', a set one is '.' + suffix. Observe treats "" as unset.
        _suffix = string.IsNullOrEmpty(o.GlobalSuffix) ? "" : "." + o.GlobalSuffix;
        PrefixStats = o.PrefixStats;
        if (_legacy)
        {
            _global = ["stats"]; _counter = ["stats"]; _timer = ["stats", "timers"];
            _gauge = ["stats", "gauges"]; _set = ["stats", "sets"];
        }
        else
        {
            string[] G(string p) => o.GlobalPrefix != "" ? (p != "" ? [o.GlobalPrefix, p] : [o.GlobalPrefix]) : (p != "" ? [p] : []);
            _global = o.GlobalPrefix != "" ? [o.GlobalPrefix] : [];
            _counter = G(o.PrefixCounter); _timer = G(o.PrefixTimer); _gauge = G(o.PrefixGauge); _set = G(o.PrefixSet);
        }
    }

    /// <summary>graphite.js format(namespace, key, ...extras).</summary>
    private string Format(string[] ns, string key, string? e1 = null, string? e2 = null, string? e3 = null)
    {
        var semi = key.IndexOf(';');
        var name = semi < 0 ? key : key[..semi];
        if (_sanitizeAtOutput) name = Sanitize(name);
        var sb = new StringBuilder(64);
        foreach (var n in ns) sb.Append(n).Append('.');
        sb.Append(name);
        if (e1 != null) sb.Append('.').Append(e1);
        if (e2 != null) sb.Append('.').Append(e2);
        if (e3 != null) sb.Append('.').Append(e3);
        sb.Append(_suffix);
        if (semi >= 0) sb.Append(key, semi, key.Length - semi);
        return sb.ToString();
    }

    public string CounterRate(string key) => _legacy ? Format(_counter, key) : Format(_counter, key, "rate");
    public string CounterCount(string key) => _legacy ? Format(["stats_counts"], key) : Format(_counter, key, "count");
    public string Timer(string key, string stat) => Format(_timer, key, stat);
    public string TimerHistogram(string key, string bin) => Format(_timer, key, "histogram", bin);
    public string Gauge(string key) => Format(_gauge, key);
    public string Set(string key) => Format(_set, key, "count");
    public string NumStats => _legacy ? PrefixStats + ".numStats" + _suffix : Format(_global, PrefixStats, "numStats");
    public string CalculationTime => _legacy
        ? "stats." + PrefixStats + ".graphiteStats.calculationtime" + _suffix
        : Format(_global, PrefixStats, "graphiteStats", "calculationtime");
    public string StatsdMetric(string name) => _legacy ? "stats." + PrefixStats + "." + name + _suffix : Format(_global, PrefixStats, name);
    public string GraphiteStat(string name) => string.Join('.', [.. _global, PrefixStats]) + ".graphiteStats." + name + _suffix;

    /// <summary>sanitizeKeyName: <c>\s+</c>→<c>_</c>, <c>/</c>→<c>-</c>, drop <c>[^a-zA-Z_\-0-9\.;=]</c>.</summary>
    public static string Sanitize(string s)
    {
        Span<char> buf = s.Length <= 512 ? stackalloc char[s.Length] : new char[s.Length];
        s.AsSpan().CopyTo(buf);
        return new string(buf[..SanitizeInPlace(buf)]);
    }

    private static readonly System.Buffers.SearchValues<char> CleanKeyChars =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.;=");

    /// <summary>Sanitises in place; returns the new length. One pass equals Etsy's three replaces.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int SanitizeInPlace(Span<char> s)
    {
        // Fast path: almost every real key is already clean; one vectorised scan proves it.
        if (s.IndexOfAnyExcept(CleanKeyChars) < 0) return s.Length;
        var w = 0;
        var inWs = false;
        for (var r = 0; r < s.Length; r++)
        {
            var c = s[r];
            if (JsSemantics.IsJsWhiteSpace(c))
            {
                if (!inWs) s[w++] = '_';
                inWs = true;
                continue;
            }
            inWs = false;
            if (c == '/') s[w++] = '-';
            else if (char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ';' or '=') s[w++] = c;
        }
        return w;
    }
}
