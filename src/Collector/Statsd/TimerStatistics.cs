using System.Globalization;

namespace Observe.Collector.Statsd;

/// <summary>lib/process_metrics.js for one timer, plus filter_timer_metrics and histograms.</summary>
internal sealed class TimerStatistics
{
    private readonly double[] _pcts;
    private readonly string[] _pctNames;
    private readonly (string Metric, double[] Bounds, string[] Names)[] _histograms;
    private readonly HashSet<string>? _filter;

    public TimerStatistics(StatsdOptions o)
    {
        _pcts = [.. o.PercentThreshold];
        _pctNames = [.. _pcts.Select(CleanPct)];
        _histograms = [.. o.Histogram.Select(h => (h.Metric,
            h.Bins.Select(b => b == "inf" ? double.PositiveInfinity : JsSemantics.ToNumber(b)).ToArray(),
            h.Bins.Select(b => "bin_" + ReplaceFirst(b == "inf" ? "inf" : JsSemantics.ToJsString(JsSemantics.ToNumber(b)), '.', "_")).ToArray()))];
        _filter = o.CalculatedTimerMetrics is { Count: > 0 } f ? new HashSet<string>(f, StringComparer.Ordinal) : null;
    }

    private static string ReplaceFirst(string s, char c, string with)
    {
        var i = s.IndexOf(c);
        return i < 0 ? s : s[..i] + with + s[(i + 1)..];
    }

    /// <summary><c>('' + pct).replace('.', '_').replace('-', 'top')</c>.</summary>
    public static string CleanPct(double pct) => ReplaceFirst(ReplaceFirst(JsSemantics.ToJsString(pct), '.', "_"), '-', "top");

    /// <summary>filter_timer_metrics: <c>key.replace(/_(top)?\d+$/, "_percent")</c> must be listed.</summary>
    public static string FilterKey(string key)
    {
        var end = key.Length;
        var i = end;
        while (i > 0 && char.IsAsciiDigit(key[i - 1])) i--;
        if (i == end) return key;
        if (i >= 1 && key[i - 1] == '_') return key[..(i - 1)] + "_percent";
        if (i >= 4 && key.AsSpan(i - 4, 4).SequenceEqual("_top")) return key[..(i - 4)] + "_percent";
        return key;
    }

    private bool Keep(string name) => _filter == null || _filter.Contains(FilterKey(name));

    public (string Key, List<(string Name, double Value)> Stats, List<(string Bin, double Count)>? Histogram) Compute(
        string key, double[] values, double timerCount, double flushSeconds)
    {
        var stats = new List<(string, double)>(32);
        void Add(string name, double v) { if (Keep(name)) stats.Add((name, v)); }
        var count = values.Length;
        if (count == 0)
        {
            Add("count", 0);
            Add("count_ps", 0);
            return (key, stats, null);
        }
        Array.Sort(values);
        var min = values[0];
        var max = values[count - 1];
        var cumul = new double[count];
        var cumulSq = new double[count];
        cumul[0] = min;
        cumulSq[0] = min * min;
        for (var i = 1; i < count; i++)
        {
            cumul[i] = values[i] + cumul[i - 1];
            cumulSq[i] = values[i] * values[i] + cumulSq[i - 1];
        }
        double At(double[] a, int i) => i >= 0 && i < a.Length ? a[i] : double.NaN; // JS: undefined → NaN

        var sum = min;
        var sumSquares = min * min;
        var mean = min;
        var boundary = max;
        for (var p = 0; p < _pcts.Length; p++)
        {
            var pct = _pcts[p];
            double numInThreshold = count;
            if (count > 1)
            {
                numInThreshold = JsSemantics.Round(Math.Abs(pct) / 100 * count);
                if (numInThreshold == 0) continue;
                var n = (int)Math.Min(numInThreshold, int.MaxValue);
                if (pct > 0)
                {
                    boundary = At(values, n - 1);
                    sum = At(cumul, n - 1);
                    sumSquares = At(cumulSq, n - 1);
                }
                else
                {
                    boundary = At(values, count - n);
                    sum = cumul[count - 1] - At(cumul, count - n - 1);
                    sumSquares = cumulSq[count - 1] - At(cumulSq, count - n - 1);
                }
                mean = sum / numInThreshold;
            }
            var clean = _pctNames[p];
            Add("count_" + clean, numInThreshold);
            Add("mean_" + clean, mean);
            Add((pct > 0 ? "upper_" : "lower_") + clean, boundary);
            Add("sum_" + clean, sum);
            Add("sum_squares_" + clean, sumSquares);
        }

        sum = cumul[count - 1];
        sumSquares = cumulSq[count - 1];
        mean = sum / count;
        double sumOfDiffs = 0;
        for (var i = 0; i < count; i++) sumOfDiffs += (values[i] - mean) * (values[i] - mean);
        var mid = count / 2;
        var median = count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
        Add("std", Math.Sqrt(sumOfDiffs / count));
        Add("upper", max);
        Add("lower", min);
        Add("count", timerCount);
        Add("count_ps", timerCount / flushSeconds);
        Add("sum", sum);
        Add("sum_squares", sumSquares);
        Add("mean", mean);
        Add("median", median);

        List<(string, double)>? histogram = null;
        foreach (var (metric, bounds, names) in _histograms)
        {
            if (!key.Contains(metric, StringComparison.Ordinal)) continue;
            // First substring match wins; an empty bin list emits no histogram (like Etsy).
            if (bounds.Length > 0 && Keep("histogram"))
            {
                histogram = new List<(string, double)>(bounds.Length);
                var i = 0;
                for (var b = 0; b < bounds.Length; b++)
                {
                    var freq = 0;
                    for (; i < count && (double.IsPositiveInfinity(bounds[b]) || values[i] < bounds[b]); i++) freq++;
                    histogram.Add((names[b], freq));
                }
            }
            break;
        }
        return (key, stats, histogram);
    }
}
