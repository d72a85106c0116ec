using Observe.Collector.Statsd;

namespace Observe.Collector;

/// <summary>Which stored series are StatsD counters, under the configured namespace (for readers that treat an absent counter as 0).</summary>
public static class StatsdCounterNames
{
    /// <summary>
    /// True for a counter's count or rate series as the flush names them: <c>stats_counts.x</c> and <c>stats.x</c> (legacy
    /// namespace; <c>stats.timers.</c>, <c>stats.gauges.</c>, <c>stats.sets.</c> and <c>stats.statsd.</c> excluded), or
    /// <c>stats.counters.x.count</c> / <c>.rate</c>.
    /// </summary>
    public static Func<string, bool> Matcher(StatsdOptions options)
    {
        var naming = new StatsdNaming(options);
        const string key = "observecounterkeymarker"; // plain letters: survives sanitising at output
        var (countPrefix, countSuffix) = Split(naming.CounterCount(key));
        var (ratePrefix, rateSuffix) = Split(naming.CounterRate(key));
        string[] others = [Split(naming.Timer(key, "x")).Prefix, Split(naming.Gauge(key)).Prefix, Split(naming.Set(key)).Prefix, Split(naming.StatsdMetric(key)).Prefix];
        return name =>
            Is(name, countPrefix, countSuffix)
            || Is(name, ratePrefix, rateSuffix) && !others.Any(o => name.StartsWith(o, StringComparison.Ordinal));

        static (string Prefix, string Suffix) Split(string s) { var i = s.IndexOf(key, StringComparison.Ordinal); return (s[..i], s[(i + key.Length)..]); }
        static bool Is(string name, string prefix, string suffix) =>
            name.Length > prefix.Length + suffix.Length && name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith(suffix, StringComparison.Ordinal);
    }
}
