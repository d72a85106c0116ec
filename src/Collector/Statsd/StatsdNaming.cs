using System.Buffers;
using System.Runtime.CompilerServices;

namespace Observe.Collector.Statsd;

/// <summary>Key sanitising (stats.js sanitizeKeyName) and the graphite backend's output names.</summary>
internal sealed class StatsdNaming
{
    private readonly bool _legacy;
    private readonly bool _sanitizeAtOutput;
    private readonly string _suffix;
    // Each namespace joined once with its trailing dots ("stats.timers."): a name is then prefix + key + extras, made in one buffer.
    private readonly string _global, _counter, _timer, _gauge, _set;
    public string PrefixStats { get; }

    public StatsdNaming(StatsdOptions o)
    {
        _legacy = o.LegacyNamespace;
        _sanitizeAtOutput = !o.KeyNameSanitize;
        // Etsy: an unset globalSuffix is '', a set one is '.' + suffix. Observe treats "" as unset.
        _suffix = string.IsNullOrEmpty(o.GlobalSuffix) ? "" : "." + o.GlobalSuffix;
        PrefixStats = o.PrefixStats;
        string[] global, counter, timer, gauge, set;
        if (_legacy)
        {
            global = ["stats"]; counter = ["stats"]; timer = ["stats", "timers"];
            gauge = ["stats", "gauges"]; set = ["stats", "sets"];
        }
        else
        {
            string[] G(string p) => o.GlobalPrefix != "" ? (p != "" ? [o.GlobalPrefix, p] : [o.GlobalPrefix]) : (p != "" ? [p] : []);
            global = o.GlobalPrefix != "" ? [o.GlobalPrefix] : [];
            counter = G(o.PrefixCounter); timer = G(o.PrefixTimer); gauge = G(o.PrefixGauge); set = G(o.PrefixSet);
        }
        static string Joined(string[] ns) => string.Concat(ns.Select(n => n + "."));
        _global = Joined(global); _counter = Joined(counter); _timer = Joined(timer); _gauge = Joined(gauge); _set = Joined(set);
    }

    /// <summary>
    /// graphite.js format(namespace, key, ...extras): prefix + the key's name (before its tags) + '.' + each extra + the
    /// global suffix + the tags. Composed in one buffer and made into the string in one allocation (issue 21: a
    /// StringBuilder per name was three allocations and 9.2 s of a first flush at 1 M names).
    /// </summary>
    private string Format(string prefix, string key, string? e1 = null, string? e2 = null, string? e3 = null)
    {
        Split(key, out var name, out var tags);
        var length = prefix.Length + name.Length + Extra(e1) + Extra(e2) + Extra(e3) + _suffix.Length + tags.Length;
        char[]? rented = null;
        Span<char> buf = length <= 512 ? stackalloc char[length] : (rented = ArrayPool<char>.Shared.Rent(length));
        var n = Put(buf, 0, prefix);
        n = Put(buf, n, name);
        n = PutExtra(buf, n, e1); n = PutExtra(buf, n, e2); n = PutExtra(buf, n, e3);
        n = Put(buf, n, _suffix);
        n = Put(buf, n, tags);
        var s = new string(buf[..n]);
        if (rented != null) ArrayPool<char>.Shared.Return(rented);
        return s;

        static int Extra(string? e) => e == null ? 0 : e.Length + 1;
        static int PutExtra(Span<char> buf, int at, string? e) => e == null ? at : Put(buf, Put(buf, at, "."), e);
    }

    /// <summary>The key's name part (sanitised here when keys are not sanitised at input) and its tags (from the first ';').</summary>
    private void Split(string key, out ReadOnlySpan<char> name, out ReadOnlySpan<char> tags)
    {
        var semi = key.IndexOf(';');
        name = semi < 0 ? key.AsSpan() : key.AsSpan(0, semi);
        if (_sanitizeAtOutput) name = Sanitize(name.ToString());
        tags = semi < 0 ? default : key.AsSpan(semi);
    }

    private static int Put(Span<char> buf, int at, ReadOnlySpan<char> s)
    {
        s.CopyTo(buf[at..]);
        return at + s.Length;
    }

    /// <summary>
    /// Fills the still empty entries of one timer key's names for the catalogue statistics it can report (see
    /// <see cref="TimerStatistics.Plain"/>, <see cref="TimerStatistics.HistogramOf"/>): the namespace and name are written once, and each statistic's name is that
    /// head + <c>.stat</c> (a histogram bin's <c>.histogram.bin_…</c>) + suffix + tags, one allocation each.
    /// </summary>
    public void FillTimer(string key, TimerStatistics.Stat[] catalogue, ReadOnlySpan<int> plain, int histogramFrom, int histogramTo, string?[] names)
    {
        Split(key, out var name, out var tags);
        var longest = 0;
        foreach (var i in plain) longest = Math.Max(longest, catalogue[i].Name.Length);
        for (var i = histogramFrom; i < histogramTo; i++) longest = Math.Max(longest, catalogue[i].Name.Length);
        var length = _timer.Length + name.Length + ".histogram.".Length + longest + _suffix.Length + tags.Length;
        char[]? rented = null;
        Span<char> buf = length <= 512 ? stackalloc char[512] : (rented = ArrayPool<char>.Shared.Rent(length));
        var head = Put(buf, Put(buf, 0, _timer), name);
        buf[head++] = '.';
        foreach (var i in plain)
            if (names[i] == null) names[i] = Compose(buf, head, catalogue[i].Name, tags);
        if (histogramTo > histogramFrom)
        {
            var binHead = Put(buf, head, "histogram.");
            for (var i = histogramFrom; i < histogramTo; i++)
                if (names[i] == null) names[i] = Compose(buf, binHead, catalogue[i].Name, tags);
        }
        if (rented != null) ArrayPool<char>.Shared.Return(rented);
    }

    private string Compose(Span<char> buf, int at, string stat, ReadOnlySpan<char> tags)
    {
        var n = Put(buf, at, stat);
        n = Put(buf, n, _suffix);
        n = Put(buf, n, tags);
        return new string(buf[..n]);
    }

    public string CounterRate(string key) => _legacy ? Format(_counter, key) : Format(_counter, key, "rate");
    public string CounterCount(string key) => _legacy ? Format("stats_counts.", key) : Format(_counter, key, "count");
    public string Timer(string key, string stat) => Format(_timer, key, stat);
    public string TimerHistogram(string key, string bin) => Format(_timer, key, "histogram", bin);
    public string Gauge(string key) => Format(_gauge, key);
    public string Set(string key) => Format(_set, key, "count");
    public string NumStats => _legacy ? PrefixStats + ".numStats" + _suffix : Format(_global, PrefixStats, "numStats");
    public string CalculationTime => _legacy
        ? "stats." + PrefixStats + ".graphiteStats.calculationtime" + _suffix
        : Format(_global, PrefixStats, "graphiteStats", "calculationtime");
    public string StatsdMetric(string name) => _legacy ? "stats." + PrefixStats + "." + name + _suffix : Format(_global, PrefixStats, name);
    public string GraphiteStat(string name) => _global + PrefixStats + ".graphiteStats." + name + _suffix;

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
