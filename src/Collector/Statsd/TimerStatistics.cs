using System.Buffers;
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
        (Catalogue, _fixedStart, _histOffsets) = BuildCatalogue();
        Plain = [.. Enumerable.Range(0, Catalogue.Length).Where(i => Catalogue[i] is { Kept: true, IsHistogramBin: false })];
    }

    /// <summary>The catalogue's kept statistics other than histogram bins: what a timer key with samples reports (at most).</summary>
    public int[] Plain { get; }

    /// <summary>
    /// Catalogue indexes [From, To) of the histogram bins <paramref name="key"/> reports: those of the first histogram whose
    /// metric the key contains (as <see cref="Compute"/> picks it); empty when none, or when it has no bins or is filtered out.
    /// </summary>
    public (int From, int To) HistogramOf(string key)
    {
        for (var h = 0; h < _histograms.Length; h++)
        {
            var (metric, bounds, _) = _histograms[h];
            if (!key.Contains(metric, StringComparison.Ordinal)) continue;
            return bounds.Length > 0 && Catalogue[_histOffsets[h]].Kept ? (_histOffsets[h], _histOffsets[h] + bounds.Length) : (0, 0);
        }
        return (0, 0);
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

    /// <summary>One statistic a timer can produce: its name (a histogram bin's is <c>bin_…</c>) and whether the filter keeps it.</summary>
    public readonly record struct Stat(string Name, bool IsHistogramBin, bool Kept);

    /// <summary>
    /// Every statistic a timer can produce, in a fixed order: per percentile count/mean/upper|lower/sum/sum_squares,
    /// then std … median, then each histogram's bins. <see cref="Compute"/> reports statistics by index into it, so the
    /// names are built once (not per timer per flush) and a key's output names can be kept per index.
    /// </summary>
    public Stat[] Catalogue { get; }
    private readonly int _fixedStart;
    private readonly int[] _histOffsets;
    private static readonly string[] FixedNames = ["std", "upper", "lower", "count", "count_ps", "sum", "sum_squares", "mean", "median"];
    private const int Std = 0, Upper = 1, Lower = 2, Count = 3, CountPs = 4, Sum = 5, SumSquares = 6, Mean = 7, Median = 8;

    private (Stat[], int, int[]) BuildCatalogue()
    {
        var c = new List<Stat>();
        for (var p = 0; p < _pcts.Length; p++)
        {
            var clean = _pctNames[p];
            foreach (var n in new[] { "count_" + clean, "mean_" + clean, (_pcts[p] > 0 ? "upper_" : "lower_") + clean, "sum_" + clean, "sum_squares_" + clean })
                c.Add(new Stat(n, false, Keep(n)));
        }
        var fixedStart = c.Count;
        foreach (var n in FixedNames) c.Add(new Stat(n, false, Keep(n)));
        var offsets = new int[_histograms.Length];
        var keepHistogram = Keep("histogram");
        for (var h = 0; h < _histograms.Length; h++)
        {
            offsets[h] = c.Count;
            foreach (var bin in _histograms[h].Names) c.Add(new Stat(bin, true, keepHistogram));
        }
        return ([.. c], fixedStart, offsets);
    }

    /// <summary>
    /// lib/process_metrics.js for one timer: appends (catalogue index, value) for each statistic Etsy emits, in Etsy's
    /// order (histogram bins last). <paramref name="values"/> is sorted in place. Allocates nothing per timer.
    /// </summary>
    public void Compute(string key, Span<double> values, double timerCount, double flushSeconds, List<(int Stat, double Value)> output)
    {
        var cat = Catalogue;
        void Add(int i, double v) { if (cat[i].Kept) output.Add((i, v)); }
        var count = values.Length;
        if (count == 0)
        {
            Add(_fixedStart + Count, 0);
            Add(_fixedStart + CountPs, 0);
            return;
        }
        values.Sort();
        var min = values[0];
        var max = values[count - 1];
        var cumulArr = ArrayPool<double>.Shared.Rent(count);
        var cumulSqArr = ArrayPool<double>.Shared.Rent(count);
        var cumul = cumulArr.AsSpan(0, count);
        var cumulSq = cumulSqArr.AsSpan(0, count);
        cumul[0] = min;
        cumulSq[0] = min * min;
        for (var i = 1; i < count; i++)
        {
            cumul[i] = values[i] + cumul[i - 1];
            cumulSq[i] = values[i] * values[i] + cumulSq[i - 1];
        }
        static double At(ReadOnlySpan<double> a, int i) => i >= 0 && i < a.Length ? a[i] : double.NaN; // JS: undefined → NaN

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
            Add(p * 5, numInThreshold);
            Add(p * 5 + 1, mean);
            Add(p * 5 + 2, boundary);
            Add(p * 5 + 3, sum);
            Add(p * 5 + 4, sumSquares);
        }

        sum = cumul[count - 1];
        sumSquares = cumulSq[count - 1];
        ArrayPool<double>.Shared.Return(cumulSqArr);
        ArrayPool<double>.Shared.Return(cumulArr);
        mean = sum / count;
        double sumOfDiffs = 0;
        for (var i = 0; i < count; i++) sumOfDiffs += (values[i] - mean) * (values[i] - mean);
        var mid = count / 2;
        var median = count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
        Add(_fixedStart + Std, Math.Sqrt(sumOfDiffs / count));
        Add(_fixedStart + Upper, max);
        Add(_fixedStart + Lower, min);
        Add(_fixedStart + Count, timerCount);
        Add(_fixedStart + CountPs, timerCount / flushSeconds);
        Add(_fixedStart + Sum, sum);
        Add(_fixedStart + SumSquares, sumSquares);
        Add(_fixedStart + Mean, mean);
        Add(_fixedStart + Median, median);

        for (var h = 0; h < _histograms.Length; h++)
        {
            var (metric, bounds, _) = _histograms[h];
            if (!key.Contains(metric, StringComparison.Ordinal)) continue;
            // First substring match wins; an empty bin list emits no histogram (like Etsy).
            if (bounds.Length > 0 && cat[_histOffsets[h]].Kept)
            {
                var i = 0;
                for (var b = 0; b < bounds.Length; b++)
                {
                    var freq = 0;
                    for (; i < count && (double.IsPositiveInfinity(bounds[b]) || values[i] < bounds[b]); i++) freq++;
                    output.Add((_histOffsets[h] + b, freq));
                }
            }
            break;
        }
    }
}
