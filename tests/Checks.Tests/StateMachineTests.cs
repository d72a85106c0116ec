using Observe.Checks.State;
using static Observe.Checks.CheckState;

namespace Observe.Checks.Tests;

public class StateMachineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static CheckPolicy Policy(int max = 3, int notifyMinutes = 30) =>
        new(max, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(notifyMinutes), true, 5, 20);

    /// <summary>Drives one machine and renders each step's events compactly: "Alert CRITICAL SOFT 1", "Notification Problem CRITICAL HARD 3", …</summary>
    private sealed class Script(CheckPolicy policy)
    {
        public readonly ServiceStateMachine M = new(policy, T0);
        public DateTimeOffset Now = T0;

        public string[] Check(CheckState s, double minutesLater = 1, HostState host = HostState.Up)
        {
            Now += TimeSpan.FromMinutes(minutesLater);
            return Render(M.Process(s, Now, host));
        }

        public string[] Tick(double minutesLater) { Now += TimeSpan.FromMinutes(minutesLater); return Render(M.Tick(Now)); }

        public static string[] Render(IEnumerable<CheckEvent> events) => events.Select(e => e.Kind switch
        {
            CheckEventKind.Alert => $"Alert {e.State.Upper()} {e.StateType.ToString().ToUpperInvariant()} {e.Attempt}",
            CheckEventKind.Notification when e.SuppressedBy != null => $"Notification {e.Notification} suppressed by {e.SuppressedBy}",
            CheckEventKind.Notification => $"Notification {e.Notification} {e.State.Upper()}",
            _ => e.Kind.ToString(),
        }).ToArray();
    }

    [Fact]
    public void Scripted_service_through_soft_hard_recovery_flapping_ack_and_downtime()
    {
        var s = new Script(Policy());
        // OK → soft → hard CRITICAL
        Assert.Empty(s.Check(Ok));
        Assert.Equal(["Alert CRITICAL SOFT 1"], s.Check(Critical));
        Assert.Equal(TimeSpan.FromMinutes(1), s.M.NextInterval); // retry_interval while soft
        Assert.Equal(["Alert CRITICAL SOFT 2"], s.Check(Critical));
        Assert.Equal(["Alert CRITICAL HARD 3", "Notification Problem CRITICAL"], s.Check(Critical));
        Assert.Equal(TimeSpan.FromMinutes(5), s.M.NextInterval);
        Assert.Empty(s.Check(Critical));                          // within notification_interval
        Assert.Equal(["Notification Problem CRITICAL"], s.Check(Critical, 30)); // re-notification after 30 min
        Assert.Equal(2, s.M.NotificationNumber);
        // HARD → HARD change notifies, and restarts the numbering
        Assert.Equal(["Alert WARNING HARD 3", "Notification Problem WARNING"], s.Check(Warning));
        Assert.Equal(1, s.M.NotificationNumber);
        // hard recovery
        Assert.Equal(["Alert OK HARD 3", "Notification Recovery OK"], s.Check(Ok));
        Assert.Equal((Ok, StateType.Hard, 1), (s.M.State, s.M.StateType, s.M.Attempt));
        // soft retries do not enter the flap history (base/flapping.c): the hard states O,C,C,C,W,O give changes at x=16,19,20
        Assert.Equal(18.09, Math.Round(s.M.PercentStateChange, 2)); // (1.1447+1.2237+1.25)·100/20
        Assert.False(s.M.IsFlapping);                               // undecided between 5 and 20

        // flapping: the soft retries change nothing; the hard CRITICAL adds a fourth change: 23.95 ≥ 20
        Assert.Equal(["Alert CRITICAL SOFT 1"], s.Check(Critical));
        Assert.Equal(["Alert CRITICAL SOFT 2"], s.Check(Critical));
        Assert.Equal(18.09, Math.Round(s.M.PercentStateChange, 2));
        Assert.Equal(["Alert CRITICAL HARD 3", "FlappingStart", "Notification Problem suppressed by flapping"], s.Check(Critical));
        Assert.Equal(23.95, Math.Round(s.M.PercentStateChange, 2));
        for (var k = 1; k <= 18; k++) Assert.Empty(s.Check(Critical)); // changes age out; still > 5 %
        Assert.True(s.M.IsFlapping);
        // the 19th stable result leaves one change at the oldest slot: 0.75·100/20 = 3.75 ≤ 5 → stop, and the still-unnotified problem notifies
        Assert.Equal(["FlappingStop", "Notification Problem CRITICAL"], s.Check(Critical));
        Assert.Equal(3.75, s.M.PercentStateChange, 6);

        // non-sticky acknowledgement: silences re-notification, cleared by the next state change
        Assert.Equal(["Acknowledgement"], Script.Render(s.M.Acknowledge("alice", "looking", sticky: false, s.Now)!));
        Assert.Empty(s.Check(Critical, 31));
        Assert.Equal(["Alert WARNING HARD 3", "AcknowledgementCleared", "Notification Problem WARNING"], s.Check(Warning));
        // sticky acknowledgement survives WARNING → CRITICAL, is cleared by the recovery; the recovery still notifies
        Assert.Equal(["Acknowledgement"], Script.Render(s.M.Acknowledge("bob", "known", sticky: true, s.Now)!));
        Assert.Equal(["Alert CRITICAL HARD 3", "Notification Problem suppressed by acknowledged"], s.Check(Critical));
        Assert.NotNull(s.M.Ack);
        Assert.Equal(["Alert OK HARD 3", "AcknowledgementCleared", "Notification Recovery OK"], s.Check(Ok));
        Assert.Null(s.M.Acknowledge("carol", "nothing to ack", false, s.Now)); // OK cannot be acknowledged
        Assert.False(s.M.IsFlapping);

        for (var i = 0; i < 20; i++) Assert.Empty(s.Check(Ok)); // let the flap history settle
        Assert.Equal(0, s.M.PercentStateChange);

        // fixed downtime: starts on the clock, suppresses the hard problem, which notifies once it has ended
        var (dt, now) = s.M.ScheduleDowntime(s.Now + TimeSpan.FromMinutes(1), s.Now + TimeSpan.FromMinutes(61), true, default, "ops", "deploy", s.Now);
        Assert.Empty(now);
        Assert.Equal(["DowntimeStart"], s.Tick(1));
        Assert.True(s.M.InDowntime);
        Assert.Equal(["Alert CRITICAL SOFT 1"], s.Check(Critical));
        Assert.Equal(["Alert CRITICAL SOFT 2"], s.Check(Critical));
        Assert.Equal(["Alert CRITICAL HARD 3", "Notification Problem suppressed by downtime"], s.Check(Critical));
        Assert.Empty(s.Check(Critical, 30));
        Assert.Equal(["DowntimeEnd"], s.Tick(27));
        Assert.False(s.M.InDowntime);
        Assert.Equal(["Notification Problem CRITICAL"], s.Check(Critical));
        Assert.Equal(["Alert OK HARD 3", "Notification Recovery OK"], s.Check(Ok));
        Assert.Equal(1, dt.Id);
    }

    [Fact]
    public void Soft_recovery_does_not_notify_and_resets_to_hard_ok()
    {
        var s = new Script(Policy());
        Assert.Equal(["Alert UNKNOWN SOFT 1"], s.Check(Unknown));
        Assert.Equal(["Alert OK SOFT 2"], s.Check(Ok));
        Assert.Equal((Ok, StateType.Hard, 1), (s.M.State, s.M.StateType, s.M.Attempt));
        Assert.Empty(s.Check(Ok));
    }

    [Fact]
    public void Soft_state_changes_count_attempts()
    {
        var s = new Script(Policy(max: 4));
        Assert.Equal(["Alert WARNING SOFT 1"], s.Check(Warning));
        Assert.Equal(["Alert CRITICAL SOFT 2"], s.Check(Critical));
        Assert.Equal(["Alert WARNING SOFT 3"], s.Check(Warning));
        Assert.Equal(["Alert WARNING HARD 4", "Notification Problem WARNING"], s.Check(Warning));
    }

    [Fact]
    public void Max_attempts_one_goes_hard_at_once()
    {
        var s = new Script(Policy(max: 1));
        Assert.Equal(["Alert CRITICAL HARD 1", "Notification Problem CRITICAL"], s.Check(Critical));
    }

    [Fact]
    public void Non_ok_service_on_a_down_host_goes_hard_at_once_and_does_not_notify()
    {
        var s = new Script(Policy());
        Assert.Equal(["Alert CRITICAL HARD 1", "Notification Problem suppressed by host not up"], s.Check(Critical, host: HostState.Down));
        Assert.Empty(s.Check(Critical, 60, HostState.Unreachable));
        // no problem was notified, so no recovery either
        Assert.Equal(["Alert OK HARD 1"], s.Check(Ok, host: HostState.Down));
    }

    [Fact]
    public void Host_going_down_during_soft_retries_makes_it_hard()
    {
        var s = new Script(Policy(max: 5));
        Assert.Equal(["Alert CRITICAL SOFT 1"], s.Check(Critical));
        Assert.Equal(["Alert CRITICAL HARD 2", "Notification Problem suppressed by host not up"], s.Check(Critical, host: HostState.Down));
    }

    [Fact]
    public void Notification_interval_zero_notifies_once()
    {
        var s = new Script(Policy(notifyMinutes: 0));
        s.Check(Critical); s.Check(Critical);
        Assert.Equal(["Alert CRITICAL HARD 3", "Notification Problem CRITICAL"], s.Check(Critical));
        Assert.Empty(s.Check(Critical, 600));
    }

    [Fact]
    public void Flexible_downtime_starts_on_the_first_problem_and_lasts_its_duration()
    {
        var s = new Script(Policy(max: 1));
        s.M.ScheduleDowntime(s.Now, s.Now + TimeSpan.FromHours(2), false, TimeSpan.FromMinutes(20), "ops", "maybe", s.Now);
        Assert.Empty(s.Tick(5));
        Assert.False(s.M.InDowntime);
        Assert.Equal(["Alert CRITICAL HARD 1", "DowntimeStart", "Notification Problem suppressed by downtime"], s.Check(Critical));
        Assert.Equal(["DowntimeEnd"], s.Tick(20));
        Assert.Equal(["Notification Problem CRITICAL"], s.Check(Critical));
    }

    [Fact]
    public void Flexible_downtime_that_never_triggers_expires_silently_and_cancel_is_an_event()
    {
        var s = new Script(Policy());
        s.M.ScheduleDowntime(s.Now, s.Now + TimeSpan.FromMinutes(10), false, TimeSpan.FromMinutes(5), "ops", "", s.Now);
        Assert.Empty(s.Tick(11));
        Assert.Empty(s.M.Downtimes);
        var (d, started) = s.M.ScheduleDowntime(s.Now, s.Now + TimeSpan.FromMinutes(10), true, default, "ops", "", s.Now);
        Assert.Equal(["DowntimeStart"], Script.Render(started));
        Assert.Equal(["DowntimeCancelled"], Script.Render(s.M.CancelDowntime(d.Id, s.Now)));
        Assert.False(s.M.InDowntime);
    }

    [Fact]
    public void A_recovery_suppressed_while_flapping_is_sent_when_flapping_stops_with_the_check_ok()
    {
        // Issue 14: lb1/pool recovered during FLAPPINGSTART; FLAPPINGSTOP did not resolve it and the alert fired on.
        // Nagios (set_service_flap / clear_service_flap): a problem notified before flapping gets its recovery at the stop.
        var s = new Script(Policy(max: 1));
        Assert.Equal(["Alert CRITICAL HARD 1", "Notification Problem CRITICAL"], s.Check(Critical));
        string[] last = [];
        for (var k = 0; k < 6 && !s.M.IsFlapping; k++) last = s.Check(k % 2 == 0 ? Ok : Critical);
        Assert.True(s.M.IsFlapping);
        Assert.Contains("FlappingStart", last);
        if (s.M.State != Ok) Assert.Equal(["Alert OK HARD 1", "Notification Recovery suppressed by flapping"], s.Check(Ok));
        Assert.True(s.M.ProblemNotified, "a recovery nobody was told of is still owed");
        string[] stop = [];
        for (var k = 0; k < 25 && s.M.IsFlapping; k++) stop = s.Check(Ok);
        Assert.Equal(["FlappingStop", "Notification Recovery OK"], stop);
        Assert.False(s.M.ProblemNotified);
        Assert.Empty(s.Check(Ok)); // once
    }

    [Fact]
    public void Flap_weights_match_base_flapping_c()
    {
        var h = new CheckState[21];
        Assert.Equal(0, ServiceStateMachine.PercentChange(h, 0));
        for (var i = 0; i < 21; i++) h[i] = i % 2 == 0 ? Ok : Critical;
        Assert.Equal(100, ServiceStateMachine.PercentChange(h, 0), 9); // 20 changes: Σ weights = 20
        var newest = new CheckState[21]; newest[20] = Critical;    // change between the two newest: weight 1.25
        Assert.Equal(6.25, ServiceStateMachine.PercentChange(newest, 0), 9);
        var oldest = new CheckState[21]; oldest[0] = Critical;     // change between the two oldest: weight 0.75
        Assert.Equal(3.75, ServiceStateMachine.PercentChange(oldest, 0), 9);
    }

    [Fact]
    public void Alert_mapping_sends_notifications_and_announcements_only()
    {
        var s = new Script(Policy(max: 2));
        var m = s.M.Process(Critical, T0.AddMinutes(1), HostState.Up).Concat(s.M.Process(Critical, T0.AddMinutes(2), HostState.Up)).ToList();
        var alerts = m.Select(e => AlertMapping.ToAlert(e, "web1", "http", "HTTP CRITICAL\r\nBcc: x", new Dictionary<string, string> { ["team"] = "web" })).OfType<Observe.Alerting.AlertEvent>().ToList();
        var a = Assert.Single(alerts);
        Assert.Equal("check/web1/http", a.Key);
        Assert.Equal(Observe.Alerting.AlertStatus.Firing, a.Status);
        Assert.Equal("critical", a.Severity);
        Assert.Equal("web", a.Labels["team"]);
        Assert.DoesNotContain('\n', a.Summary);
        var rec = AlertMapping.ToAlert(s.M.Process(Ok, T0.AddMinutes(3), HostState.Up).Single(e => e.Kind == CheckEventKind.Notification), "web1", "http", "fine", null)!;
        Assert.Equal(Observe.Alerting.AlertStatus.Resolved, rec.Status);
    }
}
