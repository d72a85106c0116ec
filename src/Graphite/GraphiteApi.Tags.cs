using System.Globalization;

namespace Observe.Storage.Graphite;

/// <summary>/tags, /tags/findSeries and /tags/autoComplete/{tags,values} (graphite-web tags/views.py).</summary>
public static partial class GraphiteApi
{
    private static IEnumerable<Dictionary<string, string>> AllTags(ISeriesReader reader) =>
        reader.TaggedSeries().Select(TagQuery.Parse).Where(t => t != null)!;

    internal static List<Dictionary<string, object>> TagList(Params p, ISeriesReader reader)
    {
        var filter = p.Get("filter");
        System.Text.RegularExpressions.Regex? re = null;
        // A user's regex: bounded like those of grep/exclude (a match past the timeout is a 400).
        if (!string.IsNullOrEmpty(filter))
            re = new(filter.StartsWith('^') ? filter : "^(" + filter + ")", System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        var tags = AllTags(reader).SelectMany(t => t.Keys).Distinct().Where(t => re == null || re.IsMatch(t)).OrderBy(t => t, StringComparer.Ordinal);
        var limit = p.Get("limit") is { } l ? int.Parse(l, CultureInfo.InvariantCulture) : int.MaxValue;
        return tags.Take(limit).Select(t => new Dictionary<string, object> { ["tag"] = t }).ToList();
    }

    private static List<string> Exprs(Params p) => p.GetList("expr").Count > 0 ? [.. p.GetList("expr")] : [.. p.GetList("expr[]")];

    private static List<string> FindSeries(Params p, ISeriesReader reader, RenderBudget budget)
    {
        var exprs = Exprs(p);
        if (exprs.Count == 0) throw new GraphiteInputException("no tag expressions specified");
        return TagQuery.FindSeries(reader.TaggedSeries(), exprs, budget);
    }

    private static List<string> AutoCompleteTags(Params p, ISeriesReader reader, RenderBudget budget)
    {
        var exprs = Exprs(p);
        var prefix = p.Get("tagPrefix");
        var limit = p.Get("limit") is { } l ? int.Parse(l, CultureInfo.InvariantCulture) : 100;
        IEnumerable<string> tags;
        if (exprs.Count == 0) tags = AllTags(reader).SelectMany(t => t.Keys);
        else
        {
            var searched = exprs.Select(e => TagQuery.ParseTagSpec(e).Tag).ToHashSet();
            tags = TagQuery.FindSeries(reader.TaggedSeries(), exprs, budget).Select(TagQuery.Parse).Where(t => t != null).SelectMany(t => t!.Keys).Where(t => !searched.Contains(t));
        }
        return tags.Where(t => string.IsNullOrEmpty(prefix) || t.StartsWith(prefix, StringComparison.Ordinal))
            .Distinct().OrderBy(t => t, StringComparer.Ordinal).Take(limit).ToList();
    }

    private static List<string> AutoCompleteValues(Params p, ISeriesReader reader, RenderBudget budget)
    {
        var exprs = Exprs(p);
        var tag = p.Get("tag");
        if (string.IsNullOrEmpty(tag)) throw new GraphiteInputException("no tag specified");
        var prefix = p.Get("valuePrefix");
        var limit = p.Get("limit") is { } l ? int.Parse(l, CultureInfo.InvariantCulture) : 100;
        var series = exprs.Count == 0 ? AllTags(reader) : TagQuery.FindSeries(reader.TaggedSeries(), exprs, budget).Select(TagQuery.Parse).Where(t => t != null)!;
        return series.Select(t => t!.GetValueOrDefault(tag)).Where(v => v != null && (string.IsNullOrEmpty(prefix) || v.StartsWith(prefix, StringComparison.Ordinal)))
            .Select(v => v!).Distinct().OrderBy(v => v, StringComparer.Ordinal).Take(limit).ToList();
    }
}
