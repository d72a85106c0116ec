namespace Observe.Storage;

/// <summary>
/// One series a Graphite target evaluated to, after any consolidation: point i covers
/// <c>[Start + i*Step, Start + (i+1)*Step)</c>; null where there is no value.
/// </summary>
public sealed record QueriedSeries(string Name, long Start, long Step, double?[] Values);

/// <summary>
/// Graphite targets with functions (<c>divideSeries(stats.api.errors, stats.api.requests)</c>) evaluated as
/// <c>/render</c> does, for DeployMarkers' SLIs.
/// </summary>
public interface ISeriesQuery
{
    /// <summary>Evaluates <paramref name="target"/> over <c>[from, until]</c> (unix seconds).</summary>
    /// <exception cref="FormatException">the target does not parse or a function is given bad arguments.</exception>
    IReadOnlyList<QueriedSeries> Evaluate(string target, long from, long until);

    /// <summary>
    /// As <see cref="Evaluate(string, long, long)"/>, but every series named exactly (no wildcard) for which
    /// <paramref name="absentAsZero"/> is true reads 0 where nothing was stored, and as all zeros when it does not exist
    /// yet: a StatsD counter nobody incremented counted nothing (an error counter appears only at the first error).
    /// </summary>
    IReadOnlyList<QueriedSeries> Evaluate(string target, long from, long until, Func<string, bool>? absentAsZero) => Evaluate(target, from, until);
}
