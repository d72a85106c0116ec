using Observe.Alerting;

namespace Observe.DeployMarkers.Tests;

/// <summary>Markers, locks, duplicates, unknown services, announcements, events, counters, rollback loops, restarts.</summary>
public class MarkerTests
{
    private const string Errors = "stats.api.error_ratio";

    private static DeploysOptions Options() => new()
    {
        Window = "2m", Baseline = "10m",
        Services =
        [
            new DeployServiceOptions
            {
                Name = "mobile-api", AutoRollback = true,
                Slis = [new SliOptions { Name = "errors", Target = Errors, MaxRatio = 2 }],
                Rollback = new RollbackOptions { Command = ["/bin/true"] },
            },
        ],
    };

    [Fact]
    public async Task Start_and_finish_announce_write_graphite_events_and_count()
    {
        using var h = new Harness(Options());
        var r = await h.Mark("start", "mobile-api", "staging", "6957bb87", by: "Matt", branch: "intlrelease");
        Assert.Equal(201, r.Status);
        Assert.Equal(DeployState.Started, r.Deploy!.State);
        var announce = Assert.Single(h.Alerts.Events);
        Assert.Equal("mobile-api/intlrelease (6957bb87) is being deployed to staging by Matt", announce.Summary);
        Assert.Equal(AlertStatus.Announcement, announce.Status);
        Assert.Equal("deploy", announce.Source);
        Assert.Equal("mobile-api", announce.Labels["service"]);
        Assert.Equal("staging", announce.Labels["env"]);
        Assert.Equal("6957bb87", announce.Labels["version"]);
        Assert.Equal("intlrelease", announce.Labels["branch"]);
        Assert.Equal("Matt", announce.Labels["by"]);

        var f = await h.Mark("finish", "mobile-api", "staging", "6957bb87", by: "Matt");
        Assert.Equal(200, f.Status);
        Assert.Same(r.Deploy, f.Deploy);
        Assert.Equal(DeployState.Finished, f.Deploy!.State);
        Assert.Equal("pending", f.Deploy.Verification!.Verdict);
        Assert.Equal(2, h.Alerts.Events.Count);
        Assert.StartsWith("mobile-api/intlrelease (6957bb87) was deployed to staging by Matt", h.Alerts.Events.Last().Summary);

        var events = h.Events.Find(null, null, ["deploy", "mobile-api", "staging"], null);
        Assert.Equal(2, events.Count);
        Assert.All(events, e => Assert.Equal(["deploy", "mobile-api", "staging"], e.Tags));
        await TestSupport.Poll.UntilAsync(() => h.Metrics.Points.Count >= 2, TimeSpan.FromSeconds(5), "counters");
        Assert.Contains(h.Metrics.Points, p => p.Path == "deploys.mobile-api.staging.started" && p.Value == 1);
        Assert.Contains(h.Metrics.Points, p => p.Path == "deploys.mobile-api.staging.finished" && p.Value == 1);
    }

    [Fact]
    public async Task Lock_held_by_someone_else_refuses_with_409_unless_forced()
    {
        using var h = new Harness(Options());
        Assert.Equal(201, (await h.Service.LockAsync("staging", "alice", "testing payments", false, default)).Status);
        Assert.Equal("staging", Assert.Single(h.Service.Locks()).Env);

        var refused = await h.Mark("start", "mobile-api", "staging", "v2", by: "bob");
        Assert.Equal(409, refused.Status);
        Assert.Equal("staging is locked by alice: testing payments", refused.Error);
        Assert.Equal("alice", refused.Lock!.By);
        Assert.Empty(h.Service.List(null, null, 10));

        // the holder may deploy; another environment is free
        Assert.Equal(201, (await h.Mark("start", "mobile-api", "staging", "v2", by: "alice")).Status);
        Assert.Equal(201, (await h.Mark("start", "mobile-api", "production", "v2", by: "bob")).Status);

        var forced = await h.Mark("start", "mobile-api", "staging", "v3", by: "bob", force: true);
        Assert.Equal(201, forced.Status);
        Assert.Equal("alice", forced.Deploy!.ForcedPastLock!.By);
        Assert.Contains(h.Alerts.Events, a => a.Summary == "mobile-api (v3) is being deployed to staging by bob (forced past the lock held by alice: testing payments)");

        // someone else's lock can't be taken or released without force
        Assert.Equal(409, (await h.Service.LockAsync("staging", "bob", "mine now", false, default)).Status);
        Assert.Equal(409, (await h.Service.UnlockAsync("staging", "bob", false, default)).Status);
        Assert.Equal(200, (await h.Service.UnlockAsync("staging", "alice", false, default)).Status);
        Assert.Empty(h.Service.Locks());
        Assert.Equal(404, (await h.Service.UnlockAsync("staging", "alice", false, default)).Status);
    }

    [Fact]
    public async Task Unknown_service_is_accepted_and_recorded_but_not_verified()
    {
        using var h = new Harness(Options());
        Assert.Equal(201, (await h.Mark("start", "billing", "prod", "1.2.3")).Status);
        var d = (await h.Mark("finish", "billing", "prod", "1.2.3")).Deploy!;
        Assert.False(d.KnownService);
        Assert.Equal(DeployState.Finished, d.State);
        Assert.Equal("not_verified", d.Verification!.Verdict);
        await h.RunVerifier(() => false, TimeSpan.FromMinutes(5));
        Assert.Equal(DeployState.Finished, d.State);
        Assert.Empty(((RecordingRollbackRunner)h.Runner).Requests);
        Assert.Contains("not verified (unknown service)", h.Alerts.Events.Last().Summary);
        Assert.Equal(2, h.Events.Find(null, null, ["deploy", "billing"], null).Count);
    }

    [Fact]
    public async Task Same_client_id_is_the_same_deploy()
    {
        using var h = new Harness(Options());
        var first = await h.Mark("start", "mobile-api", "staging", "v2", id: "ci-4711");
        var again = await h.Mark("start", "mobile-api", "staging", "v2", id: "ci-4711");
        Assert.Equal(201, first.Status);
        Assert.Equal(200, again.Status);
        Assert.Same(first.Deploy, again.Deploy);
        Assert.Single(h.Service.List(null, null, 10));
        Assert.Single(h.Alerts.Events); // a retried request announces nothing again

        var other = await h.Mark("start", "mobile-api", "staging", "v3", id: "ci-4711");
        Assert.Equal(409, other.Status);
        Assert.Equal("id", other.Field);

        Assert.Equal(200, (await h.Mark("finish", "mobile-api", "staging", "v2", id: "ci-4711")).Status);
        Assert.Equal(200, (await h.Mark("finish", "mobile-api", "staging", "v2", id: "ci-4711")).Status);
        Assert.Equal(2, h.Alerts.Events.Count);
        Assert.Equal(2, h.Events.Find(null, null, ["deploy"], null).Count);
    }

    [Theory]
    [InlineData(null, "staging", "v1", "matt", "start", "service")]
    [InlineData("mobile api", "staging", "v1", "matt", "start", "service")]
    [InlineData("mobile-api", "", "v1", "matt", "start", "env")]
    [InlineData("mobile-api", "stag.ing", "v1", "matt", "start", "env")]
    [InlineData("mobile-api", "staging", null, "matt", "start", "version")]
    [InlineData("mobile-api", "staging", "v1\r\nPRIVMSG #ops :owned", "matt", "start", "version")]
    [InlineData("mobile-api", "staging", "v1", null, "start", "by")]
    [InlineData("mobile-api", "staging", "v1", "matt", "deployed", "event")]
    public async Task Malformed_markers_are_refused_naming_the_field(string? service, string? env, string? version, string? by, string ev, string field)
    {
        using var h = new Harness(Options());
        var r = await h.Service.MarkAsync(new MarkerRequest(Event: ev, Service: service, Env: env, Version: version, By: by), by, default);
        Assert.Equal(400, r.Status);
        Assert.Equal(field, r.Field);
        Assert.StartsWith(field + ":", r.Error);
        Assert.Equal(1, h.Service.Rejected);
        Assert.Empty(h.Service.List(null, null, 10));
        Assert.Empty(h.Alerts.Events);
    }

    /// <summary>Issue 15 finding 12: rollbackOf was stored as given (CR/LF and all); a trailing newline also slipped past '$'.</summary>
    [Theory]
    [InlineData("rollbackOf", "20261207-abc\r\nPRIVMSG #ops :owned")]
    [InlineData("rollbackOf", "20261207-abc\n")]
    [InlineData("rollbackOf", "")]
    [InlineData("rollbackOf", "x x")]
    [InlineData("rollbackOf", "a{129}")]
    [InlineData("version", "v1\n")]
    [InlineData("id", "ci-4711\n")]
    public async Task A_rollbackOf_id_or_version_that_is_not_one_line_of_its_characters_is_refused(string field, string value)
    {
        if (value == "a{129}") value = new string('a', 129);
        using var h = new Harness(Options());
        var r = await h.Service.MarkAsync(new MarkerRequest(Service: "mobile-api", Env: "staging", Version: field == "version" ? value : "v1",
            Id: field == "id" ? value : null, RollbackOf: field == "rollbackOf" ? value : null), "matt", default);
        Assert.Equal((400, field), (r.Status, r.Field));
        Assert.Empty(h.Service.List(null, null, 10));
        var ok = await h.Service.MarkAsync(new MarkerRequest(Service: "mobile-api", Env: "staging", Version: "v1", RollbackOf: "20261207031500-1a2b3c4d"), "matt", default);
        Assert.Equal("20261207031500-1a2b3c4d", ok.Deploy!.RollbackOf);
    }

    [Fact]
    public async Task Rollback_gets_the_last_good_version_and_its_own_markers_are_never_rolled_back()
    {
        using var h = new Harness(Options());
        long? badFrom = null;
        h.Series.Targets[Errors] = ts => badFrom is { } b && ts > b ? 0.10 + (ts % 7) * 0.001 : 0.01 + (ts % 7) * 0.001;
        h.Clock.Advance(TimeSpan.FromMinutes(15));

        await h.Mark("start", "mobile-api", "prod", "good1");
        var good = (await h.Mark("finish", "mobile-api", "prod", "good1")).Deploy!;
        await h.RunVerifier(() => good.State != DeployState.Finished, TimeSpan.FromMinutes(5));
        Assert.Equal(DeployState.Verified, good.State);

        h.Clock.Advance(TimeSpan.FromMinutes(15));
        await h.Mark("start", "mobile-api", "prod", "bad2");
        var bad = (await h.Mark("finish", "mobile-api", "prod", "bad2")).Deploy!;
        badFrom = bad.FinishedAt!.Value.ToUnixTimeSeconds();
        await h.RunVerifier(() => bad.State != DeployState.Finished, TimeSpan.FromMinutes(5));
        Assert.Equal(DeployState.RolledBack, bad.State);
        var req = Assert.Single(((RecordingRollbackRunner)h.Runner).Requests);
        Assert.Equal(("bad2", "good1", "prod", "mobile-api"), (req.BadVersion, req.GoodVersion, req.Env, req.Service));
        Assert.True(bad.Rollback!.Succeeded);
        var alert = h.Alerts.Events.Single(a => a.Status == AlertStatus.Firing);
        Assert.Equal("critical", alert.Severity);
        Assert.Contains("rolled back to good1", alert.Summary);
        Assert.Contains(h.Events.Find(null, null, ["deploy"], null), e => e.What.Contains("rolled back"));
        await TestSupport.Poll.UntilAsync(() => h.Metrics.Points.Any(p => p.Path == "deploys.mobile-api.prod.rolled_back"), TimeSpan.FromSeconds(5), "rolled_back counter");

        // The rollback's own deploy (as `observe deploy` run by the rollback command marks it) still fails — but is not rolled back again.
        var rb = (await h.Service.MarkAsync(new MarkerRequest(Event: "start", Service: "mobile-api", Env: "prod", Version: "bad2", By: "observe", RollbackOf: bad.Id), "observe", default)).Deploy!;
        await h.Mark("finish", "mobile-api", "prod", "bad2", by: "observe");
        await h.RunVerifier(() => rb.Verification?.Verdict is not "pending", TimeSpan.FromMinutes(5));
        Assert.Equal("fail", rb.Verification!.Verdict);
        Assert.Equal(DeployState.Finished, rb.State);
        Assert.Single(((RecordingRollbackRunner)h.Runner).Requests);
        Assert.Contains(h.Alerts.Events, a => a.Status == AlertStatus.Firing && a.Summary.Contains("it is itself a rollback"));
    }

    [Fact]
    public async Task A_newer_deploy_ends_the_older_ones_verification()
    {
        using var h = new Harness(Options());
        h.Series.Targets[Errors] = ts => 0.01;
        h.Clock.Advance(TimeSpan.FromMinutes(15));
        await h.Mark("start", "mobile-api", "prod", "v1");
        var v1 = (await h.Mark("finish", "mobile-api", "prod", "v1")).Deploy!;
        h.Clock.Advance(TimeSpan.FromSeconds(30));
        var v2 = (await h.Mark("start", "mobile-api", "prod", "v2")).Deploy!;
        Assert.Equal(v2.Id, v1.SupersededBy);
        Assert.Equal("superseded", v1.Verification!.Verdict);
        await h.Mark("finish", "mobile-api", "prod", "v2");
        await h.RunVerifier(() => v2.State != DeployState.Finished, TimeSpan.FromMinutes(5));
        Assert.Equal(DeployState.Verified, v2.State);
        Assert.Equal("superseded", v1.Verification!.Verdict);
        Assert.Equal(DeployState.Finished, v1.State);
    }

    [Fact]
    public async Task Fail_marker_ends_the_deploy_and_stops_verification()
    {
        using var h = new Harness(Options());
        await h.Mark("start", "mobile-api", "prod", "v1");
        var r = await h.Service.MarkAsync(new MarkerRequest(Event: "fail", Service: "mobile-api", Env: "prod", Version: "v1", By: "ci", Reason: "migrations failed\n"), "ci", default);
        Assert.Equal(DeployState.Failed, r.Deploy!.State);
        Assert.Equal("migrations failed", r.Deploy.FailReason);
        Assert.Equal("deploy of mobile-api (v1) to prod by matt failed: migrations failed", h.Alerts.Events.Last().Summary);
    }

    [Fact]
    public async Task Deploys_and_locks_survive_a_restart_and_verification_resumes()
    {
        var dir = TestSupport.Repo.TempDir("deploys");
        DeployStore store = DeployStore.Open(dir);
        string id;
        var clock = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        using (var h = new Harness(Options(), store: store))
        {
            h.Clock.Now = clock;
            await h.Service.LockAsync("staging", "alice", "payments", false, default);
            await h.Mark("start", "mobile-api", "prod", "v1");
            id = (await h.Mark("finish", "mobile-api", "prod", "v1")).Deploy!.Id;
        }
        using var h2 = new Harness(Options(), store: DeployStore.Open(dir));
        h2.Clock.Now = clock;
        h2.Series.Targets[Errors] = _ => 0.01;
        var d = h2.Service.Get(id)!;
        Assert.Equal(DeployState.Finished, d.State);
        Assert.Equal("alice", Assert.Single(h2.Service.Locks()).By);
        Assert.Equal(409, (await h2.Mark("start", "mobile-api", "staging", "v1", by: "bob")).Status);
        await h2.RunVerifier(() => h2.Service.Get(id)!.State != DeployState.Finished, TimeSpan.FromMinutes(5));
        Assert.Equal(DeployState.Verified, h2.Service.Get(id)!.State);
    }
}

/// <summary>Finding 11 of issue 15: a change that cannot be written is not made (nothing half-done, nothing announced).</summary>
public class FullDiskTests
{
    private static DeploysOptions Options() => new() { Window = "2m", Baseline = "10m" };

    [Fact]
    public async Task A_marker_that_cannot_be_written_is_refused_and_leaves_nothing_in_memory_or_on_disk()
    {
        var dir = TestSupport.Repo.TempDir("deploys-full");
        using (var h = new Harness(Options(), store: DeployStore.Open(dir)))
        {
            var first = (await h.Mark("start", "shop", "prod", "v1")).Deploy!;
            h.Store.FailWritesForTests();
            var announced = h.Alerts.Events.Count;

            // A new deploy (which would also supersede v1) cannot be written: refused, v1 untouched, nothing announced.
            var e = await Assert.ThrowsAsync<DeployNotSavedException>(() => h.Mark("start", "shop", "prod", "v2"));
            Assert.Contains("deploys.db", e.Message);
            Assert.Equal(["v1"], h.Service.List("shop", "prod", 10).Select(d => d.Version));
            Assert.Null(h.Service.Get(first.Id)!.SupersededBy);
            Assert.Equal(announced, h.Alerts.Events.Count);

            // A finish of v1 cannot be written either: v1 stays started.
            await Assert.ThrowsAsync<DeployNotSavedException>(() => h.Mark("finish", "shop", "prod", "v1"));
            Assert.Equal(DeployState.Started, h.Service.Get(first.Id)!.State);
            Assert.Null(h.Service.Get(first.Id)!.FinishedAt);

            // A lock that cannot be written is not held.
            await Assert.ThrowsAsync<DeployNotSavedException>(() => h.Service.LockAsync("prod", "alice", "db migration", false, default));
            Assert.Empty(h.Service.Locks());
        }
        // What was acknowledged is what is there after a restart.
        using var h2 = new Harness(Options(), store: DeployStore.Open(dir));
        var after = Assert.Single(h2.Service.List("shop", "prod", 10));
        Assert.Equal(("v1", DeployState.Started), (after.Version, after.State));
    }
}
