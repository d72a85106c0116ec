using Observe.Checks.State.Persistence;

namespace Observe.Checks.State;

/// <summary>Time a check spent in each state over a window (seconds), as Nagios' avail.cgi reports it for hard states.</summary>
internal sealed record AvailabilityReport(
    string Host, string Check, DateTimeOffset From, DateTimeOffset Until,
    double OkSeconds, double WarningSeconds, double CriticalSeconds, double UnknownSeconds, double DowntimeSeconds, double UnmonitoredSeconds,
    double OkPercent, double WarningPercent, double CriticalPercent, double UnknownPercent, double DowntimePercent, double UnmonitoredPercent,
    int Problems, int Recovered, double? MttrSeconds);

/// <summary>
/// Availability from the stored timeline (hard state + downtime steps) and Observe's run records. Each instant of the
/// window is exactly one of: unmonitored (Observe was not running, or the check had no result yet), in downtime, or
/// its hard state (OK/WARNING/CRITICAL/UNKNOWN) — so the six add up to the window. Problems: hard non-OK episodes
/// that started in the window; MTTR: mean time from a problem's start to the hard OK that ended it, over the
/// problems that ended in the window (those that started before it count with their whole duration).
/// </summary>
internal static class Availability
{
    public static AvailabilityReport Compute(string host, string check, DateTimeOffset from, DateTimeOffset until,
        IReadOnlyList<StateSpan> timeline, IReadOnlyList<(DateTimeOffset Start, DateTimeOffset End)> uptime)
    {
        if (until < from) until = from;
        var cuts = new SortedSet<DateTimeOffset> { from, until };
        foreach (var s in timeline) if (s.Time > from && s.Time < until) cuts.Add(s.Time);
        foreach (var (a, b) in uptime)
        {
            if (a > from && a < until) cuts.Add(a);
            if (b > from && b < until) cuts.Add(b);
        }
        Span<double> secs = stackalloc double[6]; // ok, warning, critical, unknown, downtime, unmonitored
        var points = cuts.ToList();
        var si = -1;
        for (var i = 0; i + 1 < points.Count; i++)
        {
            var (t0, t1) = (points[i], points[i + 1]);
            while (si + 1 < timeline.Count && timeline[si + 1].Time <= t0) si++;
            var monitored = uptime.Any(u => u.Start <= t0 && t1 <= u.End);
            var slot = !monitored || si < 0 ? 5 : timeline[si].InDowntime ? 4 : timeline[si].HardState switch
            {
                CheckState.Ok => 0,
                CheckState.Warning => 1,
                CheckState.Critical => 2,
                _ => 3,
            };
            secs[slot] += (t1 - t0).TotalSeconds;
        }

        int problems = 0, recovered = 0;
        double repairs = 0;
        DateTimeOffset? problemStart = null;
        foreach (var s in timeline)
        {
            if (s.HardState != CheckState.Ok)
            {
                if (problemStart == null) { problemStart = s.Time; if (s.Time >= from && s.Time < until) problems++; }
            }
            else if (problemStart is { } p)
            {
                if (s.Time >= from && s.Time < until) { recovered++; repairs += (s.Time - p).TotalSeconds; }
                problemStart = null;
            }
        }
        var total = (until - from).TotalSeconds;
        double Pct(double x) => total > 0 ? Math.Round(x * 100 / total, 3) : 0;
        return new AvailabilityReport(host, check, from, until, secs[0], secs[1], secs[2], secs[3], secs[4], secs[5],
            Pct(secs[0]), Pct(secs[1]), Pct(secs[2]), Pct(secs[3]), Pct(secs[4]), Pct(secs[5]),
            problems, recovered, recovered > 0 ? repairs / recovered : null);
    }

    /// <summary>Sums reports (a host's checks, or all): seconds and problems add up, percentages are of the summed time, MTTR is weighted by recoveries.</summary>
    public static AvailabilityReport Sum(string host, string check, DateTimeOffset from, DateTimeOffset until, IReadOnlyList<AvailabilityReport> reports)
    {
        double ok = reports.Sum(r => r.OkSeconds), w = reports.Sum(r => r.WarningSeconds), c = reports.Sum(r => r.CriticalSeconds),
            u = reports.Sum(r => r.UnknownSeconds), d = reports.Sum(r => r.DowntimeSeconds), n = reports.Sum(r => r.UnmonitoredSeconds);
        var total = ok + w + c + u + d + n;
        double Pct(double x) => total > 0 ? Math.Round(x * 100 / total, 3) : 0;
        var recovered = reports.Sum(r => r.Recovered);
        var repairs = reports.Sum(r => (r.MttrSeconds ?? 0) * r.Recovered);
        return new AvailabilityReport(host, check, from, until, ok, w, c, u, d, n, Pct(ok), Pct(w), Pct(c), Pct(u), Pct(d), Pct(n),
            reports.Sum(r => r.Problems), recovered, recovered > 0 ? repairs / recovered : null);
    }
}
