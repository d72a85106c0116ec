using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Observe.Alerting.Pipeline;
using Observe.Alerting.Pipeline.Persistence;
using Observe.TestSupport;

namespace Observe.Alerting.Tests;

/// <summary>
/// Issue 16, cluster: two pipelines (two nodes) sharing their state in a throwaway PostgreSQL 15, on one hand-moved clock.
/// An alert belongs to one node; it follows its producer to another node, the old owner drops it (fenced at its next
/// write, the notification it was about to send included), and a silent node's alerts are adopted with their escalation.
/// A few seconds each.
/// </summary>
public class SharedStateTests
{
    private static readonly Dictionary<string, string> Labels = new() { ["host"] = "web", ["check"] = "http" };

    private static AlertingOptions Options() => PipelineHarness.Options(o =>
    {
        o.Route.Escalation = [new EscalationOptions { After = "10m", Receiver = "boss" }];
        o.Receivers.Add(new ReceiverOptions { Name = "boss", Webhook = new() { Url = "http://127.0.0.1:1/" } });
    });

    private static AlertEvent Firing(DateTimeOffset at) => new("checks", "check/web/http", AlertStatus.Firing, "critical", "web/http is CRITICAL", null, Labels, at);

    /// <summary>A throwaway PostgreSQL with two pipelines (x, y) sharing it on one manual clock, each recording what it sends.</summary>
    private sealed record Pair(PostgresServer Pg, ManualTimeProvider Clock, RecordingQueue SentX, RecordingQueue SentY, AlertPipeline X, AlertPipeline Y)
        : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Pg.DisposeAsync();
    }

    private static async Task<Pair> StartPairAsync(TimeSpan nodeTimeout)
    {
        Assert.True(PostgresServer.IsInstalled, "postgresql-15 is not installed (tests/peers/install.sh)");
        var pg = await PostgresServer.StartAsync();
        var clock = new ManualTimeProvider();
        var (sentX, sentY) = (new RecordingQueue(), new RecordingQueue());
        return new Pair(pg, clock, sentX, sentY, Node(pg, "x", nodeTimeout, sentX, clock), Node(pg, "y", nodeTimeout, sentY, clock));
    }

    private static AlertPipeline Node(PostgresServer pg, string node, TimeSpan timeout, RecordingQueue sent, ManualTimeProvider clock) =>
        new(Options(), sent, clock, NullLogger.Instance, store: new PostgresAlertStateStore(pg.ConnectionString, node, timeout, 1000, clock));

    [Fact]
    public async Task An_alert_follows_its_producer_to_another_node_and_the_old_owner_stops_notifying_about_it()
    {
        await using var pair = await StartPairAsync(TimeSpan.FromHours(1));
        var (_, clock, sentX, sentY, x, y) = pair;
        var started = clock.GetUtcNow();
        await x.SendAsync(Firing(started), default);
        for (var i = 0; i < 60; i++) { clock.Advance(TimeSpan.FromSeconds(1)); x.Tick(); y.Tick(); }
        Assert.Single(sentX.For("ops"));

        // The check failed over to y and re-notifies there: y takes the alert with its log, so nobody is told again.
        await y.SendAsync(Firing(clock.GetUtcNow()), default);
        Assert.Equal(started, Assert.Single(y.Active()).Alert.StartsAt);
        while (clock.GetUtcNow() < started + TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(5)) { clock.Advance(TimeSpan.FromSeconds(1)); x.Tick(); y.Tick(); }
        // The escalation is due on both copies: x finds at its write that y owns the alert and drops it with its page.
        var escalation = Assert.Single(sentX.All.Concat(sentY.All), n => n.Receiver == "boss");
        Assert.Equal(started + TimeSpan.FromMinutes(10), escalation.Time);
        Assert.Single(sentY.For("boss"));
        Assert.Single(sentX.For("ops"));
        Assert.Empty(sentY.For("ops"));
        Assert.Empty(x.Active());
        x.CloseStore();
        y.CloseStore();
    }

    [Fact]
    public async Task An_alert_ack_taken_on_the_node_that_does_not_hold_the_alert_takes_it_and_stops_its_escalation()
    {
        await using var pair = await StartPairAsync(TimeSpan.FromHours(1));
        var (_, clock, sentX, sentY, x, y) = pair;
        var started = clock.GetUtcNow();
        await x.SendAsync(Firing(started), default);
        for (var i = 0; i < 60; i++) { clock.Advance(TimeSpan.FromSeconds(1)); x.Tick(); y.Tick(); }
        Assert.Equal(AckResult.Acknowledged, y.Acknowledge("check/web/http", "alice", "on it"));
        Assert.Equal("alice", Assert.Single(y.Active()).Acknowledgement?.Author);
        Assert.Equal(NotificationKind.Acknowledged, Assert.Single(sentY.For("ops")).Kind);
        while (clock.GetUtcNow() < started + TimeSpan.FromMinutes(11)) { clock.Advance(TimeSpan.FromSeconds(1)); x.Tick(); y.Tick(); }
        Assert.Empty(sentX.For("boss").Concat(sentY.For("boss")));
        Assert.Empty(x.Active());
        x.CloseStore();
        y.CloseStore();
    }

    [Fact]
    public async Task A_silent_nodes_alerts_are_adopted_and_escalate_once_at_their_original_time()
    {
        // Liveness is judged on the database's clock: one real second of silence and the node is given up.
        await using var pair = await StartPairAsync(TimeSpan.FromSeconds(1));
        var (_, clock, sentX, sentY, x, y) = pair;
        var started = clock.GetUtcNow();
        await x.SendAsync(Firing(started), default);
        for (var i = 0; i < 60; i++) { clock.Advance(TimeSpan.FromSeconds(1)); x.Tick(); }
        Assert.Single(sentX.For("ops"));

        // x stops (as after SIGKILL: no more heartbeats); y keeps ticking until it has taken x's alert over.
        await Poll.UntilAsync(() => { clock.Advance(TimeSpan.FromSeconds(1)); y.Tick(); return y.Active().Count == 1; }, TimeSpan.FromSeconds(15), "y adopting x's alert");
        Assert.Equal(started, Assert.Single(y.Active()).Alert.StartsAt);
        Assert.True(clock.GetUtcNow() < started + TimeSpan.FromMinutes(10), "adopted before the escalation is due");
        while (clock.GetUtcNow() < started + TimeSpan.FromMinutes(11)) { clock.Advance(TimeSpan.FromSeconds(1)); y.Tick(); }
        var escalation = Assert.Single(sentY.All);
        Assert.Equal(("boss", started + TimeSpan.FromMinutes(10)), (escalation.Receiver, escalation.Time));
        y.CloseStore();
        x.CloseStore(); // its last write finds the alert taken: nothing more from x
        Assert.Single(sentX.All);
    }

    [Fact]
    public async Task A_silence_made_on_one_node_mutes_the_alert_another_node_owns_until_it_is_expired_there()
    {
        await using var pair = await StartPairAsync(TimeSpan.FromHours(1));
        var (_, clock, sentX, sentY, x, y) = pair;
        var silence = x.AddSilence(["check=http"], clock.GetUtcNow(), clock.GetUtcNow() + TimeSpan.FromHours(1), "alice", "deploy");
        // y hears of it by NOTIFY (real time, not the test's clock).
        await Poll.UntilAsync(() => y.ListSilences().Any(s => s.Id == silence.Id), TimeSpan.FromSeconds(5), "y to list x's silence");
        await y.SendAsync(Firing(clock.GetUtcNow()), default);
        for (var i = 0; i < 60; i++) { clock.Advance(TimeSpan.FromSeconds(1)); x.Tick(); y.Tick(); }
        Assert.Empty(sentY.For("ops"));
        Assert.Equal(silence.Id, Assert.Single(y.Active()).SilencedBy);

        // Expired on y (the owner): x lists it expired too, and y tells ops at its next flush (a silence is applied at flush time).
        Assert.True(y.ExpireSilence(silence.Id, "bob"));
        await Poll.UntilAsync(() => x.ListSilences().Single(s => s.Id == silence.Id).State(clock.GetUtcNow()) == "expired",
            TimeSpan.FromSeconds(5), "x to see the expiry");
        for (var i = 0; i < 305; i++) { clock.Advance(TimeSpan.FromSeconds(1)); x.Tick(); y.Tick(); } // the group interval (5 min)
        Assert.Single(sentY.For("ops"));
        Assert.Empty(sentX.For("ops"));
        x.CloseStore();
        y.CloseStore();
    }

    [Fact]
    public async Task A_group_with_alerts_of_both_nodes_is_told_once_with_both_by_its_owner_and_a_resolve_on_the_other_node_once()
    {
        await using var pair = await StartPairAsync(TimeSpan.FromHours(1));
        var (_, clock, sentX, sentY, x, y) = pair;
        Dictionary<string, string> db = new() { ["host"] = "web", ["check"] = "db" };
        // The route groups by host: web/http (held by x) and web/db (held by y) are one group.
        await x.SendAsync(Firing(clock.GetUtcNow()), default);
        await y.SendAsync(new("checks", "check/web/db", AlertStatus.Firing, "critical", "web/db is CRITICAL", null, db, clock.GetUtcNow()), default);
        Run(clock, TimeSpan.FromMinutes(20), x, y); // group wait and three group intervals
        var told = Assert.Single(sentX.For("ops").Concat(sentY.For("ops")));
        Assert.Equal(["check/web/db", "check/web/http"], told.Alerts.Select(a => a.Key).Order(StringComparer.Ordinal));
        Assert.Equal(2, Assert.Single(sentX.For("boss").Concat(sentY.For("boss"))).Alerts.Count); // escalated once, by the owner too

        // web/db resolves on y, which does not own the group: its owner tells it, once; y lets the alert go.
        await y.SendAsync(new("checks", "check/web/db", AlertStatus.Resolved, "critical", "web/db is OK", null, db, clock.GetUtcNow()), default);
        Run(clock, TimeSpan.FromMinutes(12), x, y);
        var all = sentX.For("ops").Concat(sentY.For("ops")).ToList();
        Assert.Equal(2, all.Count);
        Assert.Equal(["check/web/db:resolved", "check/web/http:firing"], all[1].Alerts.Select(a => $"{a.Key}:{a.Status}").Order(StringComparer.Ordinal));
        Assert.Empty(y.Active());
        Assert.Single(x.Active());
        x.CloseStore();
        y.CloseStore();
    }

    [Fact]
    public async Task A_node_cut_off_from_postgresql_longer_than_the_node_timeout_tells_the_group_it_does_not_own()
    {
        await using var pair = await StartPairAsync(TimeSpan.FromMinutes(1));
        var (pg, clock, sentX, sentY, x, y) = pair;
        await x.SendAsync(Firing(clock.GetUtcNow()), default);
        Run(clock, TimeSpan.FromMinutes(1), x, y); // x made the group host=web first: it owns it
        await y.SendAsync(new("checks", "check/web/db", AlertStatus.Firing, "critical", "web/db is CRITICAL", null,
            new Dictionary<string, string> { ["host"] = "web", ["check"] = "db" }, clock.GetUtcNow()), default);
        Run(clock, TimeSpan.FromMinutes(6), x, y);
        Assert.Empty(sentY.For("ops"));
        Assert.Equal(2, sentX.For("ops").Count); // web/http, then the group with web/db too

        // PostgreSQL goes away. Within the node timeout y leaves the group to its owner; after it, y cannot know whether
        // anybody tells its alert, so it tells it (at worst twice, never none).
        await pg.DisposeAsync();
        Run(clock, TimeSpan.FromSeconds(50), y);
        Assert.Empty(sentY.For("ops"));
        Run(clock, TimeSpan.FromMinutes(6), y);
        Assert.Contains("check/web/db", Assert.Single(sentY.For("ops")).Alerts.Select(a => a.Key));
        x.CloseStore();
        y.CloseStore();
    }

    /// <summary>
    /// The mechanism behind a flake of the test above (once under load: y told x's group at its first tick after PostgreSQL
    /// died, not after the node timeout): a read of the other nodes that failed after it had begun — on a pooled connection
    /// whose server was gone, or by a command timeout — left y not knowing who owns its groups, and a group whose owner is not
    /// known is one this node notifies. A failed read must keep what was read last. Made deterministic here: another session
    /// holds the groups table, so y's read blocks and times out (y's command timeout: 1 s). About 5 s.
    /// </summary>
    [Fact]
    public async Task A_read_of_the_cluster_that_fails_half_way_keeps_who_owns_each_group()
    {
        Assert.True(PostgresServer.IsInstalled, "postgresql-15 is not installed (tests/peers/install.sh)");
        await using var pg = await PostgresServer.StartAsync();
        var clock = new ManualTimeProvider();
        var (sentX, sentY) = (new RecordingQueue(), new RecordingQueue());
        var x = Node(pg, "x", TimeSpan.FromMinutes(1), sentX, clock);
        var yStore = new PostgresAlertStateStore(pg.ConnectionString + ";Command Timeout=1", "y", TimeSpan.FromMinutes(1), 1000, clock);
        var y = new AlertPipeline(Options(), sentY, clock, NullLogger.Instance, store: yStore);
        await x.SendAsync(Firing(clock.GetUtcNow()), default);
        Run(clock, TimeSpan.FromMinutes(1), x, y); // x owns the group host=web
        await y.SendAsync(new("checks", "check/web/db", AlertStatus.Firing, "critical", "web/db is CRITICAL", null,
            new Dictionary<string, string> { ["host"] = "web", ["check"] = "db" }, clock.GetUtcNow()), default);
        Run(clock, TimeSpan.FromSeconds(30), x, y);
        var group = Assert.Single(sentX.For("ops")).GroupKey;
        Assert.Equal("x", yStore.OwnerOf(group));

        await using (var other = new NpgsqlConnection(pg.ConnectionString))
        {
            await other.OpenAsync();
            await using var tx = await other.BeginTransactionAsync();
            await using (var lockGroups = new NpgsqlCommand("LOCK TABLE observe_alert_groups IN ACCESS EXCLUSIVE MODE", other, tx))
                await lockGroups.ExecuteNonQueryAsync();
            Assert.ThrowsAny<NpgsqlException>(() => yStore.ForeignAlerts());
        }
        Assert.False(yStore.CutOff);
        Assert.Equal("x", yStore.OwnerOf(group));
        x.CloseStore();
        y.CloseStore();
    }

    /// <summary>Moves the clock by <paramref name="span"/> in 5 s steps, ticking each node after each step.</summary>
    private static void Run(ManualTimeProvider clock, TimeSpan span, params AlertPipeline[] nodes)
    {
        for (var end = clock.GetUtcNow() + span; clock.GetUtcNow() < end;)
        {
            clock.Advance(TimeSpan.FromSeconds(5));
            foreach (var n in nodes) n.Tick();
        }
    }
}
