using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Observe.Collector;
using Observe.Storage.Sinks.Spool;

namespace Observe.Storage.Sinks.Influx;

/// <summary>
/// One flush → InfluxDB line protocol (<c>measurement,tag=v field=value timestamp</c>, one line per point).
/// Graphite tags (<c>name;k=v</c>) become Influx tags. The measurement is the whole Graphite path with field
/// <c>value</c>, or the first <see cref="InfluxSinkOptions.MeasurementNodes"/> nodes with the rest as the field, or
/// what the first matching Influx-style graphite template says. NaN and ±Inf have no line-protocol form: skipped and counted.
/// </summary>
internal sealed class InfluxLineEncoder : IMetricRecordEncoder
{
    private readonly int _measurementNodes;
    private readonly GraphiteTemplate[] _templates;
    private readonly long _timestampMultiplier;
    private long _skippedNonFinite;

    public InfluxLineEncoder(int measurementNodes = 0, IEnumerable<string>? templates = null, string precision = "s")
    {
        _measurementNodes = measurementNodes;
        _templates = (templates ?? []).Select(GraphiteTemplate.Parse).ToArray();
        _timestampMultiplier = PrecisionMultiplier(precision);
    }

    public long SkippedNonFinite => Interlocked.Read(ref _skippedNonFinite);

    /// <summary>Seconds → the precision's unit; the names Influx v1 and v2 both use (v1's u/n included).</summary>
    internal static long PrecisionMultiplier(string precision) => precision switch
    {
        "s" => 1,
        "ms" => 1_000,
        "us" or "u" => 1_000_000,
        "ns" or "n" => 1_000_000_000,
        _ => throw new FormatException($"precision '{precision}' is not one of s, ms, us, ns"),
    };

    public void Encode(MetricBatch batch, IBufferWriter<byte> output)
    {
        var tags = new List<KeyValuePair<string, string>>(8);
        foreach (var p in batch.Points)
        {
            if (!double.IsFinite(p.Value)) { Interlocked.Increment(ref _skippedNonFinite); continue; }
            tags.Clear();
            var path = p.Path;
            var semi = path.IndexOf(';');
            if (semi >= 0)
            {
                foreach (var part in path.AsSpan(semi + 1).Split(';'))
                {
                    var t = path.AsSpan(semi + 1)[part];
                    var eq = t.IndexOf('=');
                    if (eq > 0 && eq < t.Length - 1) tags.Add(new(t[..eq].ToString(), t[(eq + 1)..].ToString()));
                }
                path = path[..semi];
            }
            var (measurement, field) = Name(path, tags);
            if (tags.Count > 1) tags.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
            Write(output, measurement, Kind.Measurement);
            foreach (var (k, v) in tags)
            {
                Write(output, ",", Kind.Raw);
                Write(output, k, Kind.TagOrField);
                Write(output, "=", Kind.Raw);
                Write(output, v, Kind.TagOrField);
            }
            Write(output, " ", Kind.Raw);
            Write(output, field, Kind.TagOrField);
            var span = output.GetSpan(64);
            span[0] = (byte)'=';
            p.Value.TryFormat(span[1..], out var n, "R", CultureInfo.InvariantCulture);
            n++;
            span[n++] = (byte)' ';
            Utf8Formatter.TryFormat(p.Timestamp * _timestampMultiplier, span[n..], out var w);
            n += w;
            span[n++] = (byte)'\n';
            output.Advance(n);
        }
    }

    private (string Measurement, string Field) Name(string path, List<KeyValuePair<string, string>> tags)
    {
        if (_templates.Length > 0)
        {
            var nodes = path.Split('.');
            foreach (var t in _templates)
                if (t.TryApply(nodes, tags, out var m, out var f)) return (m, f);
        }
        if (_measurementNodes <= 0) return (path, "value");
        var cut = -1;
        for (var i = 0; i < _measurementNodes; i++)
        {
            cut = path.IndexOf('.', cut + 1);
            if (cut < 0) return (path, "value");
        }
        return (path[..cut], path[(cut + 1)..]);
    }

    private enum Kind { Raw, Measurement, TagOrField }

    /// <summary>Writes <paramref name="text"/> escaped per the line-protocol spec: measurement escapes comma and
    /// space; tag keys, tag values and field keys also the equals sign. Newlines cannot be escaped: made spaces.</summary>
    private static void Write(IBufferWriter<byte> output, string text, Kind kind)
    {
        var max = Encoding.UTF8.GetMaxByteCount(text.Length) * 2;
        var span = output.GetSpan(max);
        if (kind == Kind.Raw || text.AsSpan().IndexOfAny(" ,=\n\r") < 0)
        {
            output.Advance(Encoding.UTF8.GetBytes(text, span));
            return;
        }
        var n = 0;
        Span<byte> one = stackalloc byte[4];
        foreach (var rune in text.EnumerateRunes())
        {
            var c = rune.Value;
            if (c is '\n' or '\r') c = ' ';
            if (c is ' ' or ',' || (c == '=' && kind == Kind.TagOrField)) span[n++] = (byte)'\\';
            n += new Rune(c).EncodeToUtf8(span[n..]);
        }
        output.Advance(n);
    }
}

/// <summary>
/// An InfluxDB graphite-input template, <c>[filter] template</c>: the filter is a dotted glob on the path
/// (<c>stats.timers.*</c>), the template names each node: <c>measurement</c>, <c>field</c>, either with <c>*</c>
/// for "this and every later node", an empty name to skip it, or any other word as a tag key. Measurement nodes
/// are joined with <c>.</c>; no field node means field <c>value</c>.
/// </summary>
internal sealed class GraphiteTemplate
{
    private readonly string[]? _filter;
    private readonly string[] _parts;

    private GraphiteTemplate(string[]? filter, string[] parts)
    {
        _filter = filter;
        _parts = parts;
    }

    public static GraphiteTemplate Parse(string text)
    {
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length is 0 or > 2) throw new FormatException($"template '{text}' is not '[filter] template'");
        var template = words[^1].Split('.');
        if (!template.Any(p => p is "measurement" or "measurement*"))
            throw new FormatException($"template '{text}' names no measurement node");
        return new GraphiteTemplate(words.Length == 2 ? words[0].Split('.') : null, template);
    }

    public bool TryApply(string[] nodes, List<KeyValuePair<string, string>> tags, out string measurement, out string field)
    {
        measurement = field = "";
        if (_filter != null)
        {
            if (nodes.Length < _filter.Length) return false;
            for (var i = 0; i < _filter.Length; i++)
                if (!System.IO.Enumeration.FileSystemName.MatchesSimpleExpression(_filter[i], nodes[i], ignoreCase: false)) return false;
        }
        var m = new List<string>();
        var f = new List<string>();
        var t = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < nodes.Length; i++)
        {
            if (i >= _parts.Length)
            {
                // Nodes past the template go where the last "…*" part points, as Influx does; else they are dropped.
                var last = _parts[^1];
                if (last == "measurement*") m.Add(nodes[i]);
                else if (last == "field*") f.Add(nodes[i]);
                continue;
            }
            switch (_parts[i])
            {
                case "measurement" or "measurement*": m.Add(nodes[i]); break;
                case "field" or "field*": f.Add(nodes[i]); break;
                case "": break;
                default: t.Add(new(_parts[i], nodes[i])); break;
            }
        }
        measurement = string.Join('.', m);
        field = f.Count == 0 ? "value" : string.Join('.', f);
        if (measurement.Length == 0) return false;
        tags.AddRange(t);
        return true;
    }
}
