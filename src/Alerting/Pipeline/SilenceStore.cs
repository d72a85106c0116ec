namespace Observe.Alerting.Pipeline;

internal sealed record Silence(string Id, IReadOnlyList<string> Matchers, DateTimeOffset StartsAt, DateTimeOffset EndsAt,
    string CreatedBy, string Comment, DateTimeOffset CreatedAt)
{
    public bool IsActive(DateTimeOffset now) => StartsAt <= now && now < EndsAt;
    public string State(DateTimeOffset now) => now < StartsAt ? "pending" : now < EndsAt ? "active" : "expired";
}

/// <summary>Silence stage: label-matcher silences with a start and an end (Alertmanager semantics).</summary>
internal sealed class SilenceStore
{
    private readonly Dictionary<string, (Silence Silence, List<LabelMatcher> Matchers)> _silences = new(StringComparer.Ordinal);

    public Silence Add(IReadOnlyList<string> matchers, DateTimeOffset start, DateTimeOffset end, string who, string comment, DateTimeOffset now)
    {
        var parsed = LabelMatcher.ParseAll(matchers);
        if (parsed.Count == 0) throw new FormatException("a silence needs at least one matcher");
        var s = new Silence(Guid.NewGuid().ToString("N")[..12], parsed.Select(m => m.ToString()).ToList(), start, end, who, comment, now);
        _silences[s.Id] = (s, parsed);
        return s;
    }

    /// <summary>Puts back a silence saved earlier (its matchers were valid when it was made).</summary>
    public void Restore(Silence s) => _silences[s.Id] = (s, LabelMatcher.ParseAll(s.Matchers));

    /// <summary>Cluster: the silences become exactly <paramref name="all"/> (the shared store's).</summary>
    public void ReplaceAll(IReadOnlyList<Silence> all)
    {
        _silences.Clear();
        foreach (var s in all) Restore(s);
    }

    /// <summary>Forgets a silence that was never saved.</summary>
    public void Remove(string id) => _silences.Remove(id);

    /// <summary>Ends a silence now; false if there is no such silence or it already ended.</summary>
    public bool Expire(string id, DateTimeOffset now)
    {
        if (!_silences.TryGetValue(id, out var e) || e.Silence.EndsAt <= now) return false;
        _silences[id] = (e.Silence with { EndsAt = now, StartsAt = e.Silence.StartsAt > now ? now : e.Silence.StartsAt }, e.Matchers);
        return true;
    }

    public IReadOnlyList<Silence> All() => _silences.Values.Select(v => v.Silence).OrderBy(s => s.CreatedAt).ToList();

    public Silence? SilencedBy(IReadOnlyDictionary<string, string> labels, DateTimeOffset now)
    {
        foreach (var (s, m) in _silences.Values)
            if (s.IsActive(now) && LabelMatcher.All(m, labels)) return s;
        return null;
    }

    /// <summary>Forgets silences that ended more than <paramref name="keep"/> ago.</summary>
    public void Prune(DateTimeOffset now, TimeSpan keep)
    {
        foreach (var id in _silences.Where(kv => kv.Value.Silence.EndsAt + keep < now).Select(kv => kv.Key).ToList()) _silences.Remove(id);
    }
}
