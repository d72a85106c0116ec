using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Observe.Checks.Plugins;

/// <summary>
/// Plugin output as Nagios 3+ reads it: the first line is <c>TEXT | PERFDATA</c>; the lines after it are
/// long output until a line containing <c>|</c>, after which everything (the rest of that line and every
/// later line) is more perfdata.
/// </summary>
internal sealed record PluginOutput(string Text, string? LongOutput, IReadOnlyList<PerfDatum> PerfData, IReadOnlyList<string> PerfDataErrors)
{
    public static PluginOutput Parse(string? raw)
    {
        raw ??= "";
        var lines = raw.Replace("\r\n", "\n").Split('\n');
        var first = lines[0];
        var perf = new StringBuilder();
        string text;
        var bar = first.IndexOf('|');
        if (bar >= 0) { text = first[..bar]; perf.Append(first, bar + 1, first.Length - bar - 1); }
        else text = first;

        var longLines = new List<string>();
        var inPerf = false;
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i];
            if (inPerf) { perf.Append(' ').Append(line); continue; }
            var b = line.IndexOf('|');
            if (b >= 0)
            {
                longLines.Add(line[..b]);
                perf.Append(' ').Append(line, b + 1, line.Length - b - 1);
                inPerf = true;
            }
            else longLines.Add(line);
        }
        while (longLines.Count > 0 && longLines[^1].Trim().Length == 0) longLines.RemoveAt(longLines.Count - 1);
        var errors = new List<string>();
        var data = ParsePerfData(perf.ToString(), errors);
        return new PluginOutput(text.Trim(), longLines.Count == 0 ? null : string.Join('\n', longLines), data, errors);
    }

    private static readonly Regex ValueRx = new(@"^([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)([a-zA-Z%]*)$", RegexOptions.CultureInvariant);

    /// <summary>Parses space-separated perfdata items; bad items are skipped and described in <paramref name="errors"/>.</summary>
    public static List<PerfDatum> ParsePerfData(string s, List<string> errors)
    {
        var result = new List<PerfDatum>();
        var i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
            if (i >= s.Length) break;
            string label;
            if (s[i] == '\'')
            {
                var sb = new StringBuilder();
                i++;
                var closed = false;
                while (i < s.Length)
                {
                    if (s[i] == '\'')
                    {
                        if (i + 1 < s.Length && s[i + 1] == '\'') { sb.Append('\''); i += 2; continue; }
                        i++; closed = true; break;
                    }
                    sb.Append(s[i++]);
                }
                if (!closed) { errors.Add($"unterminated quoted label '{sb}"); break; }
                label = sb.ToString();
                if (i >= s.Length || s[i] != '=') { errors.Add($"'{label}': expected '=' after the label"); SkipItem(s, ref i); continue; }
            }
            else
            {
                var start = i;
                while (i < s.Length && s[i] != '=' && !char.IsWhiteSpace(s[i])) i++;
                label = s[start..i];
                if (i >= s.Length || s[i] != '=') { errors.Add($"'{label}': expected label=value"); SkipItem(s, ref i); continue; }
            }
            i++; // '='
            var vStart = i;
            while (i < s.Length && !char.IsWhiteSpace(s[i])) i++;
            var item = s[vStart..i];
            if (label.Length == 0) { errors.Add($"empty label before '={item}'"); continue; }
            if (TryItem(label, item, out var datum, out var err)) result.Add(datum!);
            else errors.Add(err!);
        }
        return result;
    }

    private static void SkipItem(string s, ref int i) { while (i < s.Length && !char.IsWhiteSpace(s[i])) i++; }

    private static bool TryItem(string label, string item, out PerfDatum? datum, out string? error)
    {
        datum = null; error = null;
        var f = item.Split(';');
        double? value = null; var unit = "";
        if (f[0] == "U") { }
        else
        {
            var m = ValueRx.Match(f[0]);
            if (!m.Success) { error = $"'{label}': value '{f[0]}' is not a number"; return false; }
            value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            unit = m.Groups[2].Value;
        }
        string? Field(int n) => f.Length > n && f[n].Length > 0 ? f[n] : null;
        double? Num(int n) => Field(n) is { } t && double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;
        datum = new PerfDatum(label, value, unit, Field(1), Field(2), Num(3), Num(4));
        return true;
    }
}
