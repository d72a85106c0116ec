using System.Runtime.CompilerServices;
namespace Observe.Collector;

/// <summary>The <c>collector:</c> section of observe.yaml. Every key is documented in docs/configuration.md.</summary>
public sealed class CollectorOptions
{
    public StatsdOptions Statsd { get; set; } = new();
    public GraphiteListenerOptions Graphite { get; set; } = new();
    /// <summary>Boomerang page-load beacons on their own port.</summary>
    public BeaconOptions Beacons { get; set; } = new();
}

/// <summary>
/// StatsD listener and aggregation settings. Aggregation keys keep Etsy statsd's names and defaults
/// (flushInterval, percentThreshold, deleteIdleStats, legacyNamespace, …) so an Etsy config translates 1:1.
/// </summary>
public sealed class StatsdOptions
{
    public bool Enabled { get; set; } = true;
    public string Address { get; set; } = "127.0.0.1";
    public int Port { get; set; } = 8125;
    public bool Tcp { get; set; } = true;
    /// <summary>TCP connections open at once; one more is reset and counted (idle clients must not use up the descriptors).</summary>
    public int TcpMaxConnections { get; set; } = 1000;
    /// <summary>A TCP connection that sends nothing this long is closed (counted); 0 = never.</summary>
    public int TcpIdleTimeoutMs { get; set; } = 300_000;
    /// <summary>Who may send DogStatsD events and service checks (off by default: StatsD has no authentication).</summary>
    public StatsdEventOptions Events { get; set; } = new();
    /// <summary>UDP sockets bound with SO_REUSEPORT; 0 = one per core.</summary>
    public int UdpSockets { get; set; }
    public int ReceiveBufferBytes { get; set; } = 16 * 1024 * 1024;
    /// <summary>Cardinality guard: new keys beyond this many active keys are dropped and counted.</summary>
    public int MaxActiveKeys { get; set; } = 500_000;
    /// <summary>A longer line is a bad line (no real metric needs more; DogStatsD clients cap packets at 8 KiB).</summary>
    public int MaxLineBytes { get; set; } = 8192;
    /// <summary>DogStatsD tags per line beyond this: the line is dropped and counted (<c>tagLimitDrops</c>).</summary>
    public int MaxTags { get; set; } = 64;
    /// <summary>A DogStatsD tag (<c>key:value</c>) longer than this many characters drops the line (counted).</summary>
    public int MaxTagLength { get; set; } = 200;

    public int FlushInterval { get; set; } = 10_000;
    /// <summary>What a stop (SIGTERM) does with the interval in progress; see <see cref="Collector.FlushOnStop"/>.</summary>
    public FlushOnStop FlushOnStop { get; set; } = FlushOnStop.Boundary;
    public List<double> PercentThreshold { get; set; } = [90];
    public List<HistogramOptions> Histogram { get; set; } = [];
    public bool DeleteIdleStats { get; set; }
    public bool? DeleteCounters { get; set; }
    public bool? DeleteTimers { get; set; }
    public bool? DeleteGauges { get; set; }
    public bool? DeleteSets { get; set; }
    public int GaugesMaxTTL { get; set; } = 1;
    public bool KeyNameSanitize { get; set; } = true;
    public List<string>? CalculatedTimerMetrics { get; set; }

    // Graphite backend naming (Etsy's `graphite:` block).
    public bool LegacyNamespace { get; set; } = true;
    public string GlobalPrefix { get; set; } = "stats";
    public string PrefixCounter { get; set; } = "counters";
    public string PrefixTimer { get; set; } = "timers";
    public string PrefixGauge { get; set; } = "gauges";
    public string PrefixSet { get; set; } = "sets";
    public string GlobalSuffix { get; set; } = "";
    public string PrefixStats { get; set; } = "statsd";
    public bool FlushCounts { get; set; } = true;
}

/// <summary>
/// <c>collector.statsd.events</c>: DogStatsD events (<c>_e</c>, drawn as Graphite events) and service checks (<c>_sc</c>,
/// passive check results) are accepted only on the listeners that opt in, and only from <see cref="Sources"/> when given.
/// Refused ones are counted (<c>eventsRefused</c>).
/// </summary>
public sealed class StatsdEventOptions
{
    public bool Udp { get; set; }
    public bool Tcp { get; set; }
    /// <summary>Sender addresses (<c>10.0.0.5</c>) or networks (<c>10.0.0.0/8</c>); empty = any sender.</summary>
    public List<string> Sources { get; set; } = [];
}

/// <summary>How the last StatsD interval is flushed when Observe stops.</summary>
public enum FlushOnStop
{
    /// <summary>Keep receiving until the interval ends (at most 20 s), then flush it whole on its boundary.</summary>
    Boundary,
    /// <summary>Stop receiving and flush what arrived at once, stamped with the interval's end (fast; a restart within the same interval overwrites it).</summary>
    Immediate,
}

public sealed class HistogramOptions
{
    public string Metric { get; set; } = "";
    /// <summary>Upper bounds; the string "inf" for an open last bin.</summary>
    public List<string> Bins { get; set; } = [];
}

public sealed class GraphiteListenerOptions
{
    public bool Enabled { get; set; } = true;
    public string Address { get; set; } = "127.0.0.1";
    public int Port { get; set; } = 2003;
    /// <summary>Connections open at once; one more is reset and counted.</summary>
    public int MaxConnections { get; set; } = 1000;
    /// <summary>A connection that sends nothing this long is closed (counted); 0 = never. collectd and Telegraf send every 10 s.</summary>
    public int IdleTimeoutMs { get; set; } = 300_000;
    /// <summary>A longer line is a bad line and is skipped up to its newline without being buffered (Twisted's LineReceiver, which carbon uses, allows 16 KiB).</summary>
    public int MaxLineBytes { get; set; } = 16384;
    /// <summary>Tags per tagged path (<c>name;k=v;…</c>) beyond this: the point is dropped and counted (<c>tagLimitDrops</c>).</summary>
    public int MaxTags { get; set; } = 64;
    /// <summary>A tag (<c>k=v</c>) longer than this many characters drops the point (counted).</summary>
    public int MaxTagLength { get; set; } = 200;
    /// <summary>carbon's pickle receiver (only while <see cref="Enabled"/>); its points share this listener's tag limits and batching.</summary>
    public PickleListenerOptions Pickle { get; set; } = new();
}

/// <summary>
/// <c>collector.graphite.pickle</c>: carbon's pickle receiver (carbon-relay, Diamond, Etsy statsd with
/// <c>graphiteProtocol: pickle</c>). Bounds per frame; a frame over one closes the connection and is counted.
/// </summary>
public sealed class PickleListenerOptions
{
    public bool Enabled { get; set; } = true;
    public string Address { get; set; } = "127.0.0.1";
    public int Port { get; set; } = 2004;
    /// <summary>Connections open at once (relays hold few); one more is reset and counted.</summary>
    public int MaxConnections { get; set; } = 100;
    /// <summary>A connection that sends nothing this long is closed (counted); 0 = never.</summary>
    public int IdleTimeoutMs { get; set; } = 300_000;
    /// <summary>Largest frame (the pickle after the 4-byte length); carbon's own receiver allows 1 MiB.</summary>
    public int MaxFrameBytes { get; set; } = 1 << 20;
    /// <summary>Containers nested in one frame (a carbon pickle needs 3: list, point tuple, datapoint tuple).</summary>
    public int MaxDepth { get; set; } = 8;
    /// <summary>Values built per frame (a point is 5: path, timestamp, value and two tuples); bounds the memory one frame costs.</summary>
    public int MaxItems { get; set; } = 250_000;
    /// <summary>Memo entries per frame (Python's pickler memoises each string and tuple).</summary>
    public int MaxMemo { get; set; } = 100_000;
}

/// <summary>Bounds on the tags of one metric, shared by the StatsD and Graphite paths.</summary>
internal static class TagLimit
{
    /// <summary>True when <paramref name="tags"/> (separated by <paramref name="separator"/>; empty ones ignored) are too many or one is too long.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool Exceeded(ReadOnlySpan<char> tags, char separator, int maxTags, int maxTagLength)
    {
        var count = 0;
        foreach (var r in tags.Split(separator))
        {
            var length = r.End.Value - r.Start.Value;
            if (length == 0) continue;
            if (++count > maxTags || length > maxTagLength) return true;
        }
        return false;
    }
}
