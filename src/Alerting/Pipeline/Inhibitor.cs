namespace Observe.Alerting.Pipeline;

/// <summary>Inhibit stage: a firing alert matching a rule's source matchers mutes the alerts matching its target
/// matchers that have the same values for the rule's <c>equal</c> labels (e.g. host down mutes that host's services).</summary>
internal sealed class Inhibitor(IReadOnlyList<InhibitRuleOptions> rules)
{
    private readonly List<(List<LabelMatcher> Source, List<LabelMatcher> Target, List<string> Equal)> _rules =
        rules.Select(r => (LabelMatcher.ParseAll(r.SourceMatchers), LabelMatcher.ParseAll(r.TargetMatchers), r.Equal.ToList())).ToList();

    /// <summary>The key of the alert that inhibits <paramref name="target"/>, or null.</summary>
    public string? InhibitedBy(Alert target, IEnumerable<Alert> active)
    {
        if (_rules.Count == 0) return null;
        foreach (var (source, targetMatchers, equal) in _rules)
        {
            if (!LabelMatcher.All(targetMatchers, target.Labels)) continue;
            foreach (var a in active)
            {
                if (!a.IsFiring || a.Key == target.Key || !LabelMatcher.All(source, a.Labels)) continue;
                if (equal.All(l => (a.Labels.TryGetValue(l, out var x) ? x : "") == (target.Labels.TryGetValue(l, out var y) ? y : "")))
                    return a.Key;
            }
        }
        return null;
    }
}
