using Observe.Checks;
using Observe.TestSupport;

namespace Observe.DeployMarkers.Tests;

/// <summary>The verifier's judgement on made-up series: thresholds, Mann-Whitney, floors, checks, too little data.</summary>
public class VerdictTests
{
    private const string Errors = "divideSeries(stats.api.errors,stats.api.requests)";
    private const string Latency = "stats.timers.api.upper_90";

    private static DeploysOptions Options(bool autoRollback = true, double? floor = null, List<string>? checks = null) => new()
    {
        Window = "5m", Baseline = "30m", MinPoints = 3,
        Services =
        [
            new DeployServiceOptions
            {
                Name = "api", AutoRollback = autoRollback, Checks = checks ?? [],
                Slis =
                [
                    new SliOptions { Name = "error_ratio", Target = Errors, MaxRatio = 2, Floor = floor },
                    new SliOptions { Name = "latency", Target = Latency, MaxRatio = 1.5 },
                ],
                Rollback = new RollbackOptions { Command = ["/bin/true"] },
            },
        ],
    };

    /// <summary>Noisy but steady series (deterministic per slot); after <paramref name="change"/> the values are scaled.</summary>
    private static void Feed(Harness h, Func<long> change, double errorFactor = 1, double latencyFactor = 1)
    {
        static double Noise(long ts, int salt) => (HashCode.Combine(ts, salt) & 0xffff) / 65535.0 - 0.5; // −0.5 … 0.5
        h.Series.Targets[Errors] = ts => 0.01 * (1 + 0.4 * Noise(ts, 1)) * (ts > change() ? errorFactor : 1);
        h.Series.Targets[Latency] = ts => 120 * (1 + 0.2 * Noise(ts, 2)) * (ts > change() ? latencyFactor : 1);
    }

    /// <summary>When the deploy being watched finished (the regression starts there).</summary>
    private static long Finished(Harness h) => h.Service.List("api", "prod", 1).FirstOrDefault()?.FinishedAt?.ToUnixTimeSeconds() ?? long.MaxValue;

    private static async Task<Deploy> DeployAndWatch(Harness h, string version = "v2")
    {
        h.Clock.Advance(TimeSpan.FromMinutes(40)); // history for the baseline
        var started = await h.Mark("start", "api", "prod", version);
        h.Clock.Advance(TimeSpan.FromSeconds(30));
        await h.Mark("finish", "api", "prod", version);
        var d = started.Deploy!;
        await h.RunVerifier(() => d.Verification?.Verdict is not "pending", TimeSpan.FromMinutes(10));
        return d;
    }

    [Fact]
    public async Task Healthy_deploy_passes_only_after_the_whole_window()
    {
        using var h = new Harness(Options());
        Feed(h, () => long.MaxValue);
        var d = await DeployAndWatch(h);
        Assert.Equal(DeployState.Verified, d.State);
        Assert.Equal("pass", d.Verification!.Verdict);
        Assert.True(h.Clock.Now >= d.FinishedAt!.Value.AddMinutes(5), "a pass needs the whole window");
        var sli = d.Verification.Slis.Single(s => s.Name == "error_ratio");
        Assert.Equal(181, sli.BaselinePoints);           // 30 min of 10 s points, both ends included
        Assert.True(sli.PostPoints >= 29);
        Assert.InRange(sli.Ratio!.Value, 0.8, 1.25);
        Assert.NotNull(sli.PValue);
        Assert.Empty(((RecordingRollbackRunner)h.Runner).Requests);
        // the verdict and the time it took are metrics for the Deploys dashboard
        await Poll.UntilAsync(() => h.Metrics.Points.Any(p => p.Path == "deploys.api.prod.time_to_verdict_seconds"), TimeSpan.FromSeconds(10), "the verdict metrics");
        Assert.Equal(1, Assert.Single(h.Metrics.Points, p => p.Path == "deploys.api.prod.verdict.pass").Value);
        Assert.DoesNotContain(h.Metrics.Points, p => p.Path == "deploys.api.prod.verdict.fail");
        var waited = Assert.Single(h.Metrics.Points, p => p.Path == "deploys.api.prod.time_to_verdict_seconds").Value;
        Assert.Equal((d.EndedAt!.Value - d.FinishedAt!.Value).TotalSeconds, waited);
        Assert.True(waited >= 300, $"time to verdict {waited} s: a pass waits the whole 5 min window");
    }

    [Fact]
    public async Task Five_times_the_errors_fails_early_and_rolls_back()
    {
        using var h = new Harness(Options());
        Feed(h, () => Finished(h), errorFactor: 5);
        var d = await DeployAndWatch(h);
        Assert.Equal(DeployState.RolledBack, d.State);
        Assert.Equal("fail", d.Verification!.Verdict);
        var sli = d.Verification.Slis.Single(s => s.Name == "error_ratio");
        Assert.Equal("fail", sli.Verdict);
        Assert.InRange(sli.Ratio!.Value, 3.5, 7);
        Assert.True(sli.PValue < 0.05);
        Assert.Equal("pass", d.Verification.Slis.Single(s => s.Name == "latency").Verdict);
        Assert.True(d.EndedAt!.Value - d.FinishedAt!.Value <= TimeSpan.FromSeconds(60), $"rolled back {(d.EndedAt - d.FinishedAt)} after finish");
        Assert.Contains("error_ratio", d.Verification.Reason);
        await Poll.UntilAsync(() => h.Metrics.Points.Any(p => p.Path == "deploys.api.prod.verdict.fail"), TimeSpan.FromSeconds(10), "the fail verdict metric");
        Assert.DoesNotContain(h.Metrics.Points, p => p.Path == "deploys.api.prod.verdict.pass");
    }

    [Fact]
    public async Task Latency_within_tolerance_passes_and_beyond_it_fails()
    {
        using (var h = new Harness(Options()))
        {
            Feed(h, () => Finished(h), latencyFactor: 1.3);
            var d = await DeployAndWatch(h);
            Assert.Equal("pass", d.Verification!.Verdict); // +30 % is inside the 50 % tolerance
        }
        using (var h = new Harness(Options()))
        {
            Feed(h, () => Finished(h), latencyFactor: 2);
            var d = await DeployAndWatch(h);
            Assert.Equal("fail", d.Verification!.Verdict);
            Assert.Equal("fail", d.Verification.Slis.Single(s => s.Name == "latency").Verdict);
        }
    }

    [Fact]
    public async Task A_restart_blip_and_one_spike_in_the_first_flushes_are_not_a_regression()
    {
        using var h = new Harness(Options());
        Feed(h, () => long.MaxValue);
        var baseErrors = h.Series.Targets[Errors];
        // the first two flushes after finish: 3× and 2.5× the errors (cold caches), then normal again
        h.Series.Targets[Errors] = ts => Finished(h) is var f && ts > f && ts <= f + 20 ? baseErrors(ts) * (ts <= f + 10 ? 3 : 2.5) : baseErrors(ts);
        var d = await DeployAndWatch(h);
        Assert.Equal("pass", d.Verification!.Verdict);
    }

    [Fact]
    public async Task Floor_keeps_a_tiny_absolute_rise_from_failing()
    {
        using var h = new Harness(Options(floor: 0.1)); // errors must exceed 10 % to count
        Feed(h, () => Finished(h), errorFactor: 5); // 1 % → 5 %
        var d = await DeployAndWatch(h);
        Assert.Equal("pass", d.Verification!.Verdict);
    }

    [Fact]
    public async Task Too_little_data_is_inconclusive_not_pass()
    {
        using var h = new Harness(Options());
        Feed(h, () => long.MaxValue);
        h.Series.Targets[Latency] = ts => ts % 120 == 0 ? 100 : null; // one point every 2 min
        var d = await DeployAndWatch(h);
        Assert.Equal("inconclusive", d.Verification!.Verdict);
        Assert.Equal(DeployState.Finished, d.State);
        Assert.Contains("latency", d.Verification.Reason);
        Assert.Contains(h.Alerts.Events, a => a.Summary.Contains("inconclusive"));
    }

    [Fact]
    public async Task Hard_critical_check_after_the_deploy_fails_it()
    {
        using var h = new Harness(Options(checks: ["web1/http"]));
        Feed(h, () => long.MaxValue);
        DateTimeOffset? broke = null;
        h.Checks = new FixedCheckStates((host, check) => host == "web1" && check == "http"
            ? Status(broke != null && h.Clock.Now >= broke ? CheckState.Critical : CheckState.Ok, broke ?? DateTimeOffset.UnixEpoch)
            : null);
        h.Build();
        h.Clock.Advance(TimeSpan.FromMinutes(40));
        var d = (await h.Mark("start", "api", "prod", "v2")).Deploy!;
        await h.Mark("finish", "api", "prod", "v2");
        broke = h.Clock.Now.AddSeconds(25);
        await h.RunVerifier(() => d.Verification?.Verdict is not "pending", TimeSpan.FromMinutes(10));
        Assert.Equal("fail", d.Verification!.Verdict);
        Assert.True(Assert.Single(d.Verification.Checks).Failed);
        Assert.Contains("web1/http is CRITICAL", d.Verification.Reason);
        Assert.Equal(DeployState.RolledBack, d.State);
    }

    [Fact]
    public async Task Check_already_critical_before_the_deploy_does_not_fail_it()
    {
        using var h = new Harness(Options(checks: ["web1/http"]));
        Feed(h, () => long.MaxValue);
        h.Checks = new FixedCheckStates((_, _) => Status(CheckState.Critical, DateTimeOffset.UnixEpoch));
        h.Build();
        var d = await DeployAndWatch(h);
        Assert.Equal("pass", d.Verification!.Verdict);
        Assert.False(Assert.Single(d.Verification.Checks).Failed);
    }

    private static CheckStatus Status(CheckState state, DateTimeOffset changed) => new(
        "web1", "http", "http", state, StateType.Hard, 1, 3, state.ToString(), null, changed, null, changed, changed, null, null, false, 0,
        null, [], false, 0, null, new Dictionary<string, string>());
}
