using System.Text.Json;
using Observe.Alerting;

namespace Observe.DeployMarkers.Tests;

/// <summary>
/// Issue 14's defects in the verifier and markers: a zero baseline, deploy alerts that never resolved, a rollback
/// blocked by the lock its own deploy script holds, baselines made of an earlier bad deploy, silent pass reasons.
/// </summary>
public class ShopDayTests
{
    private const string Errors = "divideSeries(stats_counts.shop.errors,stats_counts.shop.requests)";
    private const string Latency = "stats.timers.shop.latency.upper_90";

    private static DeploysOptions Options() => new()
    {
        Window = "5m", Baseline = "30m", MinPoints = 3,
        Services =
        [
            new DeployServiceOptions
            {
                Name = "shop", AutoRollback = true,
                Slis =
                [
                    // as docs/configuration.md's example: a healthy shop has no errors at all
                    new SliOptions { Name = "error_ratio", Target = Errors, MaxRatio = 2, Floor = 0.01 },
                    new SliOptions { Name = "latency", Target = Latency, MaxRatio = 1.5 },
                ],
                Rollback = new RollbackOptions { Command = ["/bin/true"] },
            },
        ],
    };

    private static double Noise(long ts, int salt) => (HashCode.Combine(ts, salt) & 0xffff) / 65535.0 - 0.5;

    /// <summary>Zero errors, 120 ms ± 10 %; while <paramref name="bad"/> says so for a slot: 30 % errors and/or latency × factor.</summary>
    private static void Feed(Harness h, Func<long, bool> badErrors, Func<long, double>? latencyFactor = null)
    {
        h.Series.Targets[Errors] = ts => badErrors(ts) ? 0.3 * (1 + 0.2 * Noise(ts, 1)) : 0;
        h.Series.Targets[Latency] = ts => 120 * (1 + 0.2 * Noise(ts, 2)) * (latencyFactor?.Invoke(ts) ?? 1);
    }

    private static async Task<Deploy> Deploy(Harness h, string version, string by = "ci", string? rollbackOf = null)
    {
        var d = (await h.Service.MarkAsync(new MarkerRequest(Event: "start", Service: "shop", Env: "prod", Version: version, By: by, RollbackOf: rollbackOf), by, CancellationToken.None)).Deploy!;
        h.Clock.Advance(TimeSpan.FromSeconds(20));
        await h.Service.MarkAsync(new MarkerRequest(Id: d.Id, Event: "finish", Service: "shop", Env: "prod", Version: version, By: by), by, CancellationToken.None);
        return d;
    }

    private static long After(Deploy d) => d.FinishedAt?.ToUnixTimeSeconds() ?? long.MaxValue;

    [Fact]
    public async Task Zero_error_baseline_and_30_percent_errors_rolls_back_and_every_stored_number_is_finite()
    {
        using var h = new Harness(Options());
        Deploy? bad = null;
        Feed(h, ts => bad != null && ts > After(bad));
        h.Clock.Advance(TimeSpan.FromMinutes(40));
        bad = await Deploy(h, "v2-bad");
        await h.RunVerifier(() => bad.Verification?.Verdict is not "pending", TimeSpan.FromMinutes(6));

        Assert.Equal(DeployState.RolledBack, bad.State);
        Assert.True(bad.EndedAt!.Value - bad.FinishedAt!.Value <= TimeSpan.FromSeconds(60), $"rolled back {bad.EndedAt - bad.FinishedAt} after finish");
        var sli = bad.Verification!.Slis.Single(s => s.Name == "error_ratio");
        Assert.Equal("fail", sli.Verdict);
        Assert.Equal(0, sli.BaselineMedian);
        Assert.Null(sli.Ratio); // no ratio to zero exists: the floor decided
        Assert.Contains("floor", sli.Reason);
        // what the store and GET /api/deploys write: valid JSON, read back the same
        var json = JsonSerializer.Serialize(bad, DeployJson.Options);
        Assert.DoesNotContain("Infinity", json);
        Assert.Equal(DeployState.RolledBack, Assert.Single(h.Store.LoadDeploys(), d => d.Id == bad.Id).State);
        Assert.Contains(h.Alerts.Events, a => a.Status == AlertStatus.Firing && a.Summary.Contains("rolled back"));
    }

    [Fact]
    public void A_number_that_is_not_finite_is_stored_as_null_not_an_exception()
    {
        using var store = DeployStore.InMemory();
        var d = new Deploy
        {
            Id = "d1", Service = "shop", Env = "prod", Version = "v1", By = "ci", StartedAt = DateTimeOffset.UnixEpoch,
            Verification = new Verification("fail", "x", DateTimeOffset.UnixEpoch, 0, 0, 0, 0,
                [new SliJudgement("e", "t", "increase", "fail", "x", 3, 0, 3, 1, double.PositiveInfinity, double.NaN, null, double.NegativeInfinity, 0.01)], []),
        };
        store.Save(d);
        var back = Assert.Single(store.LoadDeploys()).Verification!.Slis[0];
        Assert.Null(back.Ratio);
        Assert.Null(back.U);
        Assert.True(double.IsNaN(back.MaxRatio));
        Assert.Equal(0.01, back.PValue);
    }

    [Fact]
    public async Task Deploy_alert_resolves_on_a_later_passing_deploy_and_the_next_rollback_is_announced_again()
    {
        using var h = new Harness(Options());
        var bads = new List<Deploy>();
        Feed(h, ts => bads.Any(b => ts > After(b) && ts <= (b.EndedAt?.ToUnixTimeSeconds() ?? long.MaxValue)));
        h.Clock.Advance(TimeSpan.FromMinutes(40));
        bads.Add(await Deploy(h, "v2-bad"));
        await h.RunVerifier(() => bads[0].State == DeployState.RolledBack, TimeSpan.FromMinutes(6));
        var first = Assert.Single(h.Alerts.Events, a => a.Status == AlertStatus.Firing);

        h.Clock.Advance(TimeSpan.FromMinutes(5));
        var good = await Deploy(h, "v3");
        await h.RunVerifier(() => good.State == DeployState.Verified, TimeSpan.FromMinutes(6));
        Assert.Equal(DeployState.Verified, good.State);
        var resolved = Assert.Single(h.Alerts.Events, a => a.Status == AlertStatus.Resolved);
        Assert.Equal(first.Key, resolved.Key);

        h.Clock.Advance(TimeSpan.FromMinutes(5));
        bads.Add(await Deploy(h, "v4-bad"));
        await h.RunVerifier(() => bads[1].State == DeployState.RolledBack, TimeSpan.FromMinutes(6));
        Assert.Equal(DeployState.RolledBack, bads[1].State);
        var firing = h.Alerts.Events.Where(a => a.Status == AlertStatus.Firing).ToList();
        Assert.Equal(2, firing.Count);
        // each rollback is its own alert: a firing one can never swallow the next (dedup is by key)
        Assert.NotEqual(firing[0].Key, firing[1].Key);
        Assert.Equal("alert", firing[1].Labels["kind"]);

        // or by hand: the second one is resolved explicitly; nothing left to resolve after that
        var r = await h.Service.ResolveAsync(bads[1].Id, "alice", CancellationToken.None);
        Assert.Equal(200, r.Status);
        Assert.Contains(h.Alerts.Events, a => a.Status == AlertStatus.Resolved && a.Key == firing[1].Key && a.Summary.Contains("resolved by alice"));
        Assert.Equal(409, (await h.Service.ResolveAsync(bads[1].Id, "alice", CancellationToken.None)).Status);
        Assert.Equal(404, (await h.Service.ResolveAsync("nope", "alice", CancellationToken.None)).Status);
    }

    [Fact]
    public async Task Rollback_of_the_lock_holders_deploy_passes_the_lock_and_finish_never_attaches_to_another_deploy()
    {
        using var h = new Harness(Options());
        Feed(h, _ => false);
        await h.Service.LockAsync("prod", "ci", "deploying v2", false, CancellationToken.None);
        h.Clock.Advance(TimeSpan.FromMinutes(40));
        var older = (await h.Mark("start", "shop", "prod", "v1", by: "ci")).Deploy!; // never finished
        var held = (await h.Mark("start", "shop", "prod", "v2", by: "ci")).Deploy!;

        // the rollback runs as someone else (the rollback command's user) while ci still holds the lock
        var rb = await h.Service.MarkAsync(new MarkerRequest(Event: "start", Service: "shop", Env: "prod", Version: "v1", By: "observe", RollbackOf: held.Id), "observe", CancellationToken.None);
        Assert.Equal(201, rb.Status);
        Assert.Equal(held.Id, rb.Deploy!.RollbackOf);
        var fin = await h.Service.MarkAsync(new MarkerRequest(Id: rb.Deploy.Id, Event: "finish", Service: "shop", Env: "prod", Version: "v1", By: "observe"), "observe", CancellationToken.None);
        Assert.Equal(rb.Deploy.Id, fin.Deploy!.Id);
        Assert.Equal(DeployState.Started, older.State);

        // a rollback of someone else's deploy does not pass the lock
        var other = await h.Service.MarkAsync(new MarkerRequest(Event: "start", Service: "shop", Env: "prod", Version: "v0", By: "eve", RollbackOf: "no-such-deploy"), "eve", CancellationToken.None);
        Assert.Equal(409, other.Status);

        // a finish without an id never guesses between deploys: with two started ones it is refused
        var a = (await h.Mark("start", "shop", "prod", "v5", by: "ci")).Deploy!;
        var guess = await h.Service.MarkAsync(new MarkerRequest(Event: "finish", Service: "shop", Env: "prod", Version: "v1", By: "ci"), "ci", CancellationToken.None);
        Assert.NotEqual(older.Id, guess.Deploy?.Id);
        Assert.Equal(DeployState.Started, older.State);
        Assert.Equal(DeployState.Started, a.State);
    }

    [Fact]
    public async Task Baseline_leaves_out_an_earlier_failed_deploys_window_and_every_verdict_says_why()
    {
        using var h = new Harness(Options());
        h.Options.Baseline = "10m";
        Deploy? first = null, second = null;
        // the first deploy makes the shop 10× slower for 6 min until the deploy tool gives up on it; the second is 3× slower
        Feed(h, _ => false, ts =>
            first != null && ts > first.StartedAt.ToUnixTimeSeconds() && ts <= (first.EndedAt?.ToUnixTimeSeconds() ?? long.MaxValue) ? 10
            : second != null && ts > After(second) ? 3 : 1);
        h.Clock.Advance(TimeSpan.FromMinutes(40));
        first = (await h.Mark("start", "shop", "prod", "v2-slow", by: "ci")).Deploy!;
        h.Clock.Advance(TimeSpan.FromMinutes(6));
        await h.Service.MarkAsync(new MarkerRequest(Id: first.Id, Event: "fail", Reason: "health check timed out"), "ci", CancellationToken.None);
        Assert.Equal(DeployState.Failed, first.State);
        h.Clock.Advance(TimeSpan.FromMinutes(1));
        second = await Deploy(h, "v3-slow");
        await h.RunVerifier(() => second.Verification?.Verdict is not "pending", TimeSpan.FromMinutes(6));

        var lat = second.Verification!.Slis.Single(s => s.Name == "latency");
        Assert.Equal("fail", lat.Verdict);
        Assert.InRange(lat.BaselineMedian!.Value, 100, 140); // the slow window is not in it
        Assert.True(lat.BaselinePoints >= 55, $"baseline reaches back past the excluded window: {lat.BaselinePoints} points");
        Assert.Contains("failed deploy window", second.Verification.Reason);
        Assert.Contains("beyond the limit", lat.Reason);
        // a pass says why it is one
        var err = second.Verification.Slis.Single(s => s.Name == "error_ratio");
        Assert.Equal("pass", err.Verdict);
        Assert.Contains("floor", err.Reason);
    }

    [Fact]
    public void A_pass_beyond_the_ratio_names_what_kept_it_from_failing()
    {
        var sli = new SliOptions { Name = "latency", Target = Latency, MaxRatio = 1.5, Floor = 5000 };
        var series = new FunctionSeries();
        series.Targets[Latency] = ts => ts > 1000 ? 1200 : 100 + ts % 7;
        var j = DeployJudge.JudgeSli(sli, series, new JudgeSettings(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10), 3, 0.95), 0, 900, 1000, 1300);
        Assert.Equal("pass", j.Verdict);
        Assert.Contains("not above the floor 5000", j.Reason);
        Assert.True(double.IsFinite(j.Ratio!.Value));
    }
}
