using System.Text.RegularExpressions;
using Observe.Collector.Statsd;

namespace Observe.Collector.Logs;

/// <summary>
/// <c>logs.metrics</c>: each accepted log event is tested against every rule; a match adds a counter increment or a timer
/// sample to the StatsD aggregator under the rule's key, so it is aggregated, named and flushed exactly as a StatsD line
/// (one timer code path). Thread-safe: every listener thread calls <see cref="Apply"/> at once. The key is built in a
/// stack buffer and looked up without allocating; only a new series allocates its name.
/// </summary>
internal sealed class LogMetricRules
{
    /// <summary>Why a matching event made no point.</summary>
    internal static readonly string[] DropReasons = ["series_limit", "regex_timeout", "not_numeric", "too_long"];
    private const int SeriesLimit = 0, RegexTimeout = 1, NotNumeric = 2, TooLong = 3;
    private const int MaxKeyChars = 1024;

    private sealed record Condition(string Field, string? Value, Regex? Regex);
    private sealed record Rule(string Name, string? Service, string? Level, Condition[] Where, string? Timer, string[] GroupBy, string[] Tags);

    private readonly Rule[] _rules;
    private readonly StatsdAggregator _aggregator;
    private readonly bool _sanitize;
    private readonly int _maxSeries, _maxValue;
    private readonly HashSet<string> _series = new(StringComparer.Ordinal);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _seriesLookup;
    private readonly Lock _lock = new();
    private readonly long[] _drops = new long[DropReasons.Length];

    public LogMetricRules(LogMetricsOptions options, StatsdAggregator aggregator, bool keyNameSanitize)
    {
        _aggregator = aggregator;
        _sanitize = keyNameSanitize;
        _maxSeries = options.MaxSeries;
        _maxValue = options.MaxValueLength;
        _seriesLookup = _series.GetAlternateLookup<ReadOnlySpan<char>>();
        _rules = [.. options.Rules.Select(r => new Rule(r.Name, r.Service, r.Level is { } l ? LogLevels.FromName(l) : null,
            [.. r.Where.Select(w => new Condition(w.Field, w.Value, w.Regex is { } p ? LogMetricsOptions.Compile(p, options.RegexTimeoutMs) : null))],
            r.Timer, [.. r.GroupBy], [.. r.Tags]))];
    }

    public bool Any => _rules.Length > 0;

    public IReadOnlyDictionary<string, long> Drops()
    {
        var d = new Dictionary<string, long>(DropReasons.Length);
        for (var i = 0; i < DropReasons.Length; i++) d[DropReasons[i]] = Interlocked.Read(ref _drops[i]);
        return d;
    }

    public void Apply(LogEvent e)
    {
        Span<char> key = stackalloc char[MaxKeyChars];
        foreach (var r in _rules)
        {
            if (r.Service != null && !string.Equals(r.Service, e.Service, StringComparison.Ordinal)) continue;
            if (r.Level != null && !ReferenceEquals(r.Level, e.Level) && r.Level != e.Level) continue;
            if (!Matches(r, e)) continue;
            var ms = 0.0;
            if (r.Timer != null && !(Value(e, r.Timer) is { } raw && double.TryParse(raw, System.Globalization.NumberStyles.Float,
                    System.Globalization.CultureInfo.InvariantCulture, out ms) && ms >= 0 && double.IsFinite(ms)))
            {
                Interlocked.Increment(ref _drops[NotNumeric]);
                continue;
            }
            var n = BuildKey(r, e, key);
            if (n < 0) { Interlocked.Increment(ref _drops[TooLong]); continue; }
            var k = key[..n];
            if (!Admit(k)) { Interlocked.Increment(ref _drops[SeriesLimit]); continue; }
            if (r.Timer != null) _aggregator.AddDerivedTimer(k, ms);
            else _aggregator.AddDerivedCounter(k, 1);
        }
    }

    private bool Matches(Rule r, LogEvent e)
    {
        foreach (var c in r.Where)
        {
            var v = Value(e, c.Field);
            if (v == null) return false;
            if (c.Value != null) { if (!string.Equals(c.Value, v, StringComparison.Ordinal)) return false; continue; }
            try { if (!c.Regex!.IsMatch(v)) return false; }
            catch (RegexMatchTimeoutException) { Interlocked.Increment(ref _drops[RegexTimeout]); return false; }
        }
        return true;
    }

    private static string? Value(LogEvent e, string field) => field switch
    {
        "service" => e.Service,
        "level" => e.Level,
        "host" => e.Host,
        "message" => e.Message,
        _ => e.Fields.TryGetValue(field, out var v) ? v : null,
    };

    /// <summary><c>name.group1.group2;tag=v</c> into <paramref name="buf"/>, sanitised as a StatsD key is; −1 when it does not fit.</summary>
    private int BuildKey(Rule r, LogEvent e, Span<char> buf)
    {
        var n = 0;
        if (!Append(buf, ref n, r.Name)) return -1;
        foreach (var g in r.GroupBy)
            if (!Append(buf, ref n, ".") || !AppendValue(buf, ref n, Value(e, g))) return -1;
        foreach (var t in r.Tags)
            if (!Append(buf, ref n, ";") || !Append(buf, ref n, t) || !Append(buf, ref n, "=") || !AppendValue(buf, ref n, Value(e, t))) return -1;
        return _sanitize ? StatsdNaming.SanitizeInPlace(buf[..n]) : n;
    }

    private static bool Append(Span<char> buf, ref int n, ReadOnlySpan<char> s)
    {
        if (n + s.Length > buf.Length) return false;
        s.CopyTo(buf[n..]);
        n += s.Length;
        return true;
    }

    // A value is one node: anything but letters, digits, _ and - becomes _ (as logs.<service> is named), cut to maxValueLength.
    private bool AppendValue(Span<char> buf, ref int n, string? v)
    {
        if (string.IsNullOrWhiteSpace(v)) return Append(buf, ref n, "unknown");
        var s = v.AsSpan(0, Math.Min(v.Length, _maxValue));
        if (n + s.Length > buf.Length) return false;
        for (var i = 0; i < s.Length; i++) buf[n + i] = char.IsAsciiLetterOrDigit(s[i]) || s[i] is '_' or '-' ? s[i] : '_';
        n += s.Length;
        return true;
    }

    private bool Admit(ReadOnlySpan<char> key)
    {
        lock (_lock)
        {
            if (_seriesLookup.Contains(key)) return true;
            if (_series.Count >= _maxSeries) return false;
            _series.Add(key.ToString());
            return true;
        }
    }
}
