using Observe.Alerting;
using Observe.Checks;
using Observe.Host.Config;
using Observe.Host.WebConsole;

namespace Observe.Tests;

/// <summary>The public status page's uptime bars and incidents from the stages' seams (issue 22 #4).</summary>
public class StatusHistoryTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    private sealed class Alerts(params AlertTransition[] t) : IAlertTimeline
    {
        public IReadOnlyList<AlertTransition> Transitions(string keyPrefix, int max) => t.Where(x => x.Key.StartsWith(keyPrefix)).ToList();
    }

    private sealed class Days : ICheckAvailability
    {
        public List<string[]> Asked { get; } = [];
        public IReadOnlyList<DailyAvailability>? Daily(IReadOnlyCollection<string> checks, int days, DateTimeOffset now)
        {
            Asked.Add([.. checks]);
            var today = DateOnly.FromDateTime(now.UtcDateTime);
            return Enumerable.Range(0, days).Select(i => today.AddDays(i - days + 1)).Select(d =>
                d == today ? new DailyAvailability(d, 3600, 0, 0, 43200)          // an hour down today
                : d == today.AddDays(-1) ? new DailyAvailability(d, 0, 600, 0, 86400)
                : d == today.AddDays(-2) ? new DailyAvailability(d, 0, 0, 7200, 86400)
                : d < today.AddDays(-10) ? new DailyAvailability(d, 0, 0, 0, 0)   // before Observe ran
                : new DailyAvailability(d, 0, 0, 0, 86400)).ToList();
        }
    }

    private static StatusPageOptions Options() => new()
    {
        Components =
        [
            new() { Name = "Storefront", Checks = ["web1/http", "web2/http"] },
            new() { Name = "Search", Checks = ["search1/query"] },
        ],
    };

    private static AlertTransition T(int minutesAgo, string key, bool firing) => new(Now.AddMinutes(-minutesAgo), key, firing);

    [Fact]
    public void Overlapping_alerts_of_a_components_checks_are_one_incident_and_an_unresolved_one_is_ongoing()
    {
        var history = new StatusHistory(Options(), null, new Alerts(
            T(300, "check/web1/http", true), T(290, "check/web2/http", true), T(280, "check/web1/http", false), T(270, "check/web2/http", false),
            T(100, "check/search1/query", true),
            T(50, "check/other/thing", true),                          // not in any component
            T(40, "check/web1/http", false)));                         // a resolve with no firing: no incident
        var incidents = history.Get(Now).Incidents!;
        Assert.Equal(2, incidents.Count);
        Assert.Equal(new StatusHistory.Incident("Search", Now.AddMinutes(-100), null), incidents[0]);   // newest first
        Assert.Equal(new StatusHistory.Incident("Storefront", Now.AddMinutes(-300), Now.AddMinutes(-270)), incidents[1]);
        Assert.Null(history.Get(Now).Uptime); // no stored timeline: no bars (the page leaves them out)
    }

    [Fact]
    public void Ninety_day_bars_say_the_worst_of_each_day_and_uptime_is_of_the_monitored_time()
    {
        var days = new Days();
        var uptime = new StatusHistory(Options(), days, null).Get(Now).Uptime!;
        var storefront = uptime.Single(u => u.Name == "Storefront");
        Assert.Equal([["web1/http", "web2/http"], ["search1/query"]], days.Asked);
        Assert.Equal(90, storefront.Days.Count);
        Assert.Equal(new DateOnly(2026, 12, 7), storefront.Days[^1].Date);
        Assert.Equal(["maintenance", "degraded", "outage"], storefront.Days.TakeLast(3).Select(d => d.Status));
        Assert.Equal(Math.Round(100 * (1 - 3600.0 / 43200), 3), storefront.Days[^1].UptimePercent);
        Assert.Equal("nodata", storefront.Days[0].Status);
        Assert.Null(storefront.Days[0].UptimePercent);
        // 10 full days and half of today monitored, one hour of it down.
        Assert.Equal(Math.Round(100 * (1 - 3600.0 / (10 * 86400 + 43200)), 3), storefront.UptimePercent);
    }

    [Fact]
    public void The_history_is_computed_at_most_once_a_minute()
    {
        var days = new Days();
        var history = new StatusHistory(Options(), days, null);
        var first = history.Get(Now);
        Assert.Same(first, history.Get(Now.AddSeconds(59)));
        Assert.NotSame(first, history.Get(Now.AddSeconds(61)));
    }
}
