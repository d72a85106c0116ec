using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Observe.Collector;
using Observe.Storage;

namespace Observe.Storage.Tests.Graphite;

/// <summary>
/// Test double for the embedded TSDB: an in-memory, whisper-like <see cref="ISeriesReader"/> and
/// <see cref="IMetricSink"/>. Retentions per storage-schemas pattern (default <c>10s:1d</c>, finest first); each write lands in the slot
/// <c>ts - ts % step</c> of every archive (last write wins in the finest; coarser archives average the
/// finest slots on read, xFilesFactor 0); fetch follows whisper.file_fetch (archive chosen by
/// <c>now - from</c>, <c>from/until</c> rounded up to the next slot boundary).
/// </summary>
public sealed class MemorySeriesStore : ISeriesReader, IMetricSink
{
    private readonly List<(Regex Pattern, (long Step, long Retention)[] Archives)> _schemas = [];
    private readonly Func<long> _now;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<long, double>> _series = new(StringComparer.Ordinal);

    public MemorySeriesStore(string retentions = "10s:1d", Func<long>? now = null) : this([(".*", retentions)], now) { }

    /// <summary>storage-schemas: the first pattern matching a series name picks its retentions.</summary>
    public MemorySeriesStore(IEnumerable<(string Pattern, string Retentions)> schemas, Func<long>? now = null)
    {
        foreach (var (pattern, retentions) in schemas)
            _schemas.Add((new Regex(pattern), retentions.Split(',').Select(r =>
            {
                var parts = r.Split(':');
                var step = Seconds(parts[0]);
                var ret = Seconds(parts[1]);
                return (step, parts[1].All(char.IsAsciiDigit) ? ret * step : ret);
            }).ToArray()));
        _now = now ?? (() => DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    private (long Step, long Retention)[] ArchivesFor(string series) => _schemas.First(s => s.Pattern.IsMatch(series)).Archives;

    private static long Seconds(string s)
    {
        var m = Regex.Match(s, @"^(\d+)([a-z]*)$");
        var n = long.Parse(m.Groups[1].Value);
        return m.Groups[2].Value switch
        {
            "" or "s" => n,
            "m" or "min" => n * 60,
            "h" => n * 3600,
            "d" => n * 86400,
            "w" => n * 604800,
            "y" => n * 31536000,
            _ => throw new ArgumentException(s),
        };
    }

    public string Name => "memory";

    public static string Canonical(string path)
    {
        if (!path.Contains(';')) return path;
        var segs = path.Split(';');
        return segs[0] + string.Concat(segs.Skip(1).OrderBy(s => s.Split('=')[0], StringComparer.Ordinal).Select(s => ";" + s));
    }

    public void Write(string path, double value, long timestamp)
    {
        var name = Canonical(path);
        var step = ArchivesFor(name)[0].Step;
        var slots = _series.GetOrAdd(name, _ => new ConcurrentDictionary<long, double>());
        slots[timestamp - timestamp % step] = value;
    }

    public ValueTask WriteAsync(MetricBatch batch, CancellationToken cancellationToken)
    {
        foreach (var p in batch.Points) Write(p.Path, p.Value, p.Timestamp);
        return ValueTask.CompletedTask;
    }

    public IReadOnlyList<MetricNode> Find(string pattern)
    {
        var parts = pattern.Split('.');
        var regexes = parts.Select(GlobToRegex).ToArray();
        var result = new HashSet<MetricNode>();
        foreach (var path in _series.Keys)
        {
            if (path.Contains(';')) continue;
            var nodes = path.Split('.');
            if (nodes.Length < parts.Length) continue;
            var ok = true;
            for (var i = 0; i < parts.Length && ok; i++) ok = regexes[i].IsMatch(nodes[i]);
            if (!ok) continue;
            result.Add(new MetricNode(string.Join('.', nodes.Take(parts.Length)), nodes.Length == parts.Length));
        }
        return result.OrderBy(n => n.Path, StringComparer.Ordinal).ToList();
    }

    private static Regex GlobToRegex(string node)
    {
        var sb = new System.Text.StringBuilder("^");
        for (var i = 0; i < node.Length; i++)
        {
            var c = node[i];
            switch (c)
            {
                case '*': sb.Append("[^.]*"); break;
                case '?': sb.Append("[^.]"); break;
                case '[':
                    var close = node.IndexOf(']', i);
                    if (close < 0) { sb.Append(@"\["); break; }
                    sb.Append('[').Append(node[(i + 1)..close].Replace("\\", "\\\\")).Append(']');
                    i = close;
                    break;
                case '{':
                    var end = node.IndexOf('}', i);
                    if (end < 0) { sb.Append(@"\{"); break; }
                    sb.Append("(?:").Append(string.Join('|', node[(i + 1)..end].Split(',').Select(a => GlobToRegex(a).ToString()[1..^1]))).Append(')');
                    i = end;
                    break;
                default: sb.Append(Regex.Escape(c.ToString())); break;
            }
        }
        return new Regex(sb.Append('$').ToString());
    }

    public IReadOnlyList<string> TaggedSeries() => _series.Keys.Where(k => k.Contains(';')).OrderBy(k => k, StringComparer.Ordinal).ToList();

    public SeriesWindow? Fetch(string series, long from, long until)
    {
        if (!_series.TryGetValue(Canonical(series), out var slots)) return null;
        var archives = ArchivesFor(Canonical(series));
        var now = _now();
        if (from > until) throw new ArgumentException("from after until");
        var maxRetention = archives.Max(a => a.Retention);
        var oldest = now - maxRetention;
        if (from > now) return null;
        if (until < oldest) return null;
        if (from < oldest) from = oldest;
        if (until > now) until = now;
        var diff = now - from;
        var archive = archives[^1];
        foreach (var a in archives) if (a.Retention >= diff) { archive = a; break; }
        var step = archive.Step;
        var fromInterval = from - from % step + step;
        var untilInterval = until - until % step + step;
        if (fromInterval == untilInterval) untilInterval += step;
        var n = (int)((untilInterval - fromInterval) / step);
        var values = new double?[n];
        var fine = archives[0].Step;
        for (var i = 0; i < n; i++)
        {
            var t = fromInterval + i * step;
            if (step == fine) { if (slots.TryGetValue(t, out var v)) values[i] = v; continue; }
            var sum = 0.0; var count = 0;
            for (var f = t; f < t + step; f += fine) if (slots.TryGetValue(f, out var v)) { sum += v; count++; }
            if (count > 0) values[i] = sum / count;
        }
        return new SeriesWindow(fromInterval, untilInterval, step, values);
    }
}
