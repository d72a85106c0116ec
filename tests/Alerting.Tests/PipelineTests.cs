using Observe.Alerting.Pipeline;

namespace Observe.Alerting.Tests;

public class PipelineTests
{
    private static readonly TimeSpan S = TimeSpan.FromSeconds(1);

    [Fact]
    public void Twenty_services_failing_on_one_host_make_one_grouped_notification_per_receiver()
    {
        var h = new PipelineHarness(PipelineHarness.Options(o =>
        {
            o.Receivers.Add(new ReceiverOptions { Name = "irc", Webhook = new() { Url = "http://127.0.0.1:1/" } });
            o.Receivers.Add(new ReceiverOptions { Name = "pager", Webhook = new() { Url = "http://127.0.0.1:1/" } });
            o.Route.Routes =
            [
                new RouteOptions { Receiver = "irc", Continue = true },
                new RouteOptions { Receiver = "pager", Matchers = ["severity=critical"] },
            ];
        }));
        for (var i = 0; i < 20; i++) { h.Fire("web1", $"svc{i:00}"); h.Advance(TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500)); }
        Assert.Empty(h.Sent.All); // still inside group_wait
        h.Advance(TimeSpan.FromSeconds(30));
        var irc = Assert.Single(h.Sent.For("irc"));
        var pager = Assert.Single(h.Sent.For("pager"));
        Assert.Empty(h.Sent.For("ops")); // the root only takes what no child took
        Assert.Equal(20, irc.Alerts.Count);
        Assert.Equal(20, pager.Alerts.Count);
        Assert.Equal("web1", irc.GroupLabels["host"]);
        // Another group_interval with nothing new: nothing more.
        h.Advance(TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(10));
        Assert.Equal(2, h.Sent.All.Count);
    }

    [Fact]
    public void An_alert_resolved_inside_group_wait_is_never_sent_and_a_resolve_goes_out_once_at_the_next_group_interval()
    {
        var h = new PipelineHarness(PipelineHarness.Options());
        h.Fire("web1", "http");
        h.Advance(TimeSpan.FromSeconds(10));
        h.Resolve("web1", "http");
        h.Advance(TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(5));
        Assert.Empty(h.Sent.All);

        h.Fire("web2", "http");
        h.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(NotificationKind.Firing, Assert.Single(h.Sent.All).Kind);
        h.Resolve("web2", "http");
        h.Advance(TimeSpan.FromMinutes(4), TimeSpan.FromSeconds(5));
        Assert.Single(h.Sent.All); // the resolve waits for the group_interval tick
        h.Advance(TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(5));
        var resolved = h.Sent.All.Last();
        Assert.Equal(NotificationKind.Resolved, resolved.Kind);
        Assert.Equal("resolved", Assert.Single(resolved.Alerts).Status);
        h.Advance(TimeSpan.FromHours(5), TimeSpan.FromMinutes(1));
        Assert.Equal(2, h.Sent.All.Count);
        Assert.Empty(h.Pipeline.Active());
    }

    [Fact]
    public void Repeat_interval_resends_a_still_firing_group_and_duplicate_events_do_not()
    {
        var h = new PipelineHarness(PipelineHarness.Options(o => { o.Route.GroupInterval = "1m"; o.Route.RepeatInterval = "1h"; }));
        h.Fire("web1", "http");
        h.Advance(TimeSpan.FromSeconds(30));
        Assert.Single(h.Sent.All);
        // Checks re-notifies (notification_interval): dedup keeps it one alert, no extra notification.
        for (var i = 0; i < 5; i++) { h.Fire("web1", "http", "still down"); h.Advance(TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(10)); }
        Assert.Single(h.Sent.All);
        Assert.True(h.Pipeline.Counters.Deduplicated >= 5);
        h.Advance(TimeSpan.FromMinutes(10) + S, TimeSpan.FromSeconds(10)); // 1 h after the first notification, on a group_interval tick
        Assert.Equal(2, h.Sent.All.Count);
        var repeat = h.Sent.All.Last();
        Assert.Equal("repeat", repeat.Note);
        Assert.Equal("still down", Assert.Single(repeat.Alerts).Summary);
        h.Advance(TimeSpan.FromMinutes(59), TimeSpan.FromSeconds(10));
        Assert.Equal(2, h.Sent.All.Count);
        h.Advance(TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(10));
        Assert.Equal(3, h.Sent.All.Count);
    }

    [Fact]
    public void A_new_alert_in_a_notified_group_waits_for_group_interval_and_the_group_is_sent_whole()
    {
        var h = new PipelineHarness(PipelineHarness.Options());
        h.Fire("web1", "http");
        h.Advance(TimeSpan.FromSeconds(30));
        Assert.Single(h.Sent.All);
        h.Advance(TimeSpan.FromMinutes(1));
        h.Fire("web1", "disk");
        h.Advance(TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(5));
        Assert.Single(h.Sent.All);
        h.Advance(TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(5));
        Assert.Equal(2, h.Sent.All.Count);
        Assert.Equal(["check/web1/disk", "check/web1/http"], h.Sent.All.Last().Alerts.Select(a => a.Key));
    }

    [Fact]
    public void A_silence_mutes_matching_alerts_until_it_ends_and_records_who_and_why()
    {
        var h = new PipelineHarness(PipelineHarness.Options());
        var now = h.Clock.GetUtcNow();
        var silence = h.Pipeline.AddSilence(["host=web1"], now, now + TimeSpan.FromHours(2), "alice", "replacing the disk");
        h.Fire("web1", "http");
        h.Fire("web2", "http");
        h.Advance(TimeSpan.FromMinutes(1));
        var n = Assert.Single(h.Sent.All);
        Assert.Equal("check/web2/http", Assert.Single(n.Alerts).Key);
        var active = h.Pipeline.Active().Single(a => a.Alert.Key == "check/web1/http");
        Assert.Equal(silence.Id, active.SilencedBy);
        h.Advance(TimeSpan.FromMinutes(100), TimeSpan.FromSeconds(30));
        Assert.Single(h.Sent.All);
        h.Advance(TimeSpan.FromMinutes(25), TimeSpan.FromSeconds(30)); // silence over at 2 h: next group_interval tick sends web1
        Assert.Equal(2, h.Sent.All.Count);
        Assert.Equal("check/web1/http", Assert.Single(h.Sent.All.Last().Alerts).Key);
        var added = Assert.Single(h.Pipeline.History.Query(null, "silence_added", 10));
        Assert.Equal("alice", added.Who);
        Assert.Contains("replacing the disk", added.Text);
    }

    [Fact]
    public void Silences_survive_a_restart_and_an_unreadable_file_is_set_aside()
    {
        var dir = Observe.TestSupport.Repo.TempDir("silences");
        var file = Path.Combine(dir, "silences.json");
        var h = new PipelineHarness(PipelineHarness.Options());
        var p1 = new AlertPipeline(PipelineHarness.Options(), h.Sent, h.Clock, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, silenceFile: file);
        var now = h.Clock.GetUtcNow();
        var kept = p1.AddSilence(["host=web1"], now, now.AddHours(2), "alice", "disk swap");
        var ended = p1.AddSilence(["host=web2"], now, now.AddHours(2), "alice", "done early");
        Assert.True(p1.ExpireSilence(ended.Id, "alice"));

        var p2 = new AlertPipeline(PipelineHarness.Options(), h.Sent, h.Clock, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, silenceFile: file);
        var restored = p2.ListSilences();
        Assert.Equal(2, restored.Count);
        Assert.Equal("active", restored.Single(s => s.Id == kept.Id).State(now));
        Assert.Equal("expired", restored.Single(s => s.Id == ended.Id).State(now));
        Assert.Equal("alice", restored[0].CreatedBy);
        Assert.NotNull(p2.Silences.SilencedBy(new Dictionary<string, string> { ["host"] = "web1" }, now));

        File.WriteAllText(file, "{ not json");
        var p3 = new AlertPipeline(PipelineHarness.Options(), h.Sent, h.Clock, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, silenceFile: file);
        Assert.Empty(p3.ListSilences());
        var aside = Assert.Single(Directory.GetFiles(dir, "silences.json.corrupt-*"));
        Assert.Equal("{ not json", File.ReadAllText(aside));
        Assert.Contains(Observe.Durability.StoreQuarantine.Damaged, d => d.MovedTo == aside && d.File == Path.GetFullPath(file));
    }

    [Fact]
    public void A_silence_that_cannot_be_saved_is_refused_and_not_kept()
    {
        var dir = Observe.TestSupport.Repo.TempDir("silences-full");
        var file = Path.Combine(dir, "silences.json");
        var h = new PipelineHarness(PipelineHarness.Options());
        var p = new AlertPipeline(PipelineHarness.Options(), h.Sent, h.Clock, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, silenceFile: file);
        var now = h.Clock.GetUtcNow();
        var kept = p.AddSilence(["host=web1"], now, now.AddHours(2), "alice", "disk swap");
        // The temporary file cannot be created (a directory stands in its way), as when the disk is full or read-only.
        Directory.CreateDirectory(file + ".tmp");
        var e = Assert.Throws<SilenceNotSavedException>(() => p.AddSilence(["host=web2"], now, now.AddHours(2), "alice", "not saved"));
        Assert.Contains("silences.json", e.Message);
        Assert.Equal([kept.Id], p.ListSilences().Select(s => s.Id));
        Assert.Null(p.Silences.SilencedBy(new Dictionary<string, string> { ["host"] = "web2" }, now));
        // Expiring cannot be saved either: the silence stays in effect, as the file says.
        Assert.Throws<SilenceNotSavedException>(() => p.ExpireSilence(kept.Id, "alice"));
        Assert.Equal("active", Assert.Single(p.ListSilences()).State(now));
        Directory.Delete(file + ".tmp");
        var restarted = new AlertPipeline(PipelineHarness.Options(), h.Sent, h.Clock, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, silenceFile: file);
        Assert.Equal([kept.Id], restarted.ListSilences().Select(s => s.Id));
    }

    [Fact]
    public void Expiring_a_silence_lets_the_alert_through_at_the_next_flush()
    {
        var h = new PipelineHarness(PipelineHarness.Options(o => o.Route.GroupInterval = "1m"));
        var now = h.Clock.GetUtcNow();
        var silence = h.Pipeline.AddSilence(["check=~ht.*"], now, now + TimeSpan.FromHours(2), "bob", "maintenance");
        h.Fire("web1", "http");
        h.Advance(TimeSpan.FromMinutes(5));
        Assert.Empty(h.Sent.All);
        Assert.True(h.Pipeline.ExpireSilence(silence.Id, "bob"));
        Assert.False(h.Pipeline.ExpireSilence(silence.Id, "bob"));
        h.Advance(TimeSpan.FromMinutes(1));
        Assert.Single(h.Sent.All);
        Assert.Equal("expired", h.Pipeline.ListSilences().Single().State(h.Clock.GetUtcNow()));
    }

    [Fact]
    public void Host_down_inhibits_that_hosts_services_but_not_other_hosts()
    {
        var h = new PipelineHarness(PipelineHarness.Options(o =>
        {
            o.Route.GroupBy = ["host", "check"];
            o.Route.GroupInterval = "1m";
            o.InhibitRules = [new InhibitRuleOptions { SourceMatchers = ["check=_host"], TargetMatchers = ["check!=_host"], Equal = ["host"] }];
        }));
        h.Fire("web1", "_host");
        h.Fire("web1", "http");
        h.Fire("web1", "disk");
        h.Fire("web2", "http");
        h.Advance(TimeSpan.FromSeconds(31));
        var keys = h.Sent.All.SelectMany(n => n.Alerts).Select(a => a.Key).Order().ToList();
        Assert.Equal(["check/web1/_host", "check/web2/http"], keys);
        Assert.Equal("check/web1/_host", h.Pipeline.Active().Single(a => a.Alert.Key == "check/web1/http").InhibitedBy);
        // The host comes back, its services are still down: now they are told.
        h.Resolve("web1", "_host");
        h.Advance(TimeSpan.FromMinutes(1));
        var after = h.Sent.All.Skip(2).ToList();
        Assert.Contains(after, n => n.Kind == NotificationKind.Resolved && n.Alerts.Single().Key == "check/web1/_host");
        Assert.Contains(after, n => n.Kind == NotificationKind.Firing && n.Alerts.Single().Key == "check/web1/http");
        Assert.Contains(after, n => n.Kind == NotificationKind.Firing && n.Alerts.Single().Key == "check/web1/disk");
    }

    [Fact]
    public void An_unacknowledged_alert_escalates_after_the_step_and_an_acknowledged_one_does_not()
    {
        var h = new PipelineHarness(PipelineHarness.Options(o =>
        {
            o.Route.GroupBy = ["host", "check"];
            o.Route.GroupInterval = "1m";
            o.Receivers.Add(new ReceiverOptions { Name = "secondary", Webhook = new() { Url = "http://127.0.0.1:1/" } });
            o.Receivers.Add(new ReceiverOptions { Name = "manager", Webhook = new() { Url = "http://127.0.0.1:1/" } });
            o.Route.Escalation = [new() { After = "15m", Receiver = "secondary" }, new() { After = "1h", Receiver = "manager" }];
        }));
        h.Fire("web1", "http");
        h.Fire("web2", "http");
        h.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(2, h.Sent.For("ops").Count);
        Assert.Equal(AckResult.Acknowledged, h.Pipeline.Acknowledge("check/web2/http", "carol", "looking at it"));
        Assert.Equal(AckResult.NotFound, h.Pipeline.Acknowledge("check/nope/x", "carol", ""));
        var ack = h.Sent.For("ops").Last();
        Assert.Equal(NotificationKind.Acknowledged, ack.Kind);
        Assert.Contains("carol", ack.Note);
        h.Advance(TimeSpan.FromMinutes(9), TimeSpan.FromSeconds(10));
        Assert.Empty(h.Sent.For("secondary"));
        h.Advance(TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(10)); // 15 min after the alert started
        var esc = Assert.Single(h.Sent.For("secondary"));
        Assert.Equal("check/web1/http", Assert.Single(esc.Alerts).Key);
        Assert.Contains("escalated", esc.Note);
        h.Advance(TimeSpan.FromMinutes(30), TimeSpan.FromSeconds(30));
        Assert.Single(h.Sent.For("secondary"));
        Assert.Empty(h.Sent.For("manager"));
        h.Advance(TimeSpan.FromMinutes(20), TimeSpan.FromSeconds(30));
        Assert.Single(h.Sent.For("manager"));
        // The resolve reaches everyone who was paged.
        h.Resolve("web1", "http");
        h.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(NotificationKind.Resolved, h.Sent.For("secondary").Last().Kind);
        Assert.Equal(NotificationKind.Resolved, h.Sent.For("manager").Last().Kind);
        Assert.Equal(NotificationKind.Resolved, h.Sent.For("ops").Last().Kind);
        Assert.Equal("carol", h.Pipeline.History.Query("check/web2/http", "acknowledged", 5).Single().Who);
    }

    [Fact]
    public async Task An_acknowledgement_announced_by_checks_acknowledges_the_alert_and_stops_escalation()
    {
        var h = new PipelineHarness(PipelineHarness.Options(o =>
        {
            o.Receivers.Add(new ReceiverOptions { Name = "secondary", Webhook = new() { Url = "http://127.0.0.1:1/" } });
            o.Route.Escalation = [new() { After = "15m", Receiver = "secondary" }];
        }));
        h.Fire("web1", "http");
        h.Advance(TimeSpan.FromMinutes(1));
        await h.Pipeline.SendAsync(new AlertEvent("checks", "check/web1/http", AlertStatus.Announcement, "info", "ACKNOWLEDGEMENT web1/http: acknowledged by alice: on it", null,
            new Dictionary<string, string> { ["host"] = "web1", ["check"] = "http", ["notification_type"] = "ACKNOWLEDGEMENT" }, h.Clock.GetUtcNow()), default);
        Assert.Equal(NotificationKind.Announcement, h.Sent.For("ops").Last().Kind);
        Assert.Contains("alice", h.Pipeline.Active().Single().Acknowledgement!.Comment);
        h.Advance(TimeSpan.FromMinutes(30), TimeSpan.FromSeconds(30));
        Assert.Empty(h.Sent.For("secondary"));
    }

    [Fact]
    public async Task Announcements_are_routed_delivered_at_once_and_never_deduplicated_or_silenced()
    {
        var h = new PipelineHarness(PipelineHarness.Options(o =>
        {
            o.Receivers.Add(new ReceiverOptions { Name = "deploys", Webhook = new() { Url = "http://127.0.0.1:1/" } });
            o.Route.Routes = [new RouteOptions { Receiver = "deploys", Matchers = ["source=deploy"] }];
        }));
        var now = h.Clock.GetUtcNow();
        h.Pipeline.AddSilence(["service=shop"], now, now.AddHours(1), "x", "y");
        var labels = new Dictionary<string, string> { ["service"] = "shop", ["env"] = "prod" };
        for (var i = 0; i < 2; i++)
            await h.Pipeline.SendAsync(new AlertEvent("deploy", "deploy/shop/prod", AlertStatus.Announcement, "info", "shop (abc123) is being deployed to prod by matt", null, labels, now), default);
        var sent = h.Sent.For("deploys");
        Assert.Equal(2, sent.Count);
        Assert.All(sent, n => Assert.Equal(NotificationKind.Announcement, n.Kind));
        Assert.Empty(h.Sent.For("ops"));
        Assert.Empty(h.Pipeline.Active());
    }

    [Fact]
    public async Task Bad_events_are_refused_with_a_reason_and_counted()
    {
        var h = new PipelineHarness(PipelineHarness.Options());
        var e = await Assert.ThrowsAsync<ArgumentException>(() => h.Pipeline.SendAsync(new AlertEvent("checks", "", AlertStatus.Firing, "critical", "x", null, new Dictionary<string, string>(), default), default).AsTask());
        Assert.Contains("Key", e.Message);
        Assert.Equal(1, h.Pipeline.Counters.Rejected);
        h.Resolve("never", "fired");
        Assert.Equal(1, h.Pipeline.Counters.UnknownResolves);
    }
}
