using Observe.Checks.Plugins;

namespace Observe.Checks.Kinds;

/// <summary>
/// A load-balancer pool: every backend is checked (http or tcp) at once; a backend is healthy when its check is OK or
/// WARNING. Fewer healthy than <c>minHealthyCritical</c> → CRITICAL, fewer than <c>minHealthyWarning</c> → WARNING. The
/// failing backends are named in the output (each with its first line) and listed in the long output.
/// </summary>
internal sealed class PoolCheck(IReadOnlyList<(string Name, ICheck Check)> backends, int minHealthyWarning, int minHealthyCritical) : ICheck
{
    public async Task<CheckResult> RunAsync(CancellationToken cancellationToken)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var results = await Task.WhenAll(backends.Select(async b =>
        {
            try { return (b.Name, Result: await b.Check.RunAsync(cancellationToken).ConfigureAwait(false)); }
            catch (Exception e) when (e is not OperationCanceledException) { return (b.Name, Result: CheckResult.Unknown($"({e.GetType().Name}: {e.Message})")); }
        })).ConfigureAwait(false);
        var failing = results.Where(r => r.Result.State is CheckState.Critical or CheckState.Unknown).ToList();
        var healthy = results.Length - failing.Count;
        var state = healthy < minHealthyCritical ? CheckState.Critical : healthy < minHealthyWarning ? CheckState.Warning : CheckState.Ok;
        var text = $"POOL {state.Upper()} - {healthy} of {results.Length} backends healthy";
        if (failing.Count > 0) text += "; failing: " + string.Join(", ", failing.Select(f => f.Name));
        var longOutput = string.Join('\n', results.Select(r => $"{r.Name}: {r.Result.Output}"));
        var perf = new List<PerfDatum>
        {
            new("healthy", healthy, "", $"{minHealthyWarning}:", $"{minHealthyCritical}:", 0, results.Length),
            new("backends", results.Length, "", null, null, 0, null),
        };
        foreach (var (name, r) in results)
            if (r.PerfData.FirstOrDefault(p => p.Label == "time") is { Value: { } t }) perf.Add(new PerfDatum($"{name}_time", t, "s", null, null, 0, null));
        return new CheckResult(state, text, longOutput, perf, sw.Elapsed);
    }
}
