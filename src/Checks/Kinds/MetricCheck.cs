using System.Diagnostics;
using System.Globalization;
using Observe.Checks.Plugins;
using Observe.Storage;

namespace Observe.Checks.Kinds;

/// <summary>
/// Checks series from Observe's store against Nagios ranges: <c>target</c> (a Graphite target: a path, a glob, or
/// functions such as <c>divideSeries(stats.api.errors, stats.api.requests)</c>) is evaluated over the window as /render
/// does; each resulting series' non-null values are aggregated (avg, min, max, sum, last) and compared with the
/// warning/critical ranges; the check takes the worst series' state. No series or no values → the no-data state; a
/// target the query engine refuses → UNKNOWN with its reason. Each series becomes perfdata (label = its name).
/// </summary>
internal sealed class MetricCheck(ISeriesQuery query, string target, TimeSpan window, string aggregate, Thresholds thresholds,
    CheckState noDataState, TimeProvider time) : ICheck
{
    public Task<CheckResult> RunAsync(CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        var until = time.GetUtcNow().ToUnixTimeSeconds();
        var from = until - (long)Math.Max(1, window.TotalSeconds);
        IReadOnlyList<QueriedSeries> series;
        try { series = query.Evaluate(target, from, until); }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            return Task.FromResult(new CheckResult(CheckState.Unknown, $"METRIC UNKNOWN - cannot evaluate '{target}': {e.Message}", null, [], sw.Elapsed));
        }
        var leaves = series.Select(x => x.Name).ToList();
        if (leaves.Count == 0)
            return Task.FromResult(new CheckResult(noDataState, $"METRIC {noDataState.Upper()} - no series match '{target}'", null, [], sw.Elapsed));
        var perf = new List<PerfDatum>();
        var worst = CheckState.Ok;
        var bad = new List<string>();
        var noData = new List<string>();
        foreach (var w in series.OrderBy(x => x.Name, StringComparer.Ordinal))
        {
            var path = w.Name;
            var values = w.Values.Where(v => v is { } x && double.IsFinite(x)).Select(v => v!.Value).ToList();
            if (values.Count == 0) { noData.Add(path); worst = Worse(worst, noDataState); continue; }
            var v = aggregate switch
            {
                "min" => values.Min(),
                "max" => values.Max(),
                "sum" => values.Sum(),
                "last" => values[^1],
                _ => values.Average(),
            };
            var s = thresholds.Evaluate(v);
            worst = Worse(worst, s);
            if (s != CheckState.Ok) bad.Add($"{path}={Fmt(v)}");
            perf.Add(new PerfDatum(path, v, "", null, null, null, null));
        }
        string text;
        var how = $"{aggregate} over {window.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s";
        if (leaves.Count == 1)
            text = noData.Count == 1 ? $"METRIC {worst.Upper()} - no data for {leaves[0]} in the last {window.TotalSeconds:0}s"
                : $"METRIC {worst.Upper()} - {leaves[0]} = {Fmt(perf[0].Value!.Value)} ({how})";
        else
        {
            text = $"METRIC {worst.Upper()} - {bad.Count} of {leaves.Count} series outside thresholds ({how})";
            if (bad.Count > 0) text += ": " + string.Join(", ", bad.Take(5)) + (bad.Count > 5 ? ", …" : "");
            if (noData.Count > 0) text += $"; no data: {string.Join(", ", noData.Take(5))}";
        }
        return Task.FromResult(new CheckResult(worst, text, null, perf, sw.Elapsed));
    }

    private static string Fmt(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>CRITICAL > WARNING > UNKNOWN > OK.</summary>
    private static CheckState Worse(CheckState a, CheckState b) => Rank(a) >= Rank(b) ? a : b;
    private static int Rank(CheckState s) => s switch { CheckState.Critical => 3, CheckState.Warning => 2, CheckState.Unknown => 1, _ => 0 };
}
