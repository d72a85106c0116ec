using Observe.Checks.Scheduling;
using Observe.Checks.State.Persistence;

namespace Observe.Checks.State;

/// <summary><see cref="ICheckAvailability"/> from the check engine's stored timeline, one <see cref="Availability"/> report per check and day.</summary>
internal sealed class DailyAvailabilitySource(CheckEngine engine) : ICheckAvailability
{
    public IReadOnlyList<DailyAvailability>? Daily(IReadOnlyCollection<string> checks, int days, DateTimeOffset now)
    {
        if (engine.Persistence?.Store is not { } store) return null;
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var first = today.AddDays(1 - Math.Max(1, days));
        var from = new DateTimeOffset(first.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var uptime = Api.AvailabilityApi.LiveUptime(store, from, now, now);
        var timelines = new List<(CheckEntry Entry, IReadOnlyList<StateSpan> Timeline)>();
        foreach (var key in checks)
        {
            var slash = key.IndexOf('/');
            if (slash > 0 && engine.Find(key[..slash], key[(slash + 1)..]) is { } e)
            {
                var timeline = store.Timeline(e.Key, from, now);
                // Bounded as the availability API is: a flapping check cannot make a public page expensive.
                if (timeline.Count <= StoreRows.MaxTimelineSteps) timelines.Add((e, timeline));
            }
        }
        var result = new List<DailyAvailability>(days);
        for (var day = first; day <= today; day = day.AddDays(1))
        {
            var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            var end = day == today ? now : start.AddDays(1);
            double outage = 0, degraded = 0, maintenance = 0, monitored = 0;
            foreach (var (e, timeline) in timelines)
            {
                var r = Availability.Compute(e.Host, e.Name, start, end, timeline, uptime);
                outage = Math.Max(outage, r.CriticalSeconds + r.UnknownSeconds);
                degraded = Math.Max(degraded, r.WarningSeconds);
                maintenance = Math.Max(maintenance, r.DowntimeSeconds);
                monitored = Math.Max(monitored, (end - start).TotalSeconds - r.UnmonitoredSeconds);
            }
            result.Add(new DailyAvailability(day, outage, degraded, maintenance, monitored));
        }
        return result;
    }
}
