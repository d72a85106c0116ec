namespace Observe.Common;

/// <summary>What a stat is: a total since start, or a level read as it is.</summary>
public enum StatKind
{
    /// <summary>A total since start: a Prometheus counter, written to <c>observe.*</c> as a <c>…_per_second</c> rate.</summary>
    Counter,
    /// <summary>A level: a Prometheus gauge, written to <c>observe.*</c> as its value.</summary>
    Gauge,
    /// <summary>A total of rare damage (corrupt chunks): a Prometheus counter, but its <c>observe.*</c> series is the total
    /// itself, because an operator reads "2 corrupt chunks", not a rate that is zero but for one flush.</summary>
    CounterShownAsTotal,
}

/// <summary>One value of a stat: its label values, in the order of <see cref="IStatDescriptor.Labels"/> (null for an unlabelled
/// stat), and the number.</summary>
public readonly record struct StatValue(IReadOnlyList<string>? Labels, double Value);

/// <summary>The names and meaning of one stat, whatever it is read from.</summary>
public interface IStatDescriptor
{
    /// <summary>The Prometheus family on /metrics (and the key under /stats <c>metrics</c>).</summary>
    string Family { get; }
    /// <summary>The Graphite name under <c>observe.</c>; each <c>{label}</c> stands for that label's value as one node
    /// (<c>{receiver}.{integration}</c>), and values whose names come out the same are summed: a labelled stat whose name
    /// has no placeholder is written as the sum over its labels.</summary>
    string Series { get; }
    /// <summary>A second Graphite name for the sum over every label, written besides the per-label <see cref="Series"/>
    /// (the dashboards' totals); null when there is none.</summary>
    string? TotalSeries { get; }
    StatKind Kind { get; }
    string Help { get; }
    /// <summary>The Prometheus label names, or null.</summary>
    IReadOnlyList<string>? Labels { get; }
}

/// <summary>
/// One stat a stage reports about itself, read from its snapshot <typeparamref name="T"/>. Each stage keeps one list of
/// these; the host generates /metrics, the <c>observe.*</c> series and /stats <c>metrics</c> from the lists, so a stat
/// cannot be forgotten in one of them.
/// </summary>
public sealed record StatDescriptor<T>(string Family, string Series, StatKind Kind, string Help, IReadOnlyList<string>? Labels,
    Func<T, IEnumerable<StatValue>> Read) : IStatDescriptor
{
    public string? TotalSeries { get; init; }
}

/// <summary>Short ways to write a stage's list.</summary>
public static class Stat
{
    public static StatDescriptor<T> Counter<T>(string family, string series, string help, Func<T, double> read) =>
        new(family, series, StatKind.Counter, help, null, s => [new(null, read(s))]);

    public static StatDescriptor<T> Gauge<T>(string family, string series, string help, Func<T, double> read) =>
        new(family, series, StatKind.Gauge, help, null, s => [new(null, read(s))]);

    /// <summary>A stat with one label, e.g. per sink or per reason: <paramref name="read"/> gives (label value, value) pairs.</summary>
    public static StatDescriptor<T> Labelled<T>(StatKind kind, string family, string series, string help, string label,
        Func<T, IEnumerable<(string Label, double Value)>> read) =>
        new(family, series, kind, help, [label], s => read(s).Select(v => new StatValue([v.Label], v.Value)));

    /// <summary>A stat with several labels (per receiver and integration): <paramref name="read"/> gives the label values
    /// in the order of <paramref name="labels"/>.</summary>
    public static StatDescriptor<T> Labelled<T>(StatKind kind, string family, string series, string help, IReadOnlyList<string> labels,
        Func<T, IEnumerable<(IReadOnlyList<string> Labels, double Value)>> read) =>
        new(family, series, kind, help, labels, s => read(s).Select(v => new StatValue(v.Labels, v.Value)));

    /// <summary>The pairs of a per-label total (limit hits per key, rejections per reason).</summary>
    public static IEnumerable<(string, double)> Pairs(IReadOnlyDictionary<string, long>? totals) =>
        totals == null ? [] : totals.Select(kv => (kv.Key, (double)kv.Value));
}

/// <summary>A stage's list bound to where its snapshot is read: what the host's generators take. The snapshot is taken
/// once per <see cref="Read"/>; a stage switched off (null snapshot) reads as nothing.</summary>
public sealed class StatSource
{
    private readonly Func<IEnumerable<(IStatDescriptor, StatValue)>?> _read;

    private StatSource(IReadOnlyList<IStatDescriptor> descriptors, Func<IEnumerable<(IStatDescriptor, StatValue)>?> read) =>
        (Descriptors, _read) = (descriptors, read);

    public IReadOnlyList<IStatDescriptor> Descriptors { get; }

    public static StatSource Of<T>(IReadOnlyList<StatDescriptor<T>> list, Func<T?> snapshot) where T : class =>
        new(list, () => snapshot() is { } s ? list.SelectMany(d => d.Read(s).Select(v => ((IStatDescriptor)d, v))) : null);

    /// <summary>Every descriptor's values now; null when the stage is absent (switched off, or not bound yet).</summary>
    public IEnumerable<(IStatDescriptor Stat, StatValue Value)>? Read() => _read();
}
