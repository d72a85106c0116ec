using Observe.Common;
namespace Observe.Alerting.Pipeline;

internal sealed record EscalationStep(TimeSpan After, string Receiver);

/// <summary>A routing-tree node with every inherited setting resolved (Alertmanager semantics).</summary>
internal sealed class RouteNode
{
    public required string Id { get; init; }
    public required string Receiver { get; init; }
    public required IReadOnlyList<LabelMatcher> Matchers { get; init; }
    /// <summary>Null = group by every label (<c>[...]</c>).</summary>
    public required IReadOnlyList<string>? GroupBy { get; init; }
    public required TimeSpan GroupWait { get; init; }
    public required TimeSpan GroupInterval { get; init; }
    public required TimeSpan RepeatInterval { get; init; }
    public required bool Continue { get; init; }
    public required IReadOnlyList<EscalationStep> Escalation { get; init; }
    public List<RouteNode> Children { get; } = [];

    /// <summary>Group key and group labels for <paramref name="labels"/> under this route.</summary>
    public (string Key, IReadOnlyDictionary<string, string> Labels) GroupFor(IReadOnlyDictionary<string, string> labels)
    {
        var g = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (GroupBy == null) foreach (var (k, v) in labels) g[k] = v;
        else foreach (var k in GroupBy) if (labels.TryGetValue(k, out var v)) g[k] = v;
        return ($"{Id}:{{{string.Join(",", g.Select(kv => $"{kv.Key}={Quote(kv.Value)}"))}}}", g);
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}

/// <summary>Route: the tree of <see cref="RouteOptions"/>, matched depth-first; <c>continue</c> lets siblings match too.</summary>
internal sealed class RouteTree
{
    public RouteNode Root { get; }

    public RouteTree(RouteOptions root)
    {
        Root = Build(root, null, "0");
    }

    private static RouteNode Build(RouteOptions o, RouteNode? parent, string id)
    {
        var groupBy = o.GroupBy is { } gb ? (gb.Count == 1 && gb[0] == "..." ? null : (IReadOnlyList<string>)gb) : parent != null ? parent.GroupBy : [];
        var node = new RouteNode
        {
            Id = id,
            Receiver = o.Receiver ?? parent?.Receiver ?? "",
            Matchers = LabelMatcher.ParseAll(o.Matchers),
            GroupBy = groupBy,
            GroupWait = o.GroupWait != null ? DurationSyntax.Parse(o.GroupWait) : parent?.GroupWait ?? TimeSpan.FromSeconds(30),
            GroupInterval = o.GroupInterval != null ? DurationSyntax.Parse(o.GroupInterval) : parent?.GroupInterval ?? TimeSpan.FromMinutes(5),
            RepeatInterval = o.RepeatInterval != null ? DurationSyntax.Parse(o.RepeatInterval) : parent?.RepeatInterval ?? TimeSpan.FromHours(4),
            Continue = o.Continue,
            Escalation = o.Escalation is { } esc
                ? esc.Select(e => new EscalationStep(DurationSyntax.Parse(e.After), e.Receiver)).OrderBy(e => e.After).ToList()
                : parent?.Escalation ?? [],
        };
        for (var i = 0; i < o.Routes.Count; i++) node.Children.Add(Build(o.Routes[i], node, $"{id}.{i}"));
        return node;
    }

    /// <summary>Every route that takes an alert with <paramref name="labels"/>: the deepest matching nodes, as Alertmanager's <c>Match</c>.</summary>
    public IReadOnlyList<RouteNode> Match(IReadOnlyDictionary<string, string> labels)
    {
        var result = new List<RouteNode>();
        Match(Root, labels, result);
        return result;
    }

    private static bool Match(RouteNode node, IReadOnlyDictionary<string, string> labels, List<RouteNode> result)
    {
        if (!LabelMatcher.All(node.Matchers, labels)) return false;
        var any = false;
        foreach (var child in node.Children)
        {
            if (!Match(child, labels, result)) continue;
            any = true;
            if (!child.Continue) break;
        }
        if (!any) result.Add(node);
        return true;
    }
}
