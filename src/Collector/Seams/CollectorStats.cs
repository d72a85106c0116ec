namespace Observe.Collector;

/// <summary>What /stats shows of the collector.</summary>
public sealed record CollectorStats(StatsdIngestStats Statsd, GraphiteIngestStats Graphite, FlushStats Flush, IReadOnlyList<SinkStats> Sinks,
    IReadOnlyList<TcpListenerStats>? TcpListeners = null, PickleIngestStats? Pickle = null);

/// <summary>carbon's pickle receiver: frames and points taken, points skipped (bad shape, path or value), and frames that
/// closed their connection by reason (refused = a forbidden opcode, malformed, tooDeep, tooManyItems, memoTooLarge,
/// frameTooLarge, truncated).</summary>
public sealed record PickleIngestStats(string? Endpoint, long FramesReceived, long PointsReceived, long BadPoints,
    IReadOnlyDictionary<string, long> FramesRejected);

/// <summary>One TCP listener (statsd-tcp, graphite, gelf-tcp): its cap in effect, connections accepted since start, open
/// now, refused over the cap, closed for being idle, failed accepts.</summary>
public sealed record TcpListenerStats(string Name, string Endpoint, int MaxConnections, long Accepted, int Open, long Refused, long IdleClosed, long AcceptErrors);

public sealed record StatsdIngestStats(string? UdpEndpoint, int UdpSockets, int ReceiveBufferBytes, long KernelUdpDrops,
    long PacketsReceived, long MetricsReceived, long BadLinesSeen, long KeysDroppedByLimit, long EventsReceived, int ActiveKeys,
    long TcpConnections, long TagLimitDrops, long EventsRefused = 0);

public sealed record GraphiteIngestStats(string? Endpoint, long LinesReceived, long BadLines, long Connections, long TagLimitDrops);

public sealed record FlushStats(int IntervalMs, long Count, long LastUnixMs, double LastDurationSeconds, long LastPoints)
{
    /// <summary>Where the last flush that every sink has written went (null before the first).</summary>
    public FlushPhaseStats? LastPhases { get; init; }
}

/// <summary>
/// One StatsD flush by phase (issue 21): taking the maps under their locks (<paramref name="SnapshotSeconds"/>), building the
/// points (<paramref name="BuildSeconds"/>), the host's <c>observe.*</c> points (<paramref name="SourcesSeconds"/>), handing the
/// batch to every sink's queue (<paramref name="PublishSeconds"/>); then from the flush's start until the last sink wrote it
/// (<paramref name="DeliveredSeconds"/>; each sink's wait in its queue and its write are in <see cref="SinkStats"/>), with the
/// garbage collections of generation 2 and the time the GC paused the process over that span.
/// </summary>
public sealed record FlushPhaseStats(long TimestampMs, long Points, double SnapshotSeconds, double BuildSeconds, double SourcesSeconds, double PublishSeconds,
    double DeliveredSeconds, int Gen2Collections, double GcPauseSeconds);

/// <summary>Delivery counters of one sink.</summary>
public sealed record SinkStats(string Name, long BatchesWritten, long PointsWritten, long WriteFailures, long BatchesDropped, long BatchesQueued, string? LastError)
{
    /// <summary>How long the last batch written waited in this sink's queue.</summary>
    public double LastQueueWaitSeconds { get; init; }
    /// <summary>How long writing the last batch took (retries included).</summary>
    public double LastWriteSeconds { get; init; }
}

/// <summary>What /stats shows of log ingest: accepted per source (udp, gelf_udp, gelf_tcp, http), rejected per reason, and per log sink.</summary>
public sealed record LogIngestStats(string? UdpEndpoint, string? GelfEndpoint, long Accepted, IReadOnlyDictionary<string, long> AcceptedBySource,
    IReadOnlyDictionary<string, long> Rejected, int PendingGelfMessages, long BatchesPublished, IReadOnlyList<SinkStats> Sinks,
    TcpListenerStats? GelfTcp = null, IReadOnlyDictionary<string, long>? RuleDrops = null);

/// <summary>Page-load beacons since start: accepted, and dropped per reason (bot, no_timing, absurd, origin, too_large, rate, bad_request).</summary>
public sealed record BeaconStats(string? Endpoint, long Accepted, IReadOnlyDictionary<string, long> Dropped);
