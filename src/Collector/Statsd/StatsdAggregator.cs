using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Observe.Collector.Statsd;

/// <summary>
/// Parses StatsD packets and aggregates them per flush with Etsy statsd 0.9.0's semantics
/// (stats.js handlePacket, lib/helpers.js, lib/process_metrics.js, backends/graphite.js).
/// HandlePacket is called concurrently from every listener thread; Flush from the flush scheduler.
/// Concurrency: one lock per metric-type map; parsing, decoding and sanitising happen outside the
/// locks on pooled buffers, and existing keys are found through span-keyed alternate lookups, so
/// the per-line hot path does not allocate. Flush reads and resets each map under its lock.
/// The per-line methods are [AggressiveOptimization]: compiled fully optimised at their first call instead of starting
/// at Tier0 and waiting behind the start-up's other methods for Tier1 (~2 s after start, when a restarted Observe meets
/// an incident's backlog at full rate and at Tier0 overflowed its socket buffer; docs/benchmarks.md "StatsD ingest").
/// </summary>
internal sealed class StatsdAggregator
{
    // Per-key state is a struct stored in the dictionary entry (no object per key). Names holds the key's output names,
    // made once (StatsdKeyNames: off the flush, while the interval runs) and reused by every flush: the same string
    // instances reach the sinks each flush (the embedded store keeps them as its series names).
    private struct CounterState { public double Value; public string?[]? Names; }
    private struct GaugeState { public double Value; public int Ttl; public string?[]? Names; }
    private sealed class SetState
    {
        public readonly HashSet<string> Values = new(StringComparer.Ordinal);
        public readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> Lookup;
        public string?[]? Names;
        public SetState() => Lookup = Values.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    private readonly StatsdOptions _options;
    private readonly int _maxLineBytes;
    private readonly IStatsdEventSink? _events;
    private readonly StatsdNaming _naming;
    private readonly TimerStatistics _timerStats;
    private readonly StatsdKeyNames _keyNames;
    private readonly bool _deleteCounters, _deleteTimers, _deleteGauges, _deleteSets;
    private readonly int _gaugesMaxTtl;
    private readonly double _flushSeconds;

    private readonly Lock _counterLock = new(), _timerLock = new(), _gaugeLock = new(), _setLock = new();
    private readonly Dictionary<string, CounterState> _counters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TimerSamples> _timers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GaugeState> _gauges = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SetState> _sets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CounterState>.AlternateLookup<ReadOnlySpan<char>> _counterLookup;
    private readonly Dictionary<string, TimerSamples>.AlternateLookup<ReadOnlySpan<char>> _timerLookup;
    private readonly Dictionary<string, GaugeState>.AlternateLookup<ReadOnlySpan<char>> _gaugeLookup;
    private readonly Dictionary<string, SetState>.AlternateLookup<ReadOnlySpan<char>> _setLookup;

    // Etsy keeps its three ingest counters in the counters map; they are fed from these totals at flush.
    private readonly string _badLinesKey, _packetsKey, _metricsKey, _lagKey;
    private long _packets, _metrics, _badLines, _keysDropped, _eventsReceived, _eventsRefused, _tagLimitDrops;
    private long _flushedPackets, _flushedMetrics, _flushedBadLines;
    private int _activeKeys;
    private long _oldTimestamp;
    private long _lastFlushSeconds;

    /// <summary>The host's memory budget; null = none (tests, tools).</summary>
    public IMemoryPressure? Pressure { get; init; }

    public StatsdAggregator(StatsdOptions options, IStatsdEventSink? events = null)
    {
        _options = options;
        _maxLineBytes = options.MaxLineBytes;
        _events = events;
        _naming = new StatsdNaming(options);
        _timerStats = new TimerStatistics(options);
        _keyNames = new StatsdKeyNames(_naming, _timerStats, options.FlushCounts);
        // deleteIdleStats turns on each delete* option that is not set individually.
        var idle = options.DeleteIdleStats;
        _deleteCounters = options.DeleteCounters ?? idle;
        _deleteTimers = options.DeleteTimers ?? idle;
        _deleteGauges = options.DeleteGauges ?? idle;
        _deleteSets = options.DeleteSets ?? idle;
        _gaugesMaxTtl = options.GaugesMaxTTL > 1 ? options.GaugesMaxTTL : 1;
        _flushSeconds = options.FlushInterval / 1000.0;
        _counterLookup = _counters.GetAlternateLookup<ReadOnlySpan<char>>();
        _timerLookup = _timers.GetAlternateLookup<ReadOnlySpan<char>>();
        _gaugeLookup = _gauges.GetAlternateLookup<ReadOnlySpan<char>>();
        _setLookup = _sets.GetAlternateLookup<ReadOnlySpan<char>>();
        var ps = options.PrefixStats;
        _badLinesKey = ps + ".bad_lines_seen";
        _packetsKey = ps + ".packets_received";
        _metricsKey = ps + ".metrics_received";
        _lagKey = ps + ".timestamp_lag";
        _counters[_badLinesKey] = default;
        _counters[_packetsKey] = default;
        _counters[_metricsKey] = default;
        _lastFlushSeconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    /// <summary>Totals since start, for /stats and /metrics.</summary>
    public StatsdTotals Totals => new(
        Interlocked.Read(ref _packets), Interlocked.Read(ref _metrics), Interlocked.Read(ref _badLines),
        Interlocked.Read(ref _keysDropped), Interlocked.Read(ref _eventsReceived), Volatile.Read(ref _activeKeys), Interlocked.Read(ref _tagLimitDrops),
        Interlocked.Read(ref _eventsRefused));

    public void HandlePacket(ReadOnlySpan<byte> packet) => HandlePacket(packet, default);

    /// <param name="source">who sent it: DogStatsD events and service checks are handled only when its policy allows them.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void HandlePacket(ReadOnlySpan<byte> packet, in PacketSource source)
    {
        sbyte eventsAllowed = 0; // 0 = not asked yet: most packets hold no event
        Interlocked.Increment(ref _packets);
        if (packet.IsEmpty) return;
        // Split on '\n' at the byte level so that each line is judged on its own bytes. Two deliberate
        // deviations from Etsy (docs/statsd.md): a line with invalid UTF-8 is a bad line (Node would turn
        // the bytes into U+FFFD and the sanitiser would silently give a different key), and so is a line
        // longer than maxLineBytes.
        var charBuf = ArrayPool<char>.Shared.Rent(Math.Min(packet.Length, _maxLineBytes));
        var keyBuf = ArrayPool<char>.Shared.Rent(Math.Min(packet.Length, _maxLineBytes) + 1);
        try
        {
            var rest = packet;
            while (true)
            {
                var nl = rest.IndexOf((byte)'\n');
                var line = nl < 0 ? rest : rest[..nl];
                if (line.Length > 0)
                {
                    Interlocked.Increment(ref _metrics);
                    if (line.Length > _maxLineBytes) Bad();
                    else if (System.Text.Ascii.ToUtf16(line, charBuf, out var n) == OperationStatus.Done)
                        HandleLine(charBuf.AsSpan(0, n), keyBuf, source, ref eventsAllowed); // the common case: plain ASCII, widened with SIMD
                    else if (!System.Text.Unicode.Utf8.IsValid(line)) Bad();
                    else
                    {
                        n = Encoding.UTF8.GetChars(line, charBuf);
                        HandleLine(charBuf.AsSpan(0, n), keyBuf, source, ref eventsAllowed);
                    }
                }
                if (nl < 0) break;
                rest = rest[(nl + 1)..];
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(keyBuf);
            ArrayPool<char>.Shared.Return(charBuf);
        }
    }

    private void Bad() => Interlocked.Increment(ref _badLines);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void HandleLine(ReadOnlySpan<char> line, Span<char> keyBuf, in PacketSource source, ref sbyte eventsAllowed)
    {
        if (line.StartsWith("_e{") || line.StartsWith("_sc|"))
        {
            if (eventsAllowed == 0) eventsAllowed = source.AllowsEvents ? (sbyte)1 : (sbyte)-1;
            if (eventsAllowed < 0) { Interlocked.Increment(ref _eventsRefused); return; }
        }
        if (line.StartsWith("_e{"))
        {
            if (DogStatsdParser.TryParseEvent(line, out var ev)) { Interlocked.Increment(ref _eventsReceived); _events?.OnEvent(ev); }
            else Bad();
            return;
        }
        if (line.StartsWith("_sc|"))
        {
            if (DogStatsdParser.TryParseServiceCheck(line, out var sc)) { Interlocked.Increment(ref _eventsReceived); _events?.OnServiceCheck(sc); }
            else Bad();
            return;
        }

        // '|#' splits off DogStatsD tags; only the segment right after the first '|#' is used.
        var metricPart = line;
        ReadOnlySpan<char> tagPart = default;
        var hash = line.IndexOf("|#");
        if (hash >= 0)
        {
            metricPart = line[..hash];
            tagPart = line[(hash + 2)..];
            var next = tagPart.IndexOf("|#");
            if (next >= 0) tagPart = tagPart[..next];
            // Each tag becomes part of the series name: too many or too long ones would make unbounded names and series.
            if (TagLimit.Exceeded(tagPart, ',', _options.MaxTags, _options.MaxTagLength)) { Interlocked.Increment(ref _tagLimitDrops); return; }
        }
        var colon = metricPart.IndexOf(':');
        var rawKey = colon < 0 ? metricPart : metricPart[..colon];
        var samples = colon < 0 ? "1" : metricPart[(colon + 1)..];

        // key + ';' + tags (each: first ';' → '_', first ':' → '='), then sanitised.
        rawKey.CopyTo(keyBuf);
        var kl = rawKey.Length;
        if (tagPart.Length > 0)
        {
            while (true)
            {
                keyBuf[kl++] = ';';
                var comma = tagPart.IndexOf(',');
                var tag = comma < 0 ? tagPart : tagPart[..comma];
                var start = kl;
                tag.CopyTo(keyBuf[kl..]);
                kl += tag.Length;
                var t = keyBuf[start..kl];
                var semi = t.IndexOf(';');
                if (semi >= 0) t[semi] = '_';
                var col = t.IndexOf(':');
                if (col >= 0) t[col] = '=';
                if (comma < 0) break;
                tagPart = tagPart[(comma + 1)..];
            }
        }
        if (_options.KeyNameSanitize) kl = StatsdNaming.SanitizeInPlace(keyBuf[..kl]);
        ReadOnlySpan<char> key = keyBuf[..kl];

        while (true)
        {
            var c = samples.IndexOf(':');
            HandleSample(key, c < 0 ? samples : samples[..c]);
            if (c < 0) break;
            samples = samples[(c + 1)..];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void HandleSample(ReadOnlySpan<char> key, ReadOnlySpan<char> sample)
    {
        // fields = sample.split('|'): value, type, rate (anything after fields[2] is ignored).
        var p1 = sample.IndexOf('|');
        if (p1 < 0) { Bad(); return; } // no type
        var value = sample[..p1];
        var afterType = sample[(p1 + 1)..];
        var p2 = afterType.IndexOf('|');
        var rawType = p2 < 0 ? afterType : afterType[..p2];
        var hasRate = p2 >= 0;
        double sampleRate = 1;
        if (hasRate)
        {
            var rateField = afterType[(p2 + 1)..];
            var p3 = rateField.IndexOf('|');
            if (p3 >= 0) rateField = rateField[..p3];
            // isValidSampleRate: '@' + a number not starting with '-'.
            if (rateField.Length <= 1 || rateField[0] != '@' || !JsSemantics.IsNumber(rateField[1..]) || rateField[1] == '-') { Bad(); return; }
            // Etsy then takes /^@([\d\.]+)/; without a match it throws (crashes), Observe counts a bad line.
            var m = 1;
            while (m < rateField.Length && (char.IsAsciiDigit(rateField[m]) || rateField[m] == '.')) m++;
            if (m == 1) { Bad(); return; }
            sampleRate = JsSemantics.ToNumber(rateField[1..m]);
            if (double.IsNaN(sampleRate)) { Bad(); return; }
        }
        // is_valid_packet's switch on the raw type.
        double number = double.NaN;
        if (rawType.SequenceEqual("s")) { }
        else
        {
            if (value.Length == 0) { Bad(); return; }
            number = JsSemantics.ToNumber(value);
            if (double.IsNaN(number)) { Bad(); return; }
            if (rawType.SequenceEqual("ms") && !(number >= 0)) { Bad(); return; }
        }
        var type = JsSemantics.Trim(rawType);
        if (type.SequenceEqual("c"))
            AddCounter(key, number * (1 / sampleRate));
        else if (type.SequenceEqual("ms") || type.SequenceEqual("h") || type.SequenceEqual("d"))
            AddTimer(key, number, 1 / sampleRate); // h/d: DogStatsD meaning (deviation: Etsy counts them)
        else if (type.SequenceEqual("g"))
            SetGauge(key, number, value.Length > 0 && value[0] is '+' or '-');
        else if (type.SequenceEqual("s"))
            AddToSet(key, value.Length > 0 ? value : "0");
        else
            Bad(); // deviation: Etsy counts any other type as a counter
    }

    /// <summary>
    /// A timer sample made inside Observe (a log rule, a page-load beacon) under a key already in StatsD form (sanitised,
    /// tags as <c>;k=v</c>): aggregated and flushed exactly as a <c>key:v|ms</c> line, under the same key limit.
    /// </summary>
    public void AddDerivedTimer(ReadOnlySpan<char> key, double ms) => AddTimer(key, ms, 1);

    /// <summary>A counter increment made inside Observe, as a <c>key:n|c</c> line would be.</summary>
    public void AddDerivedCounter(ReadOnlySpan<char> key, double n) => AddCounter(key, n);

    private bool TryReserveKey()
    {
        // Over the memory budget (limits.memory) a new key is refused like one beyond maxActiveKeys; only new keys ask.
        if (Pressure is { Level: >= MemoryPressure.RefuseNew }) { Interlocked.Increment(ref _keysDropped); return false; }
        if (Interlocked.Increment(ref _activeKeys) <= _options.MaxActiveKeys) return true;
        Interlocked.Decrement(ref _activeKeys);
        Interlocked.Increment(ref _keysDropped);
        return false;
    }

    /// <summary>The names of new keys, made off the flush (tests).</summary>
    internal StatsdKeyNames KeyNames => _keyNames;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddCounter(ReadOnlySpan<char> key, double v)
    {
        string? added = null;
        string?[]? names = null;
        lock (_counterLock)
        {
            ref var st = ref CollectionsMarshal.GetValueRefOrNullRef(_counterLookup, key);
            if (Unsafe.IsNullRef(ref st))
            {
                if (!TryReserveKey()) return;
                added = key.ToString();
                names = _keyNames.NewArray(StatsdKeyNames.Kind.Counter);
                _counters.Add(added, new CounterState { Value = v, Names = names });
            }
            else st.Value += v;
        }
        if (added != null) _keyNames.Added(StatsdKeyNames.Kind.Counter, added, names!);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddTimer(ReadOnlySpan<char> key, double v, double count)
    {
        string? added = null;
        string?[]? names = null;
        lock (_timerLock)
        {
            ref var st = ref CollectionsMarshal.GetValueRefOrNullRef(_timerLookup, key);
            if (Unsafe.IsNullRef(ref st))
            {
                if (!TryReserveKey()) return;
                var fresh = default(TimerSamples);
                fresh.Add(v, count);
                fresh.Names = names = _keyNames.NewArray(StatsdKeyNames.Kind.Timer);
                _timers.Add(added = key.ToString(), fresh);
            }
            else st.Add(v, count);
        }
        if (added != null) _keyNames.Added(StatsdKeyNames.Kind.Timer, added, names!);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SetGauge(ReadOnlySpan<char> key, double v, bool signed)
    {
        string? added = null;
        string?[]? names = null;
        lock (_gaugeLock)
        {
            ref var st = ref CollectionsMarshal.GetValueRefOrNullRef(_gaugeLookup, key);
            if (Unsafe.IsNullRef(ref st))
            {
                if (!TryReserveKey()) return;
                names = _keyNames.NewArray(StatsdKeyNames.Kind.Gauge);
                _gauges.Add(added = key.ToString(), new GaugeState { Value = v, Ttl = _deleteGauges ? _gaugesMaxTtl : 0, Names = names });
            }
            else
            {
                // `gauges[key] && /^[-+]/`: a delta only applies to an existing, non-zero (truthy) gauge.
                if (signed && st.Value != 0 && !double.IsNaN(st.Value)) st.Value += v;
                else st.Value = v;
                if (_deleteGauges) st.Ttl = _gaugesMaxTtl;
            }
        }
        if (added != null) _keyNames.Added(StatsdKeyNames.Kind.Gauge, added, names!);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddToSet(ReadOnlySpan<char> key, ReadOnlySpan<char> member)
    {
        string? added = null;
        SetState? st;
        lock (_setLock)
        {
            if (!_setLookup.TryGetValue(key, out st))
            {
                if (!TryReserveKey()) return;
                st = new SetState { Names = _keyNames.NewArray(StatsdKeyNames.Kind.Set) };
                _sets.Add(added = key.ToString(), st);
            }
            // lib/set.js stores members as object keys; "__proto__" cannot be stored that way.
            if (!st.Lookup.Contains(member) && !member.SequenceEqual("__proto__")) st.Values.Add(member.ToString());
        }
        if (added != null) _keyNames.Added(StatsdKeyNames.Kind.Set, added, st.Names!);
    }

    private static bool IsIngestCounter(string key) =>
        key.Contains("packets_received", StringComparison.Ordinal) || key.Contains("metrics_received", StringComparison.Ordinal)
        || key.Contains("bad_lines_seen", StringComparison.Ordinal);

    // Reused by every flush (only the flush thread touches them): what each map held, taken under its lock.
    private readonly List<(string Key, double Value, string?[] Names)> _counterSnap = [];
    private readonly List<(string Key, TimerSamples.Taken Samples, string?[] Names)> _timerSnap = [];
    private readonly List<(string Key, double Value, string?[] Names)> _gaugeSnap = [];
    private readonly List<(string Key, int Count, string?[] Names)> _setSnap = [];
    private readonly List<(int Stat, double Value)> _statScratch = new(32);
    private readonly List<string> _removeScratch = [];

    /// <summary>The last <see cref="Flush"/>'s time taking the maps under their locks, and building its points (flush thread only).</summary>
    public TimeSpan LastSnapshotTime { get; private set; }
    public TimeSpan LastBuildTime { get; private set; }

    /// <summary>Produces one flush with Etsy's output names, including its internal statsd metrics.</summary>
    /// <param name="reserve">Room left in the batch's list for points the caller appends (the flush metric sources).</param>
    public MetricBatch Flush(long timestampMs, int reserve = 0)
    {
        var ts = (long)JsSemantics.Round(timestampMs / 1000.0);
        var start = Stopwatch.GetTimestamp();
        var counters = _counterSnap; var timers = _timerSnap; var gauges = _gaugeSnap; var sets = _setSnap;
        var toRemove = _removeScratch;
        var removed = 0;

        lock (_counterLock)
        {
            var p = Interlocked.Read(ref _packets);
            var m = Interlocked.Read(ref _metrics);
            var b = Interlocked.Read(ref _badLines);
            CollectionsMarshal.GetValueRefOrNullRef(_counters, _packetsKey).Value += p - _flushedPackets;
            CollectionsMarshal.GetValueRefOrNullRef(_counters, _metricsKey).Value += m - _flushedMetrics;
            CollectionsMarshal.GetValueRefOrNullRef(_counters, _badLinesKey).Value += b - _flushedBadLines;
            _flushedPackets = p; _flushedMetrics = m; _flushedBadLines = b;
            foreach (var key in _counters.Keys)
            {
                ref var st = ref CollectionsMarshal.GetValueRefOrNullRef(_counters, key);
                counters.Add((key, st.Value, st.Names ??= _keyNames.NewArray(StatsdKeyNames.Kind.Counter)));
                if (_deleteCounters && !IsIngestCounter(key)) toRemove.Add(key);
                else st.Value = 0;
            }
            foreach (var k in toRemove) { _counters.Remove(k); removed++; }
            toRemove.Clear();
        }
        lock (_timerLock)
        {
            foreach (var key in _timers.Keys)
            {
                ref var st = ref CollectionsMarshal.GetValueRefOrNullRef(_timers, key);
                timers.Add((key, st.Take(), st.Names ??= _keyNames.NewArray(StatsdKeyNames.Kind.Timer)));
                if (_deleteTimers) toRemove.Add(key);
            }
            foreach (var k in toRemove) { _timers.Remove(k); removed++; }
            toRemove.Clear();
        }
        lock (_gaugeLock)
        {
            if (_oldTimestamp > 0)
            {
                ref var lag = ref CollectionsMarshal.GetValueRefOrAddDefault(_gauges, _lagKey, out var exists);
                // Never expires (Etsy keeps no TTL for it); the aggregator's own, like the ingest counters: not an active key.
                if (!exists) lag.Ttl = int.MaxValue;
                lag.Value = ts - _oldTimestamp - _flushSeconds;
            }
            _oldTimestamp = ts;
            foreach (var key in _gauges.Keys)
            {
                ref var st = ref CollectionsMarshal.GetValueRefOrNullRef(_gauges, key);
                gauges.Add((key, st.Value, st.Names ??= _keyNames.NewArray(StatsdKeyNames.Kind.Gauge)));
                if (_deleteGauges && st.Ttl != int.MaxValue && --st.Ttl < 1) toRemove.Add(key);
            }
            foreach (var k in toRemove) { _gauges.Remove(k); removed++; }
            toRemove.Clear();
        }
        lock (_setLock)
        {
            foreach (var (key, st) in _sets)
            {
                sets.Add((key, st.Values.Count, st.Names ??= _keyNames.NewArray(StatsdKeyNames.Kind.Set)));
                if (_deleteSets) toRemove.Add(key);
                else st.Values.Clear();
            }
            foreach (var k in toRemove) { _sets.Remove(k); removed++; }
            toRemove.Clear();
        }
        if (removed > 0) Interlocked.Add(ref _activeKeys, -removed);
        var snapshotEnd = Stopwatch.GetTimestamp();

        // process_metrics and the graphite backend's flush_stats, outside the locks: the receive path is not held up.
        var points = new List<MetricPoint>(counters.Count * 2 + timers.Count * 16 + gauges.Count + sets.Count + 12 + reserve);
        long processingTicks = 0;
        var calcStart = Stopwatch.GetTimestamp();
        var numStats = 0;
        // Names of keys the work item has not reached yet (new just before the boundary) are made here, the same way.
        Span<double> one = stackalloc double[1];
        _keyNames.FillLock.Enter();
        try
        {
            foreach (var (key, value, names) in counters)
            {
                if (names[0] == null) _keyNames.Fill(StatsdKeyNames.Kind.Counter, key, names);
                points.Add(new MetricPoint(names[0]!, value / _flushSeconds, ts));
                if (_options.FlushCounts) points.Add(new MetricPoint(names[1]!, value, ts));
                numStats++;
            }
            foreach (var (key, samples, names) in timers)
            {
                var stats = _statScratch;
                var t0 = Stopwatch.GetTimestamp();
                _timerStats.Compute(key, samples.Values(one), samples.Count, _flushSeconds, stats);
                processingTicks += Stopwatch.GetTimestamp() - t0;
                samples.Return();
                foreach (var (stat, value) in stats)
                {
                    if (names[stat] == null) _keyNames.Fill(StatsdKeyNames.Kind.Timer, key, names);
                    points.Add(new MetricPoint(names[stat]!, value, ts));
                }
                stats.Clear();
                numStats++;
            }
            foreach (var (key, value, names) in gauges)
            {
                if (names[0] == null) _keyNames.Fill(StatsdKeyNames.Kind.Gauge, key, names);
                points.Add(new MetricPoint(names[0]!, value, ts));
                numStats++;
            }
            foreach (var (key, count, names) in sets)
            {
                if (names[0] == null) _keyNames.Fill(StatsdKeyNames.Kind.Set, key, names);
                points.Add(new MetricPoint(names[0]!, count, ts));
                numStats++;
            }
        }
        finally { _keyNames.FillLock.Exit(); }
        counters.Clear(); timers.Clear(); gauges.Clear(); sets.Clear();
        var processingTime = (long)Stopwatch.GetElapsedTime(0, processingTicks).TotalMilliseconds;
        points.Add(new MetricPoint(_naming.NumStats, numStats, ts));
        points.Add(new MetricPoint(_naming.CalculationTime, (long)Stopwatch.GetElapsedTime(calcStart).TotalMilliseconds, ts));
        points.Add(new MetricPoint(_naming.StatsdMetric("processing_time"), processingTime, ts));
        // post_stats: the graphite backend's own stats (Observe has no connection of its own here:
        // last_exception 0, flush_time is this flush's build time, flush_length 0, last_flush the previous flush).
        points.Add(new MetricPoint(_naming.GraphiteStat("last_exception"), 0, ts));
        points.Add(new MetricPoint(_naming.GraphiteStat("last_flush"), _lastFlushSeconds, ts));
        points.Add(new MetricPoint(_naming.GraphiteStat("flush_time"), (long)Stopwatch.GetElapsedTime(start).TotalMilliseconds, ts));
        points.Add(new MetricPoint(_naming.GraphiteStat("flush_length"), 0, ts));
        _lastFlushSeconds = ts;
        LastSnapshotTime = Stopwatch.GetElapsedTime(start, snapshotEnd);
        LastBuildTime = Stopwatch.GetElapsedTime(snapshotEnd);
        return new MetricBatch(ts, points);
    }
}

/// <summary>Running totals of the StatsD ingest path.</summary>
internal readonly record struct StatsdTotals(
    long PacketsReceived, long MetricsReceived, long BadLinesSeen, long KeysDroppedByLimit,
    long EventsReceived, int ActiveKeys, long TagLimitDrops, long EventsRefused);
