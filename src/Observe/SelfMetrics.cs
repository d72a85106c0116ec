using Observe.Alerting;
using Observe.Checks;
using Observe.Collector;
using Observe.Storage;

namespace Observe.Host;

/// <summary>
/// Observe's own health as Graphite series (<c>observe.*</c>), added to every StatsD flush so they reach the embedded store
/// (and every other sink) like any metric and the "Observe itself" dashboard can graph them through /render.
/// Counters are written as per-second rates over the interval since the previous flush (<c>…_per_second</c>), so an
/// average rollup stays right; levels (queues, series, spool depth, durations) as their value at the flush.
/// Every input is optional: a stage that is switched off simply has no series.
/// </summary>
internal sealed class SelfMetrics(
    Func<CollectorStats?> collector,
    Func<StorageStats?> storage,
    Func<IEnumerable<ISpoolStatsSource>> spools,
    Func<IReadOnlyList<ReceiverStats>?> notifications,
    Func<ICheckStates?> checks,
    Func<CheckRunStats?> checkRuns,
    int flushIntervalMs,
    Func<LimitSources>? limits = null) : IFlushMetricSource
{
    private readonly Dictionary<string, long> _lastTotals = new(StringComparer.Ordinal);
    private long? _lastTimestamp;

    public void AddPoints(long timestamp, ICollection<MetricPoint> points)
    {
        // Seconds since the previous flush: the rates' denominator (the first flush uses the configured interval).
        var elapsed = _lastTimestamp is { } last && timestamp > last ? timestamp - last : Math.Max(1, flushIntervalMs / 1000.0);
        _lastTimestamp = timestamp;
        void Gauge(string name, double value) => points.Add(new MetricPoint("observe." + name, value, timestamp));
        void Rate(string name, long total)
        {
            var previous = _lastTotals.GetValueOrDefault(name);
            _lastTotals[name] = total;
            // A total that went down belongs to something restarted (a reloaded integration): count from zero again.
            var delta = total >= previous ? total - previous : total;
            points.Add(new MetricPoint("observe." + name + "_per_second", delta / elapsed, timestamp));
        }

        if (collector() is { } c)
        {
            Rate("statsd.packets_received", c.Statsd.PacketsReceived);
            Rate("statsd.lines_received", c.Statsd.MetricsReceived);
            Rate("statsd.bad_lines", c.Statsd.BadLinesSeen);
            Rate("statsd.udp_kernel_drops", c.Statsd.KernelUdpDrops);
            Rate("statsd.keys_dropped", c.Statsd.KeysDroppedByLimit);
            Rate("statsd.tag_limit_drops", c.Statsd.TagLimitDrops);
            Rate("statsd.events_refused", c.Statsd.EventsRefused);
            Gauge("statsd.active_keys", c.Statsd.ActiveKeys);
            Rate("graphite.lines_received", c.Graphite.LinesReceived);
            Rate("graphite.bad_lines", c.Graphite.BadLines);
            Rate("graphite.tag_limit_drops", c.Graphite.TagLimitDrops);
            if (c.Pickle is { } pickle)
            {
                Rate("graphite.pickle_points_received", pickle.PointsReceived);
                Rate("graphite.pickle_bad_points", pickle.BadPoints);
                Rate("graphite.pickle_frames_rejected", pickle.FramesRejected.Values.Sum());
            }
            foreach (var l in c.TcpListeners ?? [])
            {
                var n = "tcp." + Node(l.Name);
                Gauge(n + ".open", l.Open);
                Rate(n + ".refused", l.Refused);
                Rate(n + ".idle_closed", l.IdleClosed);
                Rate(n + ".accept_errors", l.AcceptErrors);
            }
            // The flush in progress is not measured yet: these are the previous flush's.
            Gauge("flush.duration_seconds", c.Flush.LastDurationSeconds);
            Gauge("flush.points", c.Flush.LastPoints);
            foreach (var s in c.Sinks)
            {
                var n = "sinks." + Node(s.Name);
                Rate(n + ".points_written", s.PointsWritten);
                Rate(n + ".write_failures", s.WriteFailures);
                Rate(n + ".batches_dropped", s.BatchesDropped);
                Gauge(n + ".batches_queued", s.BatchesQueued);
            }
        }
        if (storage() is { } st)
        {
            Gauge("storage.series", st.Series);
            Gauge("storage.head_points", st.HeadPoints);
        }
        if (limits?.Invoke() is { } sources)
            foreach (var counter in LimitCounters.All)
                foreach (var (label, value) in counter.Read(sources))
                {
                    var name = label == null ? counter.Series : counter.Series + "." + Node(label);
                    if (counter.Rate) Rate(name, value);
                    else Gauge(name, value);
                }
        foreach (var spool in spools())
        {
            var s = spool.Stats;
            var n = "spool." + Node(s.Sink);
            Gauge(n + ".records", s.Records);
            Gauge(n + ".bytes", s.Bytes);
            Gauge(n + ".oldest_age_seconds", s.OldestAgeSeconds);
            Rate(n + ".appended", s.Appended);
            Rate(n + ".delivered", s.Delivered);
            Rate(n + ".retries", s.Retries);
            Rate(n + ".rejected", s.Rejected);
            Rate(n + ".dropped_oldest", s.DroppedOldest);
        }
        if (notifications() is { } receivers)
        {
            // Totals always exist (zero without receivers), so the dashboard's panel has a series on a quiet system.
            Rate("notifications.sent", receivers.Sum(r => r.Sent));
            Rate("notifications.failed", receivers.Sum(r => r.Failed));
            Rate("notifications.dropped", receivers.Sum(r => r.Dropped));
            Gauge("notifications.queued", receivers.Sum(r => r.Queued));
            foreach (var r in receivers)
            {
                var n = $"notifications.by_receiver.{Node(r.Receiver)}.{Node(r.Integration)}";
                Rate(n + ".sent", r.Sent);
                Rate(n + ".failed", r.Failed);
            }
        }
        if (checkRuns() is { } runs)
        {
            Rate("checks.runs", runs.Runs);
        }
        if (checks() is { } states)
        {
            var all = states.Current();
            var run = all.Where(s => s.LastCheck != null).ToList();
            Gauge("checks.count.pending", all.Count - run.Count);
            foreach (var state in Enum.GetValues<CheckState>().Where(s => s != CheckState.Pending))
                Gauge("checks.count." + state.ToString().ToLowerInvariant(), run.Count(s => s.State == state));
            Gauge("checks.count.flapping", all.Count(s => s.IsFlapping));
            var latencies = run.Where(s => s.LastLatencySeconds != null).Select(s => s.LastLatencySeconds!.Value).ToList();
            if (latencies.Count > 0)
            {
                Gauge("checks.latency_seconds.mean", latencies.Average());
                Gauge("checks.latency_seconds.upper", latencies.Max());
            }
        }
    }

    /// <summary>A name as one Graphite node: anything but letters, digits, '-' and '_' becomes '_'.</summary>
    internal static string Node(string name)
    {
        var chars = name.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' ? ch : '_').ToArray();
        return chars.Length == 0 ? "_" : new string(chars);
    }
}
