using System.Buffers;
using System.Globalization;
using System.Text;

namespace Observe.Collector;

/// <summary>
/// Prometheus' text exposition format (0.0.4; OpenMetrics' <c># EOF</c> too) as Graphite series: each sample line
/// <c>name{k="v",…} value [timestamp]</c> becomes <c>&lt;prefix&gt;.name;k=v;…</c> with the scrape's time. Counters are
/// stored as they are (no rate); histograms and summaries are their own <c>_bucket{le=…}</c>, <c>_sum</c>, <c>_count</c>
/// and <c>{quantile=…}</c> series, as the exposition lists them. A label named <c>name</c> becomes <c>exported_name</c>
/// (Graphite's <c>name</c> tag is the series name); empty label values are left out (Prometheus treats them as absent);
/// NaN/±Inf samples are skipped and counted. A line that cannot be read is skipped and counted — unlike Prometheus,
/// which fails the whole scrape — so one odd line from an exporter does not blank its every graph.
/// </summary>
internal static class PrometheusTextParser
{
    private const int MaxLabels = 64;

    public static ScrapeFailure Parse(ReadOnlySpan<byte> body, ScrapeOutput output)
    {
        var chars = ArrayPool<char>.Shared.Rent(Encoding.UTF8.GetMaxCharCount(body.Length));
        try
        {
            var n = Encoding.UTF8.GetChars(body, chars);
            var text = chars.AsSpan(0, n);
            while (!text.IsEmpty)
            {
                var nl = text.IndexOf('\n');
                var line = nl < 0 ? text : text[..nl];
                text = nl < 0 ? default : text[(nl + 1)..];
                line = line.TrimEnd('\r').Trim(' ');
                if (line.IsEmpty || line[0] == '#') continue;
                if (!TryLine(line, output)) output.BadLines++;
            }
            return ScrapeFailure.None;
        }
        finally { ArrayPool<char>.Shared.Return(chars); }
    }

    private static bool TryLine(ReadOnlySpan<char> line, ScrapeOutput output)
    {
        var i = 0;
        if (!IsNameStart(line[0], metric: true)) return false;
        while (i < line.Length && IsNameChar(line[i], metric: true)) i++;
        output.ResetName();
        var name = output.Name;
        name.Append(line[..i]);
        var tagsStart = name.Length;
        // Labels are written in order after the name; the sink fan-out sorts tags for every sink that needs it.
        if (i < line.Length && line[i] == '{')
        {
            i++;
            var labels = 0;
            while (true)
            {
                while (i < line.Length && line[i] == ' ') i++;
                if (i >= line.Length) return false;
                if (line[i] == '}') { i++; break; }
                var ks = i;
                if (!IsNameStart(line[i], metric: false)) return false;
                while (i < line.Length && IsNameChar(line[i], metric: false)) i++;
                var key = line[ks..i];
                while (i < line.Length && line[i] == ' ') i++;
                if (i + 1 >= line.Length || line[i] != '=' || line[i + 1] != '"') return false;
                i += 2;
                if (++labels > MaxLabels) return false;
                var mark = name.Length;
                name.Append(';').Append(key.SequenceEqual("name") ? "exported_name" : key).Append('=');
                var valueStart = name.Length;
                var closed = false;
                while (i < line.Length)
                {
                    var c = line[i++];
                    if (c == '"') { closed = true; break; }
                    if (c == '\\')
                    {
                        if (i >= line.Length) return false;
                        var e = line[i++];
                        c = e switch { 'n' => '\n', '\\' => '\\', '"' => '"', _ => '\0' };
                        if (c == '\0') return false;
                    }
                    name.Append(ScrapeNames.TagChar(c, first: name.Length == valueStart));
                }
                if (!closed) return false;
                if (name.Length == valueStart) name.Length = mark; // empty value: no label
                while (i < line.Length && line[i] == ' ') i++;
                if (i < line.Length && line[i] == ',') i++;
                else if (i < line.Length && line[i] != '}') return false;
            }
        }
        if (i >= line.Length || (line[i] != ' ' && line[i] != '\t')) return false;
        var rest = line[i..].Trim();
        var sp = rest.IndexOfAny(' ', '\t');
        var valueText = sp < 0 ? rest : rest[..sp];
        if (sp >= 0 && !long.TryParse(rest[sp..].Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)) return false;
        if (!TryValue(valueText, out var value)) return false;
        output.Add(value, tagsStart);
        return true;
    }

    private static bool TryValue(ReadOnlySpan<char> s, out double value)
    {
        switch (s)
        {
            case "NaN": value = double.NaN; return true;
            case "+Inf" or "Inf": value = double.PositiveInfinity; return true;
            case "-Inf": value = double.NegativeInfinity; return true;
        }
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    private static bool IsNameStart(char c, bool metric) => char.IsAsciiLetter(c) || c == '_' || (metric && c == ':');
    private static bool IsNameChar(char c, bool metric) => IsNameStart(c, metric) || char.IsAsciiDigit(c);
}
