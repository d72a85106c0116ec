// Deploy verification benchmark on a fake clock: dotnet run -c Release --project bench/Observe.Bench -- --deploys [--seed N] [--zero-baseline]
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector;
using Observe.DeployMarkers;
using Observe.Storage;

namespace Observe.Bench;

/// <summary>
/// 100 healthy deploys with noisy metrics and 100 bad ones (error-rate and latency regressions of several sizes), all
/// verified by the real DeployService/DeployJudge with the default settings (window 5 min, baseline 30 min, 10 s flushes,
/// min 3 points, 95 % confidence). Reports false rollbacks, missed regressions and time from finish to rollback.
/// <c>--zero-baseline</c> (issue 14): services with no errors at all before the deploy (a stray single error in 2 % of
/// flushes), 100 healthy, 50 deploys with 30 % errors after finish and 50 with p90 latency ×2; error SLI with floor 0.01
/// as docs/configuration.md's example.
/// </summary>
internal static class DeployBench
{
    private const long Step = 10;

    private sealed class Clock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now = start;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>What happens to a service after its deploy finishes.</summary>
    private sealed record Case(string Service, string Kind, double Factor, bool RestartBlip);

    /// <summary>
    /// Per 10 s flush: ~2000 requests (Poisson), errors Binomial(requests, 1 %) → error ratio; p90 latency 120 ms with
    /// log-normal noise (σ 0.12) and a 3 % chance of a ×1.8 spike. After finish the case's factor applies; a restart blip
    /// triples errors and latency in the first flush after a deploy. Deterministic per (service, slot).
    /// </summary>
    private sealed class Synthetic(IReadOnlyDictionary<string, Case> cases, Func<string, long?> finishedAt, int seed, bool zeroBaseline) : ISeriesQuery
    {
        public IReadOnlyList<QueriedSeries> Evaluate(string target, long from, long until)
        {
            var (service, metric) = (target[..target.IndexOf('.')], target[(target.IndexOf('.') + 1)..]);
            var c = cases[service];
            var fin = finishedAt(service);
            var start = from - from % Step;
            var values = new List<double?>();
            for (var ts = start; ts <= until; ts += Step)
            {
                var rng = new Random(StableHash(seed, service, ts));
                var after = fin is { } f && ts > f;
                var blip = after && c.RestartBlip && ts <= fin + Step;
                if (metric == "errors")
                {
                    var requests = Poisson(rng, 2000);
                    if (zeroBaseline)
                    {
                        // a healthy shop: no errors but a stray one now and then; the bad deploy fails 30 % of requests
                        var errors = after && c.Kind == "errors" ? Binomial(rng, requests, 0.3) : rng.NextDouble() < 0.02 ? 1 : 0;
                        values.Add(requests == 0 ? null : errors / (double)requests);
                        continue;
                    }
                    var p = 0.01 * (after && c.Kind == "errors" ? c.Factor : 1) * (blip ? 3 : 1);
                    values.Add(requests == 0 ? null : Binomial(rng, requests, Math.Min(p, 1)) / (double)requests);
                }
                else
                {
                    var v = 120 * Math.Exp(0.12 * Gaussian(rng)) * (rng.NextDouble() < 0.03 ? 1.8 : 1);
                    values.Add(v * (after && c.Kind == "latency" ? c.Factor : 1) * (blip ? 3 : 1));
                }
            }
            return [new QueriedSeries(target, start, Step, [.. values])];
        }

        /// <summary>FNV-1a over seed, name and slot: the same in every process (HashCode.Combine is seeded per process,
        /// which made earlier runs of the same seed differ).</summary>
        private static int StableHash(int seed, string service, long ts)
        {
            var h = 2166136261u;
            void Mix(long v) { for (var i = 0; i < 8; i++) { h ^= (byte)(v >> (8 * i)); h *= 16777619u; } }
            Mix(seed);
            foreach (var c in service) Mix(c);
            Mix(ts);
            return (int)h;
        }

        private static int Poisson(Random r, double mean) => Math.Max(0, (int)Math.Round(mean + Math.Sqrt(mean) * Gaussian(r)));
        private static int Binomial(Random r, int n, double p) => Math.Max(0, (int)Math.Round(n * p + Math.Sqrt(n * p * (1 - p)) * Gaussian(r)));
        private static double Gaussian(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var seed = args.SkipWhile(a => a != "--seed").Skip(1).Select(int.Parse).DefaultIfEmpty(1).First();
        var zero = args.Contains("--zero-baseline");
        var cases = new List<Case>();
        var rng = new Random(seed);
        for (var i = 0; i < 100; i++) cases.Add(new Case($"healthy{i:000}", "none", 1, rng.NextDouble() < 0.3));
        // zero baseline: "errors ×30" stands for 0 → 30 % errors (there is no ratio to 0)
        double[] errorFactors = zero ? [30] : [1.5, 2, 3, 5, 10], latencyFactors = zero ? [2] : [1.2, 1.5, 2, 3, 5];
        for (var i = 0; i < 50; i++) cases.Add(new Case($"errors{i:000}", "errors", errorFactors[i % errorFactors.Length], rng.NextDouble() < 0.3));
        for (var i = 0; i < 50; i++) cases.Add(new Case($"latency{i:000}", "latency", latencyFactors[i % latencyFactors.Length], rng.NextDouble() < 0.3));
        var byService = cases.ToDictionary(c => c.Service);

        var options = new DeploysOptions
        {
            Services = [.. cases.Select(c => new DeployServiceOptions
            {
                Name = c.Service, AutoRollback = true, Rollback = new RollbackOptions { Command = ["/bin/true"] },
                Slis =
                [
                    new SliOptions { Name = "error_ratio", Target = c.Service + ".errors", MaxRatio = 2, Floor = zero ? 0.01 : null },
                    new SliOptions { Name = "latency_p90", Target = c.Service + ".latency", MaxRatio = 1.5 },
                ],
            })],
        };
        var clock = new Clock(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        var store = DeployStore.InMemory();
        DeployService? service = null;
        var finished = new Dictionary<string, long>();
        var series = new Synthetic(byService, s => finished.TryGetValue(s, out var f) ? f : null, seed, zero);
        service = new DeployService(options, store, null, null, Array.Empty<IMetricSink>(), series, null,
            new Observe.DeployMarkers.Rollback.RollbackRunner(clock), clock, NullLogger.Instance);

        var wall = System.Diagnostics.Stopwatch.StartNew();
        // Deploys start at random offsets within 10 min (not aligned to flushes), take 30–90 s, and are verified together.
        var plan = cases.Select(c => (Case: c, Start: rng.Next(0, 600), Duration: rng.Next(30, 90))).ToList();
        var t0 = clock.Now;
        var ids = new Dictionary<string, string>();
        var evaluations = 0;
        var failedPasses = 0;
        string? lastFailure = null;
        for (var second = 0; second <= 600 + 90 + 5 * 60 + 60; second++)
        {
            clock.Now = t0.AddSeconds(second);
            foreach (var p in plan)
            {
                if (p.Start == second)
                    ids[p.Case.Service] = (await service.MarkAsync(new MarkerRequest(Event: "start", Service: p.Case.Service, Env: "prod", Version: "v2", By: "bench"), "bench", default)).Deploy!.Id;
                if (p.Start + p.Duration == second)
                {
                    await service.MarkAsync(new MarkerRequest(Event: "finish", Service: p.Case.Service, Env: "prod", Version: "v2", By: "bench"), "bench", default);
                    finished[p.Case.Service] = clock.Now.ToUnixTimeSeconds();
                }
            }
            // verifier ticks between flushes; a pass that throws is logged and the next tick tries again, as DeployVerifier does
            if (second % Step == 3)
            {
                try { evaluations += await service.EvaluateAsync(default); }
                catch (Exception e) { failedPasses++; lastFailure = e.Message; }
            }
        }
        wall.Stop();

        var results = cases.Select(c => (Case: c, Deploy: service.Get(ids[c.Service])!)).ToList();
        bool Regression(Case c) => c.Kind == "errors" ? c.Factor > 2 : c.Kind == "latency" && c.Factor > 1.5;
        var healthy = results.Where(r => r.Case.Kind == "none").ToList();
        var falseRollbacks = healthy.Count(r => r.Deploy.State == DeployState.RolledBack);
        var beyond = results.Where(r => Regression(r.Case)).ToList();
        var missed = beyond.Count(r => r.Deploy.State != DeployState.RolledBack);
        var inc = results.Count(r => r.Deploy.Verification?.Verdict == "inconclusive");
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"deploy verification benchmark (seed {seed}, fake clock, {evaluations} SLI-pair judgements in {wall.Elapsed.TotalSeconds:0.00} s wall)");
        Console.WriteLine($"healthy deploys: {healthy.Count}, false rollbacks: {falseRollbacks}, verified: {healthy.Count(r => r.Deploy.State == DeployState.Verified)}, inconclusive: {inc}");
        Console.WriteLine($"regressions beyond tolerance: {beyond.Count}, missed: {missed}");
        if (failedPasses > 0) Console.WriteLine($"verifier passes that threw: {failedPasses} (last: {lastFailure})");
        Console.WriteLine();
        Console.WriteLine("| regression | deploys | rolled back | finish → rollback median | max |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var g in results.Where(r => r.Case.Kind != "none").GroupBy(r => (r.Case.Kind, r.Case.Factor)).OrderBy(g => g.Key.Kind).ThenBy(g => g.Key.Factor))
        {
            var times = g.Where(r => r.Deploy.State == DeployState.RolledBack).Select(r => (r.Deploy.EndedAt!.Value - r.Deploy.FinishedAt!.Value).TotalSeconds).Order().ToList();
            var tol = g.Key.Kind == "errors" ? "tolerance 2×" : "tolerance 1.5×";
            Console.WriteLine(string.Create(inv, $"| {g.Key.Kind} ×{g.Key.Factor} ({tol}) | {g.Count()} | {times.Count} | {(times.Count > 0 ? $"{times[times.Count / 2]:0} s" : "–")} | {(times.Count > 0 ? $"{times[^1]:0} s" : "–")} |"));
        }
        foreach (var r in results.Where(r => r.Case.Kind == "none" && r.Deploy.State == DeployState.RolledBack))
            Console.WriteLine($"false rollback: {r.Case.Service}: {r.Deploy.Verification!.Reason}");
        return falseRollbacks == 0 && missed == 0 ? 0 : 1;
    }
}
