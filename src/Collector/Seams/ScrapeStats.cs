namespace Observe.Collector;

/// <summary>What the scrapes have done since start (docs/limits.md#scrape): failures by reason, bounds hit, schedule lag.</summary>
public sealed record ScrapeStats(int Targets, long Scrapes, IReadOnlyDictionary<string, long> Failures, long SeriesDropped,
    long NamesTooLong, long NonFiniteSkipped, long BadLines, double LagP50Ms, double LagP99Ms, double LagMaxMs);
