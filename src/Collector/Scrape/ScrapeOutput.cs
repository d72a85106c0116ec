using System.Text;

namespace Observe.Collector;

/// <summary>Why a scrape failed or was cut short; each is counted (observe_scrape_failures_total / observe_scrape_limit_hits_total).</summary>
internal enum ScrapeFailure { None, Timeout, Connect, Status, BodySize, JsonDepth, Parse }

/// <summary>
/// The points one scrape produces, with the bounds applied as they are added: include/exclude globs over the path below
/// the prefix, at most <c>maxSeries</c> series (the rest dropped and counted), names no longer than <c>maxNameLength</c>.
/// Parsers write the name into <see cref="Name"/> (already holding the prefix and a dot) and call <see cref="Add"/>.
/// </summary>
internal sealed class ScrapeOutput
{
    private readonly int _maxSeries, _maxNameLength;
    private readonly ScrapeGlob[] _include, _exclude;

    public ScrapeOutput(string prefix, long timestamp, int maxSeries, int maxNameLength, ScrapeGlob[]? include = null, ScrapeGlob[]? exclude = null)
    {
        Prefix = prefix;
        Timestamp = timestamp;
        _maxSeries = maxSeries;
        _maxNameLength = maxNameLength;
        _include = include ?? [];
        _exclude = exclude ?? [];
        Name = new StringBuilder(prefix.Length + 64).Append(prefix).Append('.');
        RelativeStart = Name.Length;
    }

    public string Prefix { get; }
    public long Timestamp { get; }
    /// <summary>The name being built: prefix + '.' + path (+ ';k=v' tags).</summary>
    public StringBuilder Name { get; }
    public int RelativeStart { get; }
    public List<MetricPoint> Points { get; } = [];
    /// <summary>Series beyond maxSeriesPerScrape.</summary>
    public int DroppedBySeriesLimit { get; private set; }
    /// <summary>Names longer than maxNameLength.</summary>
    public int DroppedByNameLength { get; private set; }
    /// <summary>NaN and ±Inf values (Graphite stores only finite numbers).</summary>
    public int NonFinite { get; private set; }
    /// <summary>Series named as the scraper's own (<c>up</c>, <c>scrape_duration</c>, <c>scrape_series</c>), skipped.</summary>
    public int Reserved { get; private set; }
    /// <summary>Lines the parser could not read (prometheus).</summary>
    public int BadLines { get; set; }

    /// <summary>Resets <see cref="Name"/> to the prefix and the dot.</summary>
    public void ResetName() => Name.Length = RelativeStart;

    /// <summary>Adds the series named by <see cref="Name"/>; <paramref name="tagsStart"/> is where its tags begin (its
    /// length when untagged): the globs see only the path before them.</summary>
    public void Add(double value, int tagsStart)
    {
        if (!double.IsFinite(value)) { NonFinite++; return; }
        if (IsReserved(tagsStart - RelativeStart)) { Reserved++; return; }
        if (Name.Length > _maxNameLength) { DroppedByNameLength++; return; }
        if (_include.Length > 0 || _exclude.Length > 0)
        {
            Span<char> rel = stackalloc char[tagsStart - RelativeStart];
            Name.CopyTo(RelativeStart, rel, rel.Length);
            if (_include.Length > 0 && !AnyMatch(_include, rel)) return;
            if (AnyMatch(_exclude, rel)) return;
        }
        if (Points.Count >= _maxSeries) { DroppedBySeriesLimit++; return; }
        Points.Add(new MetricPoint(Name.ToString(), value, Timestamp));
    }

    /// <summary>The scraper's own series (<c>up</c>, <c>scrape_duration</c>, <c>scrape_series</c>) are not taken from the
    /// page: a /stats key "up" must not hide that the target is down.</summary>
    private bool IsReserved(int length)
    {
        if (length is not (2 or 13 or 15) || Name.Length != RelativeStart + length) return false;
        Span<char> rel = stackalloc char[length];
        Name.CopyTo(RelativeStart, rel, length);
        return rel is "up" or "scrape_series" or "scrape_duration";
    }

    private static bool AnyMatch(ScrapeGlob[] globs, ReadOnlySpan<char> path)
    {
        foreach (var g in globs) if (g.IsMatch(path)) return true;
        return false;
    }
}
