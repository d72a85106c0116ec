using System.Globalization;
using System.Text;

namespace Observe.Collector.Statsd;

/// <summary>DogStatsD events (<c>_e{t,x}:title|text|…</c>) and service checks (<c>_sc|name|status|…</c>).</summary>
internal static class DogStatsdParser
{
    /// <summary>Takes a prefix of <paramref name="s"/> that is exactly <paramref name="utf8Bytes"/> UTF-8 bytes long.</summary>
    private static bool TakeUtf8(ReadOnlySpan<char> s, int utf8Bytes, out int chars)
    {
        var bytes = 0;
        chars = 0;
        while (bytes < utf8Bytes)
        {
            if (chars >= s.Length) return false;
            if (System.Text.Rune.DecodeFromUtf16(s[chars..], out var rune, out var used) != System.Buffers.OperationStatus.Done) return false;
            bytes += rune.Utf8SequenceLength;
            chars += used;
        }
        return bytes == utf8Bytes;
    }

    private static List<string> Tags(ReadOnlySpan<char> s)
    {
        var tags = new List<string>();
        foreach (var r in s.Split(','))
            if (!s[r].IsEmpty) tags.Add(s[r].ToString());
        return tags;
    }

    public static bool TryParseEvent(ReadOnlySpan<char> line, out StatsdEvent ev)
    {
        ev = null!;
        var close = line.IndexOf("}:");
        if (close < 0) return false;
        var lens = line[3..close];
        var comma = lens.IndexOf(',');
        if (comma < 0
            || !int.TryParse(lens[..comma], NumberStyles.None, CultureInfo.InvariantCulture, out var titleLen)
            || !int.TryParse(lens[(comma + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var textLen)
            || titleLen <= 0) return false;
        var rest = line[(close + 2)..];
        if (!TakeUtf8(rest, titleLen, out var tChars)) return false;
        var title = rest[..tChars].ToString();
        rest = rest[tChars..];
        if (rest.IsEmpty || rest[0] != '|') return false;
        rest = rest[1..];
        if (!TakeUtf8(rest, textLen, out var xChars)) return false;
        var text = rest[..xChars].ToString().Replace("\\n", "\n", StringComparison.Ordinal);
        rest = rest[xChars..];
        long? timestamp = null;
        string? host = null, aggKey = null, source = null;
        var priority = "normal";
        var alert = "info";
        List<string> tags = [];
        if (!rest.IsEmpty && rest[0] != '|') return false;
        foreach (var r in rest.Split('|'))
        {
            var f = rest[r];
            if (f.IsEmpty) continue;
            if (f.StartsWith("#")) { tags = Tags(f[1..]); continue; }
            if (f.Length < 2 || f[1] != ':') return false;
            var v = f[2..];
            switch (f[0])
            {
                case 'd':
                    if (!long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var t)) return false;
                    timestamp = t; break;
                case 'h': host = v.ToString(); break;
                case 'k': aggKey = v.ToString(); break;
                case 's': source = v.ToString(); break;
                case 'p':
                    if (!v.SequenceEqual("normal") && !v.SequenceEqual("low")) return false;
                    priority = v.ToString(); break;
                case 't':
                    if (!v.SequenceEqual("error") && !v.SequenceEqual("warning") && !v.SequenceEqual("info") && !v.SequenceEqual("success")) return false;
                    alert = v.ToString(); break;
                default: return false;
            }
        }
        ev = new StatsdEvent(title, text, timestamp, host, aggKey, priority, source, alert, tags);
        return true;
    }

    public static bool TryParseServiceCheck(ReadOnlySpan<char> line, out StatsdServiceCheck sc)
    {
        sc = null!;
        var rest = line[4..];
        var bar = rest.IndexOf('|');
        if (bar <= 0) return false;
        var name = rest[..bar].ToString();
        rest = rest[(bar + 1)..];
        bar = rest.IndexOf('|');
        var status = bar < 0 ? rest : rest[..bar];
        if (status.Length != 1 || status[0] is < '0' or > '3') return false;
        rest = bar < 0 ? default : rest[bar..];
        long? timestamp = null;
        string? host = null, message = null;
        List<string> tags = [];
        while (!rest.IsEmpty)
        {
            // rest starts with '|'
            rest = rest[1..];
            if (rest.StartsWith("m:")) { message = rest[2..].ToString().Replace("\\n", "\n", StringComparison.Ordinal); break; } // m: must be last
            var next = rest.IndexOf('|');
            var f = next < 0 ? rest : rest[..next];
            rest = next < 0 ? default : rest[next..];
            if (f.StartsWith("#")) tags = Tags(f[1..]);
            else if (f.StartsWith("d:"))
            {
                if (!long.TryParse(f[2..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var t)) return false;
                timestamp = t;
            }
            else if (f.StartsWith("h:")) host = f[2..].ToString();
            else if (!f.IsEmpty) return false;
        }
        sc = new StatsdServiceCheck(name, status[0] - '0', timestamp, host, message, tags);
        return true;
    }
}
