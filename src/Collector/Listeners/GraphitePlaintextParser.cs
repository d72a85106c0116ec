using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Observe.Collector.Listeners;

/// <summary>
/// Parses Graphite plaintext (<c>path value timestamp\n</c>) as carbon's line receiver does: three
/// whitespace-separated fields, a float value, a unix timestamp (fractions truncated). Tagged paths
/// (<c>path;k=v</c>) are normalised to carbon's canonical form with tags sorted by key. A NaN or
/// infinite value, a missing field, or an invalid tag is a bad line.
/// </summary>
internal static class GraphitePlaintextParser
{
    public static bool TryParseLine(ReadOnlySpan<byte> line, out MetricPoint point)
    {
        point = default;
        line = line.Trim((byte)'\r').Trim(" \t"u8);
        if (line.IsEmpty) return false;
        Span<Range> fields = stackalloc Range[4];
        var n = SplitWhitespace(line, fields);
        if (n != 3) return false;
        var pathBytes = line[fields[0]];
        if (!Utf8Parser.TryParse(line[fields[1]], out double value, out var used) || used != line[fields[1]].Length) return false;
        if (!Utf8Parser.TryParse(line[fields[2]], out double ts, out used) || used != line[fields[2]].Length) return false;
        return TryMakePoint(pathBytes, value, ts, out point);
    }

    /// <summary>
    /// One point from its parts, with the plaintext rules (shared with the pickle receiver): a finite value, a timestamp in
    /// [0, 1e11] (fractions truncated), a valid UTF-8 path without control characters, tags in canonical form.
    /// </summary>
    internal static bool TryMakePoint(ReadOnlySpan<byte> pathBytes, double value, double ts, out MetricPoint point)
    {
        point = default;
        if (!double.IsFinite(value)) return false;
        if (!double.IsFinite(ts) || ts < 0 || ts > 1e11) return false;
        if (!IsValidPath(pathBytes)) return false;
        string path;
        try { path = Encoding.UTF8.GetString(pathBytes); }
        catch (DecoderFallbackException) { return false; }
        if (path.Contains(';'))
        {
            var normalised = NormaliseTagged(path);
            if (normalised == null) return false;
            path = normalised;
        }
        point = new MetricPoint(path, value, (long)ts);
        return true;
    }

    private static int SplitWhitespace(ReadOnlySpan<byte> line, Span<Range> fields)
    {
        var count = 0;
        var i = 0;
        while (i < line.Length)
        {
            while (i < line.Length && (line[i] == ' ' || line[i] == '\t')) i++;
            if (i >= line.Length) break;
            var start = i;
            while (i < line.Length && line[i] != ' ' && line[i] != '\t') i++;
            if (count == fields.Length) return count + 1;
            fields[count++] = new Range(start, i);
        }
        return count;
    }

    private static bool IsValidPath(ReadOnlySpan<byte> path)
    {
        if (path.IsEmpty || path[0] == '.' || path[0] == ';') return false;
        foreach (var b in path) if (b < 0x20 || b == 0x7f) return false;
        return System.Text.Unicode.Utf8.IsValid(path);
    }

    /// <summary>carbon's TaggedSeries.parse + format: <c>name;b=2;a=1</c> → <c>name;a=1;b=2</c>.</summary>
    internal static string? NormaliseTagged(string path)
    {
        var parts = path.Split(';');
        if (parts[0].Length == 0) return null;
        var tags = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < parts.Length; i++)
        {
            var eq = parts[i].IndexOf('=');
            if (eq <= 0 || eq == parts[i].Length - 1) return null;
            var key = parts[i][..eq];
            var value = parts[i][(eq + 1)..];
            if (key.AsSpan().IndexOfAny("!^=") >= 0 || value.StartsWith('~')) return null;
            tags[key] = value;
        }
        var sb = new StringBuilder(parts[0]);
        foreach (var (k, v) in tags) sb.Append(';').Append(k).Append('=').Append(v);
        return sb.ToString();
    }
}
