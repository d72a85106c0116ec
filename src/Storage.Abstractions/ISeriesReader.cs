namespace Observe.Storage;

/// <summary>A node of the metric tree found by a Graphite path pattern.</summary>
public sealed record MetricNode(string Path, bool IsLeaf);

/// <summary>
/// Values of one series over a window, as whisper's fetch returns them: slot i covers
/// <c>[Start + i*Step, Start + (i+1)*Step)</c>; null where nothing was stored.
/// </summary>
public sealed record SeriesWindow(long Start, long End, long Step, double?[] Values);

/// <summary>
/// Read side of the time-series store, for the Graphite API, Checks and DeployMarkers.
/// Series are named by Graphite paths; tagged series as <c>name;k=v;…</c>.
/// </summary>
public interface ISeriesReader
{
    /// <summary>Nodes matching a Graphite glob (<c>*</c>, <c>?</c>, <c>[a-z]</c>, <c>{a,b}</c> per node).</summary>
    IReadOnlyList<MetricNode> Find(string pattern);

    /// <summary>All tagged series (<c>name;k=v…</c>), for tag queries.</summary>
    IReadOnlyList<string> TaggedSeries();

    /// <summary>
    /// Fetches a series over <c>[from, until]</c> (unix seconds) from the finest archive whose retention
    /// covers <paramref name="from"/>, as whisper does. Returns null when the series does not exist.
    /// </summary>
    SeriesWindow? Fetch(string series, long from, long until);

    /// <summary>
    /// All zeros over <c>[from, until]</c> at the step <paramref name="series"/> would be stored with (its schema's finest
    /// archive), for a StatsD counter nobody incremented yet (<see cref="ISeriesQuery"/>'s absentAsZero); null = no schema.
    /// </summary>
    SeriesWindow? ZeroWindow(string series, long from, long until) => null;

    /// <summary>
    /// <see cref="Fetch"/> into a reused <paramref name="buf"/>, for folds over many series (no arrays per series); false
    /// when the series does not exist. A reader that answers <see cref="ParallelFetch"/> decodes outside its lock, so
    /// several threads may fetch at once, each into its own buffer.
    /// </summary>
    bool FetchInto(string series, long from, long until, SlotBuffer buf)
    {
        if (Fetch(series, from, until) is not { } w) return false;
        buf.CopyFrom(w);
        return true;
    }

    /// <summary>Whether <see cref="FetchInto"/> pays to call from several threads at once (the embedded store).</summary>
    bool ParallelFetch => false;

    /// <summary>
    /// Completes when the reader can answer without waiting (the embedded store opens while the host starts); faults when it
    /// cannot open. The Graphite API awaits it, bounded, before reading; the other members wait for it themselves.
    /// </summary>
    Task Opened => Task.CompletedTask;
}
