using Microsoft.Extensions.Logging.Abstractions;
using Observe.Checks.State;
using Observe.Checks.State.Persistence;
using Observe.TestSupport;

namespace Observe.Checks.Tests;

/// <summary>Availability from a hand-built timeline written to the real state store: two Observe runs with an hour of
/// Observe down between them (unmonitored, not OK), problems, a downtime spanning the outage.</summary>
public class AvailabilityTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-01T00:00:00Z");
    private static DateTimeOffset H(double hours) => T0 + TimeSpan.FromHours(hours);
    private const string Key = "web/http";

    private static string BuildStore()
    {
        var path = Path.Combine(Repo.TempDir("avail"), "state.db");
        // Run 1: 0h → 6h.
        using (var s = new SqliteCheckStateStore(path, H(0), NullLogger.Instance))
        {
            s.Write(Batch(H(3), (0, CheckState.Ok, false), (1, CheckState.Critical, false), (2, CheckState.Ok, false), (3, CheckState.Warning, false)));
            s.Write(Batch(H(6), (3.5, CheckState.Critical, false), (4, CheckState.Ok, false), (5, CheckState.Ok, true), (5.5, CheckState.Critical, true)));
        }
        // Observe down 6h → 7h; run 2: 7h → 10h, the downtime ends at 8h, the problem at 9h.
        using (var s = new SqliteCheckStateStore(path, H(7), NullLogger.Instance))
            s.Write(Batch(H(10), (8, CheckState.Critical, false), (9, CheckState.Ok, false)));
        return path;
    }

    private static StateBatch Batch(DateTimeOffset alive, params (double Hours, CheckState State, bool Downtime)[] spans) =>
        new([], [], spans.Select(x => (Key, new StateSpan(H(x.Hours), x.State, x.Downtime))).ToList(), alive);

    private static AvailabilityReport Report(string path, DateTimeOffset from, DateTimeOffset until)
    {
        using var s = new SqliteCheckStateStore(path, H(100), NullLogger.Instance);
        return Availability.Compute("web", "http", from, until, s.Timeline(Key, from, until), s.Uptime(from, until));
    }

    [Fact]
    public void Whole_timeline_adds_up_with_downtime_and_observe_down_as_their_own_states()
    {
        var r = Report(BuildStore(), H(0), H(10));
        Assert.Equal(4 * 3600, r.OkSeconds, 3);
        Assert.Equal(0.5 * 3600, r.WarningSeconds, 3);
        Assert.Equal(2.5 * 3600, r.CriticalSeconds, 3);
        Assert.Equal(0, r.UnknownSeconds, 3);
        Assert.Equal(2 * 3600, r.DowntimeSeconds, 3);
        Assert.Equal(1 * 3600, r.UnmonitoredSeconds, 3);
        Assert.Equal((40, 5, 25, 20, 10), (r.OkPercent, r.WarningPercent, r.CriticalPercent, r.DowntimePercent, r.UnmonitoredPercent));
        // Problems starting at 1h, 3h (WARNING then CRITICAL: one problem) and 5.5h; repaired after 1h, 1h and 3.5h.
        Assert.Equal(3, r.Problems);
        Assert.Equal(3, r.Recovered);
        Assert.Equal(5.5 * 3600 / 3, r.MttrSeconds!.Value, 3);
    }

    [Fact]
    public void A_window_starts_in_the_state_in_effect_and_time_before_the_first_result_is_unmonitored()
    {
        var path = BuildStore();
        var mid = Report(path, H(1.5), H(2.5));
        Assert.Equal((1800.0, 1800.0, 0, 1, 3600.0), (mid.CriticalSeconds, mid.OkSeconds, mid.Problems, mid.Recovered, mid.MttrSeconds!.Value));
        var before = Report(path, H(-1), H(1));
        Assert.Equal((3600.0, 3600.0), (before.UnmonitoredSeconds, before.OkSeconds));
        var outage = Report(path, H(6.25), H(6.75));
        Assert.Equal(1800, outage.UnmonitoredSeconds, 3);
    }
}
