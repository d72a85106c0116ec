namespace Observe.Storage.Graphite;

/// <summary><see cref="ISeriesQuery"/> over the render evaluator: the same functions and semantics as <c>/render</c>.</summary>
internal sealed class GraphiteSeriesQuery(ISeriesReader reader, GraphiteEventStore? events) : ISeriesQuery
{
    public IReadOnlyList<QueriedSeries> Evaluate(string target, long from, long until)
    {
        var req = new GraphiteApi.RenderRequest([target], from, until, until, "json", null, false, 0.0, null);
        try
        {
            return GraphiteApi.Evaluate(req, reader, events)
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
}
