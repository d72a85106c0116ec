namespace Observe.Storage.Graphite;

/// <summary>
/// Holt-Winters forecasts, bands and areas, and time-shifted stacks of graphite-web 1.1.8 (functions.py). graphite
/// shares one tags dict between a series and what it derives from it; the shared <see cref="TimeSeries.Tags"/>
/// instances below reproduce the tags it shows.
/// </summary>
internal static partial class Evaluator
{
    private static void AddForecastFunctions(Action<string, Func<Call, object?>> add)
    {
        add("holtWintersForecast", HoltWintersForecast);
        add("holtWintersConfidenceBands", HoltWintersConfidenceBands);
        add("holtWintersConfidenceArea", HoltWintersConfidenceArea);
        add("holtWintersAberration", HoltWintersAberration);
        add("areaBetween", AreaBetweenFunction);
        add("divideSeriesLists", DivideSeriesLists);
        add("timeStack", TimeStack);
    }

    private static object? HoltWintersForecast(Call c)
    {
        var (preview, previewSeconds) = HoltWintersPreview(c, 1);
        return preview.Select(s =>
        {
            var (predictions, _) = HoltWintersAnalysis(s, c.Str(2, "seasonality", "1d"));
            var window = (int)Math.Min(previewSeconds / s.Step, predictions.Count);
            return new TimeSeries($"holtWintersForecast({s.Name})", s.Start + previewSeconds, s.End, s.Step, predictions.Skip(window), s.XFilesFactor, s.Tags);
        }).ToList();
    }

    private static object? HoltWintersConfidenceArea(Call c)
    {
        var bands = HoltWintersConfidenceBands(c);
        AreaBetween(bands);
        foreach (var s in bands)
        {
            s.Tags.Remove("areaBetween"); s.Tags["holtWintersConfidenceArea"] = "1";
            s.Name = s.Name.Replace("areaBetween", "holtWintersConfidenceArea"); s.PathExpression = s.Name;
        }
        return bands;
    }

    private static object? HoltWintersAberration(Call c)
    {
        var bands = HoltWintersConfidenceBands(c).GroupBy(s => s.Name).ToDictionary(g => g.Key, g => g.Last());
        return c.Series(0).Select(s =>
        {
            var lower = bands[$"holtWintersConfidenceLower({s.Name})"].Values;
            var upper = bands[$"holtWintersConfidenceUpper({s.Name})"].Values;
            var pts = s.Points();
            var ab = new List<double?>(pts.Count);
            for (var i = 0; i < pts.Count; i++)
            {
                double? up = i < upper.Count ? upper[i] : null, lo = i < lower.Count ? lower[i] : null;
                ab.Add(pts[i] is not { } v ? 0 : v > up ? v - up : v < lo ? v - lo : 0);
            }
            s.Tags["holtWintersAberration"] = "1";
            return new TimeSeries($"holtWintersAberration({s.Name})", s.Start, s.End, s.Step, ab, s.XFilesFactor, s.Tags);
        }).ToList();
    }

    private static object? AreaBetweenFunction(Call c)
    {
        var l = c.Series(0);
        if (l.Count != 2) throw new GraphiteInputException("areaBetween series argument must reference *exactly* 2 series");
        AreaBetween(l);
        return l;
    }

    private static object? DivideSeriesLists(Call c)
    {
        var a = c.Series(0, "dividendSeriesList"); var b = c.Series(1, "divisorSeriesList");
        if (a.Count != b.Count) throw new GraphiteInputException("dividendSeriesList and divisorSeriesList argument must have equal length");
        return a.Select((s, i) => DivideOne(s, b[i], c.Ctx.XFilesFactor)).ToList();
    }

    private static object? TimeStack(Call c)
    {
        var unit = c.Str(1, "timeShiftUnit", "1d");
        if (unit.Length > 0 && char.IsAsciiDigit(unit[0])) unit = "-" + unit;
        var delta = AtTime.ParseOffset(unit);
        var l = c.Series(0);
        if (l.Count == 0) return l;
        long first = c.Int(2, "timeShiftStart", 0), last = c.Int(3, "timeShiftEnd", 7);
        if (last - first > 1000) throw new GraphiteInputException("timeStack: at most 1000 shifts");
        var results = new List<TimeSeries>();
        for (var shift = first; shift < last; shift++)
        {
            var inner = delta * shift;
            foreach (var s in EvaluateNode(c.Ctx.WithWindow(c.Ctx.StartTime + inner, c.Ctx.EndTime + inner), c.Node.Args[0]))
            {
                s.Tags["timeShiftUnit"] = unit; s.Tags["timeShift"] = shift.ToString(System.Globalization.CultureInfo.InvariantCulture);
                s.Name = $"timeShift({s.Name}, {unit}, {shift})"; s.PathExpression = s.Name;
                s.Start = l[0].Start; s.End = l[0].End;
                results.Add(s);
            }
        }
        return results;
    }

    /// <summary>The first argument evaluated again from bootstrapInterval (argument <paramref name="bootstrapIndex"/>) earlier.</summary>
    private static (List<TimeSeries> Preview, long Seconds) HoltWintersPreview(Call c, int bootstrapIndex)
    {
        var seconds = Math.Abs(AtTime.ParseOffset(c.Str(bootstrapIndex, "bootstrapInterval", "7d")));
        return (EvaluateNode(c.Ctx.WithWindow(c.Ctx.StartTime - seconds, c.Ctx.EndTime), c.Node.Args[0]), seconds);
    }

    private static List<TimeSeries> HoltWintersConfidenceBands(Call c)
    {
        var delta = c.Int(1, "delta", 3);
        var (preview, previewSeconds) = HoltWintersPreview(c, 2);
        var results = new List<TimeSeries>();
        foreach (var s in preview)
        {
            var (predictions, deviations) = HoltWintersAnalysis(s, c.Str(3, "seasonality", "1d"));
            var window = (int)Math.Min(previewSeconds / s.Step, predictions.Count);
            var upper = new List<double?>(); var lower = new List<double?>();
            for (var i = window; i < predictions.Count; i++)
            {
                if (predictions[i] is { } f && deviations[i] is { } d) { upper.Add(f + delta * d); lower.Add(f - delta * d); }
                else { upper.Add(null); lower.Add(null); }
            }
            s.Tags["holtWintersConfidenceUpper"] = "1"; s.Tags["holtWintersConfidenceLower"] = "1";
            var start = s.Start + previewSeconds;
            results.Add(new TimeSeries($"holtWintersConfidenceLower({s.Name})", start, s.End, s.Step, lower, s.XFilesFactor, s.Tags) { PathExpression = s.PathExpression });
            results.Add(new TimeSeries($"holtWintersConfidenceUpper({s.Name})", start, s.End, s.Step, upper, s.XFilesFactor, s.Tags) { PathExpression = s.PathExpression });
        }
        return results;
    }

    private static void AreaBetween(List<TimeSeries> l)
    {
        for (var k = 0; k + 1 < l.Count; k += 2)
        {
            var (lower, upper) = (l[k], l[k + 1]);
            upper.Tags["areaBetween"] = "1";
            lower.Tags = upper.Tags;
            lower.Name = upper.Name = $"areaBetween({upper.PathExpression})";
        }
    }

    /// <summary>graphite's holtWintersAnalysis (alpha = gamma = 0.1, beta = 0.0035): predictions and deviations per point; tags the series as graphite does.</summary>
    private static (List<double?> Predictions, List<double?> Deviations) HoltWintersAnalysis(TimeSeries s, string seasonality)
    {
        const double alpha = 0.1, gamma = 0.1, beta = 0.0035;
        var seasonLength = (int)(Math.Abs(AtTime.ParseOffset(seasonality)) / s.Step);
        var intercepts = new List<double?>(); var slopes = new List<double>(); var seasonals = new List<double>();
        var predictions = new List<double?>(); var deviations = new List<double?>();
        double LastSeasonal(int i) => i - seasonLength >= 0 && i - seasonLength < seasonals.Count ? seasonals[i - seasonLength] : 0;
        double LastDeviation(int i) => i - seasonLength >= 0 ? deviations[i - seasonLength] ?? 0 : 0;
        double? nextPred = null;
        var pts = s.Points();
        for (var i = 0; i < pts.Count; i++)
        {
            if (pts[i] is not { } actual)
            {
                intercepts.Add(null); slopes.Add(0); seasonals.Add(0); predictions.Add(nextPred); deviations.Add(0);
                nextPred = null;
                continue;
            }
            double lastIntercept, lastSlope; double? prediction;
            if (i == 0) { lastIntercept = actual; lastSlope = 0; prediction = actual; }
            else { lastIntercept = intercepts[^1] ?? actual; lastSlope = slopes[^1]; prediction = nextPred; }
            var lastSeasonal = LastSeasonal(i);
            var nextLastSeasonal = LastSeasonal(i + 1);
            var lastSeasonalDev = LastDeviation(i);
            var intercept = alpha * (actual - lastSeasonal) + (1 - alpha) * (lastIntercept + lastSlope);
            var slope = beta * (intercept - lastIntercept) + (1 - beta) * lastSlope;
            var seasonal = gamma * (actual - intercept) + (1 - gamma) * lastSeasonal;
            nextPred = intercept + slope + nextLastSeasonal;
            var deviation = gamma * Math.Abs(actual - (prediction ?? 0)) + (1 - gamma) * lastSeasonalDev;
            intercepts.Add(intercept); slopes.Add(slope); seasonals.Add(seasonal); predictions.Add(prediction); deviations.Add(deviation);
        }
        s.Tags["holtWintersForecast"] = "1"; s.Tags["holtWintersDeviation"] = "1";
        return (predictions, deviations);
    }
}
