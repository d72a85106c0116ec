namespace Observe.Storage.Graphite;

/// <summary><see cref="ISeriesQuery"/> and <see cref="ISeriesGraphs"/> over the render evaluator: the same functions and semantics as <c>/render</c>.</summary>
internal sealed class GraphiteSeriesQuery(ISeriesReader reader, GraphiteEventStore? events, RenderLimitOptions? limits = null) : ISeriesQuery, ISeriesGraphs
{
    public byte[] Png(string target, long from, long until, int width, int height, string? title)
    {
        limits ??= new RenderLimitOptions();
        var size = new Dictionary<string, string?>
        {
            ["width"] = width.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["height"] = height.ToString(System.Globalization.CultureInfo.InvariantCulture), ["title"] = title,
        };
        try
        {
            var image = Images.GraphImages.Prepare("png", k => size.GetValueOrDefault(k), limits)!;
            return image.Png(Evaluator.EvaluateTargets([target], from, until, until, 0.0, reader, events, limits), from, until);
        }
        catch (GraphiteInputException e) { throw new FormatException(e.Message, e); }
    }

    public IReadOnlyList<QueriedSeries> Evaluate(string target, long from, long until) => Evaluate(target, from, until, null);

    public IReadOnlyList<QueriedSeries> Evaluate(string target, long from, long until, Func<string, bool>? absentAsZero)
    {
        var source = absentAsZero != null ? new AbsentAsZeroReader(reader, absentAsZero) : reader;
        try
        {
            return Evaluator.EvaluateTargets([target], from, until, until, 0.0, source, events)
                .Select(s => new QueriedSeries(s.Name, s.Start, s.Step * s.ValuesPerPoint, [.. s.Points()]))
                .ToList();
        }
        catch (GraphiteInputException e) { throw new FormatException(e.Message, e); }
    }

    public static string? ParseProblem(string target)
    {
        if (string.IsNullOrWhiteSpace(target)) return "empty target";
        try { _ = TargetParser.Parse(target); return null; }
        catch (GraphiteInputException e) { return e.Message; }
    }

    /// <summary>
    /// The store as a StatsD counter reads: a counter series named exactly that does not exist yet is all zeros (with the
    /// schema's step), and an existing one is 0 where nothing was stored (before its first increment). Only exact names:
    /// a wildcard matches what exists.
    /// </summary>
    private sealed class AbsentAsZeroReader(ISeriesReader store, Func<string, bool> isCounter) : ISeriesReader
    {
        public IReadOnlyList<MetricNode> Find(string pattern)
        {
            var found = store.Find(pattern);
            return found.Count == 0 && pattern.IndexOfAny(['*', '?', '[', '{', ';']) < 0 && isCounter(pattern) ? [new MetricNode(pattern, true)] : found;
        }

        public IReadOnlyList<string> TaggedSeries() => store.TaggedSeries();

        public SeriesWindow? Fetch(string series, long from, long until)
        {
            if (!isCounter(series)) return store.Fetch(series, from, until);
            if (store.Fetch(series, from, until) is not { } w) return store.ZeroWindow(series, from, until);
            var values = new double?[w.Values.Length];
            for (var i = 0; i < values.Length; i++) values[i] = w.Values[i] ?? 0;
            return w with { Values = values };
        }
    }
}
