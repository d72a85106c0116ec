using Observe.Checks;
using Observe.Storage;

namespace Observe.DeployMarkers;

/// <summary>Windows and thresholds of one verification, resolved from the service and the defaults.</summary>
internal sealed record JudgeSettings(TimeSpan Window, TimeSpan Baseline, int MinPoints, double Confidence);

/// <summary>
/// Judges one deploy: each SLI's post-deploy window (after finish) against its baseline window (before start), and
/// the service's checks. An SLI fails when its post median moved in the bad direction by more than maxRatio × the
/// baseline median — and so does the one-sided confidence bound of the Hodges-Lehmann shift — beyond the floor, AND a
/// one-sided Mann-Whitney U test says the shift is significant (Kayenta's judgement). A fail is final as soon as it is seen (a clear regression is caught
/// early); pass needs the whole window with enough points in every SLI, else inconclusive.
/// </summary>
internal static class DeployJudge
{
    public static Verification Judge(Deploy d, DeployServiceOptions service, JudgeSettings s, DateTimeOffset now,
        ISeriesQuery series, ICheckStates? checks)
    {
        var finished = d.FinishedAt ?? now;
        long baseFrom = (d.StartedAt - s.Baseline).ToUnixTimeSeconds(), baseUntil = d.StartedAt.ToUnixTimeSeconds();
        long postFrom = finished.ToUnixTimeSeconds(), windowEnd = (finished + s.Window).ToUnixTimeSeconds();
        var postUntil = Math.Min(now.ToUnixTimeSeconds(), windowEnd);
        var complete = now.ToUnixTimeSeconds() >= windowEnd;

        var slis = service.Slis.Select(sli => JudgeSli(sli, series, s, baseFrom, baseUntil, postFrom, postUntil)).ToList();
        var checkResults = service.Checks.Select(c => JudgeCheck(c, checks, d.StartedAt)).ToList();

        string verdict, reason;
        var failed = slis.Where(x => x.Verdict == "fail").Select(x => $"{x.Name}: {x.Reason}")
            .Concat(checkResults.Where(c => c.Failed).Select(c => $"{c.Check} is {c.State}")).ToList();
        if (failed.Count > 0) (verdict, reason) = ("fail", string.Join("; ", failed));
        else if (!complete) (verdict, reason) = ("pending", $"watching until {DateTimeOffset.FromUnixTimeSeconds(windowEnd):HH:mm:ss}Z");
        else if (slis.Count == 0 && checkResults.Count == 0) (verdict, reason) = ("not_verified", "the service declares no SLIs or checks");
        else if (slis.FirstOrDefault(x => x.Verdict == "no_data") is { } nd) (verdict, reason) = ("inconclusive", $"{nd.Name}: {nd.Reason}");
        else (verdict, reason) = ("pass", slis.Count == 0 ? "no check went HARD CRITICAL" : string.Join("; ", slis.Select(x => $"{x.Name}: {x.Reason}")));
        return new Verification(verdict, reason, now, baseFrom, baseUntil, postFrom, postUntil, slis, checkResults);
    }

    internal static SliJudgement JudgeSli(SliOptions sli, ISeriesQuery series, JudgeSettings s, long baseFrom, long baseUntil, long postFrom, long postUntil)
    {
        List<double> baseline, post;
        try
        {
            baseline = Values(series.Evaluate(sli.Target, baseFrom, baseUntil), baseFrom, baseUntil);
            post = postUntil > postFrom ? Values(series.Evaluate(sli.Target, postFrom, postUntil), postFrom + 1, postUntil) : [];
        }
        catch (FormatException e)
        {
            return new(sli.Name, sli.Target, sli.Direction, "no_data", $"target does not evaluate: {e.Message}", 0, null, 0, null, null, sli.MaxRatio, sli.Floor, null, null);
        }
        double? bm = baseline.Count > 0 ? Median(baseline) : null, pm = post.Count > 0 ? Median(post) : null;
        SliJudgement Result(string verdict, string reason, double? ratio = null, double? u = null, double? p = null) =>
            new(sli.Name, sli.Target, sli.Direction, verdict, reason, baseline.Count, bm, post.Count, pm, ratio, sli.MaxRatio, sli.Floor, u, p);
        if (baseline.Count < s.MinPoints || post.Count < s.MinPoints)
            return Result("no_data", $"too few points (baseline {baseline.Count}, after deploy {post.Count}; need {s.MinPoints})");

        var ratio = Ratio(pm!.Value, bm!.Value);
        var alpha = 1 - s.Confidence;
        foreach (var up in sli.Direction switch { "increase" => new[] { true }, "decrease" => [false], _ => [true, false] })
        {
            // Beyond tolerance with confidence: the one-sided bound of the Hodges-Lehmann shift (not just the medians)
            // must lie past maxRatio × the baseline median, as Kayenta requires of its confidence interval.
            var bound = MannWhitney.ShiftBound(post, baseline, s.Confidence, lower: up);
            var limit = up ? (sli.MaxRatio - 1) * Math.Abs(bm.Value) : -(1 - 1 / sli.MaxRatio) * Math.Abs(bm.Value);
            var moved = up ? bound > limit && ratio > sli.MaxRatio : bound < limit && ratio < 1 / sli.MaxRatio;
            var pastFloor = sli.Floor is not { } f || (up ? pm > f : pm < f);
            if (!moved || !pastFloor) continue;
            var (u, p) = MannWhitney.Test(post, baseline, up ? MannWhitney.Alternative.Greater : MannWhitney.Alternative.Less);
            if (p < alpha)
                return Result("fail", $"median {Fmt(pm.Value)} vs baseline {Fmt(bm.Value)} ({Fmt(ratio)}×, at least {Fmt(Ratio(bm.Value + bound, bm.Value))}× with {s.Confidence:P0} confidence; limit {Fmt(up ? sli.MaxRatio : 1 / sli.MaxRatio)}×), Mann-Whitney p={p:0.####}", ratio, u, p);
        }
        var (u0, p0) = MannWhitney.Test(post, baseline, sli.Direction == "decrease" ? MannWhitney.Alternative.Less
            : sli.Direction == "increase" ? MannWhitney.Alternative.Greater : MannWhitney.Alternative.TwoSided);
        return Result("pass", $"median {Fmt(pm.Value)} vs baseline {Fmt(bm.Value)} ({Fmt(ratio)}×)", ratio, u0, p0);
    }

    private static CheckJudgement JudgeCheck(string name, ICheckStates? checks, DateTimeOffset startedAt)
    {
        var parts = name.Split('/', 2);
        if (checks?.Get(parts[0], parts.Length > 1 ? parts[1] : "") is not { } st) return new(name, "unknown check", null, null, false);
        // Only a HARD CRITICAL reached since the deploy started is the deploy's doing; one from before would not roll back.
        var failed = st.State == CheckState.Critical && st.StateType == StateType.Hard && (st.LastHardStateChange ?? st.LastStateChange) >= startedAt;
        return new(name, st.State.ToString().ToUpperInvariant(), st.StateType.ToString().ToUpperInvariant(), st.Output, failed);
    }

    /// <summary>Non-null points with timestamps in [from, until]; several series are averaged per point.</summary>
    private static List<double> Values(IReadOnlyList<QueriedSeries> list, long from, long until)
    {
        var byTs = new SortedDictionary<long, (double Sum, int N)>();
        foreach (var s in list)
            for (var i = 0; i < s.Values.Length; i++)
            {
                var ts = s.Start + i * s.Step;
                if (ts < from || ts > until || s.Values[i] is not { } v || !double.IsFinite(v)) continue;
                byTs[ts] = byTs.TryGetValue(ts, out var a) ? (a.Sum + v, a.N + 1) : (v, 1);
            }
        return byTs.Values.Select(a => a.Sum / a.N).ToList();
    }

    internal static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        var n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static double Ratio(double post, double baseline) =>
        baseline != 0 ? post / baseline : post == 0 ? 1 : post > 0 ? double.PositiveInfinity : 0;

    private static string Fmt(double v) => double.IsInfinity(v) ? "∞" : v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture);
}
