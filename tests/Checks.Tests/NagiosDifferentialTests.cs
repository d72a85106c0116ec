using System.Diagnostics;
using System.Text.RegularExpressions;
using Observe.Checks.State;
using Observe.TestSupport;
using Xunit.Abstractions;
using static Observe.Checks.CheckState;

namespace Observe.Checks.Tests;

/// <summary>
/// The scripted outcomes run through the real Nagios 4 (Debian nagios4-core) as passive results on its external command
/// file, and through Observe's state machine; the sequences of SERVICE ALERT / SERVICE NOTIFICATION / FLAPPING /
/// DOWNTIME lines must be the same. Nagios: max_check_attempts 3, notification_interval 0 (once), flap thresholds 5/20.
/// </summary>
[Trait("Category", "Peer")] // Nagios 4 runs the same scripted outcomes (a minute): not in ./test.sh --fast
public class NagiosDifferentialTests(ITestOutputHelper output)
{
    private const string Nagios = "/usr/sbin/nagios4";

    /// <summary>One step: a result, an acknowledgement (sticky or not), or a downtime started/cancelled.</summary>
    private sealed record Step(CheckState? Result = null, bool? AckSticky = null, bool? Downtime = null);

    private static IEnumerable<Step> Results(CheckState s, int times) => Enumerable.Repeat(new Step(s), times);

    private static readonly Step[] Script =
    [
        .. Results(Ok, 1), .. Results(Critical, 3),             // OK → SOFT 1, 2 → HARD 3 + notification
        .. Results(Critical, 1), .. Results(Warning, 1),        // HARD → HARD change notifies
        .. Results(Ok, 1),                                      // hard recovery notifies
        .. Results(Unknown, 1), .. Results(Ok, 1),              // soft recovery does not
        .. Results(Critical, 3), .. Results(Ok, 1), .. Results(Critical, 3), // flapping starts
        .. Results(Critical, 20),                               // … and stops as the changes age out
        new Step(AckSticky: false), .. Results(Critical, 1), .. Results(Warning, 1), // non-sticky ack cleared by the change
        new Step(AckSticky: true), .. Results(Critical, 1), .. Results(Ok, 1),        // sticky ack until recovery
        .. Results(Ok, 20),
        new Step(Downtime: true), .. Results(Critical, 3),      // problem in downtime: not notified
        new Step(Downtime: false), .. Results(Critical, 1),     // notified at the first check after the downtime
        .. Results(Ok, 1),
    ];

    [Fact]
    public async Task Nagios4_and_Observe_log_the_same_alerts_notifications_flapping_and_downtime()
    {
        Assert.True(File.Exists(Nagios), "nagios4-core is not installed (tests/peers/install.sh)");
        var observe = RunObserve();
        var nagios = await RunNagiosAsync();
        output.WriteLine("Nagios 4 | Observe:\n  " + string.Join("\n  ", Enumerable.Range(0, Math.Max(nagios.Count, observe.Count))
            .Select(i => $"{nagios.ElementAtOrDefault(i),-28} | {observe.ElementAtOrDefault(i)}")));
        // Alerts (state, type, attempt), notifications, flapping and downtime agree step by step.
        Assert.Contains(nagios, x => x.Contains("FLAPPING STARTED"));
        Assert.Contains(nagios, x => x.Contains("FLAPPING STOPPED"));
        Assert.Equal(nagios, observe);
    }

    private static List<string> RunObserve()
    {
        var now = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var m = new ServiceStateMachine(new CheckPolicy(3, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(1), TimeSpan.Zero, true, 5, 20), now);
        var lines = new List<string>();
        var n = 0;
        foreach (var step in Script)
        {
            now += TimeSpan.FromMinutes(1);
            n++;
            IEnumerable<CheckEvent> events;
            if (step.Result is { } r) events = m.Process(r, now);
            else if (step.AckSticky is { } sticky) events = m.Acknowledge("ops", "looking", sticky, now) ?? [];
            else if (step.Downtime == true) events = m.ScheduleDowntime(now, now + TimeSpan.FromHours(1), true, default, "ops", "deploy", now).Events.Concat(m.Tick(now));
            else events = m.CancelDowntime(m.Downtimes.Single().Id, now);
            lines.AddRange(Normalise(events).Order(StringComparer.Ordinal).Select(l => $"{n}: {l}"));
        }
        return lines;
    }

    private static IEnumerable<string> Normalise(IEnumerable<CheckEvent> events) => events.Select(e => e.Kind switch
        {
            CheckEventKind.Alert => $"ALERT {e.State.Upper()} {e.StateType.ToString().ToUpperInvariant()} {e.Attempt}",
            CheckEventKind.Notification when e.SuppressedBy == null => $"NOTIFY {e.State.Upper()}",
            CheckEventKind.FlappingStart => "FLAPPING STARTED",
            CheckEventKind.FlappingStop => "FLAPPING STOPPED",
            CheckEventKind.DowntimeStart => "DOWNTIME STARTED",
            CheckEventKind.DowntimeEnd => "DOWNTIME STOPPED",
            CheckEventKind.DowntimeCancelled => "DOWNTIME CANCELLED",
            _ => null,
        }).OfType<string>();

    private async Task<List<string>> RunNagiosAsync()
    {
        var dir = Repo.TempDir("nagios4");
        Directory.CreateDirectory(Path.Combine(dir, "checkresults"));
        var cfg = Path.Combine(dir, "nagios.cfg");
        var cmd = Path.Combine(dir, "nagios.cmd");
        await File.WriteAllTextAsync(cfg, $"""
            log_file={dir}/nagios.log
            cfg_file={dir}/objects.cfg
            object_cache_file={dir}/objects.cache
            precached_object_file={dir}/objects.precache
            status_file={dir}/status.dat
            status_update_interval=1
            nagios_user=root
            nagios_group=root
            check_external_commands=1
            command_file={cmd}
            lock_file={dir}/nagios.lock
            temp_file={dir}/nagios.tmp
            temp_path={dir}
            check_result_path={dir}/checkresults
            check_result_reaper_frequency=1
            query_socket={dir}/nagios.qh
            retain_state_information=0
            use_syslog=0
            log_notifications=1
            log_service_retries=1
            log_passive_checks=0
            log_initial_states=0
            enable_notifications=1
            enable_flap_detection=1
            low_service_flap_threshold=5.0
            high_service_flap_threshold=20.0
            accept_passive_service_checks=1
            execute_service_checks=0
            execute_host_checks=0
            check_for_updates=0
            interval_length=1
            """);
        static string Define(string type, params string[] lines) => $"define {type} {{\n  {string.Join("\n  ", lines)}\n}}\n";
        await File.WriteAllTextAsync(Path.Combine(dir, "objects.cfg"), string.Concat(
            Define("command", "command_name notify", "command_line /bin/true"),
            Define("timeperiod", ["timeperiod_name always", "alias always", .. new[] { "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday" }.Select(d => d + " 00:00-24:00")]),
            Define("contact", "contact_name ops", "host_notifications_enabled 0", "service_notifications_enabled 1", "host_notification_period always",
                "service_notification_period always", "host_notification_options n", "service_notification_options w,u,c,r", "host_notification_commands notify", "service_notification_commands notify"),
            Define("host", "host_name web1", "address 127.0.0.1", "max_check_attempts 1", "check_period always", "notification_period always", "contacts ops",
                "active_checks_enabled 0", "passive_checks_enabled 1", "initial_state o"),
            Define("service", "host_name web1", "service_description svc", "check_command notify", "max_check_attempts 3", "check_interval 300", "retry_interval 60",
                "active_checks_enabled 0", "passive_checks_enabled 1", "check_freshness 0", "check_period always", "notification_period always", "notification_interval 0",
                "notification_options w,u,c,r", "first_notification_delay 0", "contacts ops", "flap_detection_enabled 1", "flap_detection_options o,w,c,u",
                "low_flap_threshold 5", "high_flap_threshold 20", "initial_state o")));

        await using var nagios = PeerProcess.Start(Nagios, [cfg], dir, Path.Combine(dir, "nagios.out"));
        await Poll.UntilAsync(() => File.Exists(cmd) && File.Exists(Path.Combine(dir, "status.dat")), TimeSpan.FromSeconds(30), "nagios4 up");
        var n = 0;
        var lines = new List<string>();
        var seen = 0;
        foreach (var step in Script)
        {
            n++;
            var t = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (step.Result is { } r)
            {
                await Command($"[{t}] PROCESS_SERVICE_CHECK_RESULT;web1;svc;{(int)r};step {n} {r.Upper()}");
                await WaitFor($"plugin_output=step {n} {r.Upper()}");
            }
            else if (step.AckSticky is { } sticky)
            {
                await Command($"[{t}] ACKNOWLEDGE_SVC_PROBLEM;web1;svc;{(sticky ? 2 : 1)};0;0;ops;looking");
                await WaitFor("problem_has_been_acknowledged=1");
            }
            else if (step.Downtime == true)
            {
                await Command($"[{t}] SCHEDULE_SVC_DOWNTIME;web1;svc;{t};{t + 3600};1;0;3600;ops;deploy");
                await WaitFor("scheduled_downtime_depth=1");
            }
            else
            {
                await Command($"[{t}] DEL_SVC_DOWNTIME;1");
                await WaitFor("scheduled_downtime_depth=0", requireChange: true);
            }
            // Nagios logs a step's lines before status.dat shows it: they are this step's (sorted: Nagios writes the notification first).
            var log = await File.ReadAllLinesAsync(Path.Combine(dir, "nagios.log"));
            lines.AddRange(Parse(log.Skip(seen)).Order(StringComparer.Ordinal).Select(l => $"{n}: {l}"));
            seen = log.Length;
        }
        return lines;

        static IEnumerable<string> Parse(IEnumerable<string> log)
        {
            foreach (var line in log)
            {
                var m = Regex.Match(line, @"^\[\d+\] (SERVICE (?:ALERT|NOTIFICATION|FLAPPING ALERT|DOWNTIME ALERT)): (.*)$");
                if (!m.Success) continue;
                var f = m.Groups[2].Value.Split(';');
                yield return m.Groups[1].Value switch
                {
                    "SERVICE ALERT" => $"ALERT {f[2]} {f[3]} {f[4]}",
                    "SERVICE NOTIFICATION" => $"NOTIFY {f[3]}",
                    "SERVICE FLAPPING ALERT" => $"FLAPPING {f[2]}",
                    _ => $"DOWNTIME {f[2]}",
                };
            }
        }

        async Task Command(string line)
        {
            // The command file is a FIFO Nagios reads; one write per command.
            await using var w = new StreamWriter(new FileStream(cmd, FileMode.Open, FileAccess.Write));
            await w.WriteLineAsync(line);
        }

        async Task WaitFor(string statusLine, bool requireChange = false)
        {
            var status = Path.Combine(dir, "status.dat");
            var before = requireChange ? File.GetLastWriteTimeUtc(status) : default;
            await Poll.UntilAsync(() =>
            {
                if (requireChange && File.GetLastWriteTimeUtc(status) == before) return false;
                var text = File.ReadAllText(status);
                var svc = text.IndexOf("servicestatus {", StringComparison.Ordinal);
                return svc >= 0 && text.IndexOf("\t" + statusLine + "\n", svc, StringComparison.Ordinal) >= 0;
            }, TimeSpan.FromSeconds(20), $"nagios status {statusLine}");
        }
    }
}
