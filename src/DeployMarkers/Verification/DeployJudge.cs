using Observe.Checks;
using Observe.Storage;

namespace Observe.DeployMarkers;

/// <summary>
/// Windows and thresholds of one verification, resolved from the service and the defaults. <see cref="AbsentAsZero"/>:
/// which series are StatsD counters (absent = 0, see <see cref="ISeriesQuery"/>); null = none.
/// </summary>
internal sealed record JudgeSettings(TimeSpan Window, TimeSpan Baseline, int MinPoints, double Confidence, Func<string, bool>? AbsentAsZero = null);

/// <summary>
/// Judges one deploy: each SLI's post-deploy window (after finish) against its baseline window (before start), and
/// the service's checks. An SLI fails when its post median moved in the bad direction by more than maxRatio × the
/// baseline median — and so does the one-sided confidence bound of the Hodges-Lehmann shift — beyond the floor, AND a
/// one-sided Mann-Whitney U test says the shift is significant (Kayenta's judgement). With a zero baseline median no
/// ratio exists (it is reported as null): the floor is the test, i.e. the post median must pass the floor (0 when none
/// is set) and the confidence bound of the shift must lie beyond 0. A fail is final as soon as it is seen (a clear
/// regression is caught early); pass needs the whole window with enough points in every SLI, else inconclusive. Windows
/// of earlier deploys that failed or were rolled back are left out of the baseline (it reaches back further by as much),
/// so one bad deploy does not become the next one's idea of normal. Every SLI's reason says why it passed or failed.
/// </summary>
internal static class DeployJudge
{
    public static Verification Judge(Deploy d, DeployServiceOptions service, JudgeSettings s, DateTimeOffset now,
        ISeriesQuery series, ICheckStates? checks, IReadOnlyList<(long From, long Until)>? excluded = null)
    {
        var finished = d.FinishedAt ?? now;
        long baseFrom = (d.StartedAt - s.Baseline).ToUnixTimeSeconds(), baseUntil = d.StartedAt.ToUnixTimeSeconds();
        excluded ??= [];
        baseFrom -= excluded.Sum(w => Math.Max(0, Math.Min(w.Until, baseUntil) - Math.Max(w.From, baseFrom)));
        long postFrom = finished.ToUnixTimeSeconds(), windowEnd = (finished + s.Window).ToUnixTimeSeconds();
        var postUntil = Math.Min(now.ToUnixTimeSeconds(), windowEnd);
        var complete = now.ToUnixTimeSeconds() >= windowEnd;

        var slis = service.Slis.Select(sli => JudgeSli(sli, series, s, baseFrom, baseUntil, postFrom, postUntil, excluded)).ToList();
        var checkResults = service.Checks.Select(c => JudgeCheck(c, checks, d.StartedAt)).ToList();

        string verdict, reason;
        var failed = slis.Where(x => x.Verdict == "fail").Select(x => $"{x.Name}: {x.Reason}")
            .Concat(checkResults.Where(c => c.Failed).Select(c => $"{c.Check} is {c.State}")).ToList();
        if (failed.Count > 0) (verdict, reason) = ("fail", string.Join("; ", failed));
        else if (!complete) (verdict, reason) = ("pending", $"watching until {DateTimeOffset.FromUnixTimeSeconds(windowEnd):HH:mm:ss}Z");
        else if (slis.Count == 0 && checkResults.Count == 0) (verdict, reason) = ("not_verified", "the service declares no SLIs or checks");
        else if (slis.FirstOrDefault(x => x.Verdict == "no_data") is { } nd) (verdict, reason) = ("inconclusive", $"{nd.Name}: {nd.Reason}");
        else (verdict, reason) = ("pass", slis.Count == 0 ? "no check went HARD CRITICAL" : string.Join("; ", slis.Select(x => $"{x.Name}: {x.Reason}")));
        if (excluded.Count > 0 && verdict is "pass" or "fail") reason += $" (baseline leaves out {excluded.Count} failed deploy window{(excluded.Count == 1 ? "" : "s")})";
        return new Verification(verdict, reason, now, baseFrom, baseUntil, postFrom, postUntil, slis, checkResults);
    }

    internal static SliJudgement JudgeSli(SliOptions sli, ISeriesQuery series, JudgeSettings s, long baseFrom, long baseUntil, long postFrom, long postUntil,
        IReadOnlyList<(long From, long Until)>? excluded = null)
    {
        List<double> baseline, post;
        try
        {
            baseline = Values(series.Evaluate(sli.Target, baseFrom, baseUntil, s.AbsentAsZero), baseFrom, baseUntil, excluded);
            post = postUntil > postFrom ? Values(series.Evaluate(sli.Target, postFrom, postUntil, s.AbsentAsZero), postFrom + 1, postUntil, null) : [];
        }
        catch (FormatException e)
        {
            return new(sli.Name, sli.Target, sli.Direction, "no_data", $"target does not evaluate: {e.Message}", 0, null, 0, null, null, sli.MaxRatio, sli.Floor, null, null);
        }
        double? bm = baseline.Count > 0 ? Median(baseline) : null, pm = post.Count > 0 ? Median(post) : null;
        SliJudgement Result(string verdict, string reason, double? ratio = null, double? u = null, double? p = null) =>
            new(sli.Name, sli.Target, sli.Direction, verdict, reason, baseline.Count, bm, post.Count, pm, Finite(ratio), sli.MaxRatio, sli.Floor, Finite(u), Finite(p));
        if (baseline.Count < s.MinPoints || post.Count < s.MinPoints)
            return Result("no_data", $"too few points (baseline {baseline.Count}, after deploy {post.Count}; need {s.MinPoints})");

        double b = bm!.Value, a = pm!.Value;
        var ratio = Ratio(a, b);
        var alpha = 1 - s.Confidence;
        var medians = $"median {Fmt(a)} vs baseline {Fmt(b)} ({(ratio is { } r ? Fmt(r) + "×" : "baseline 0: no ratio")})";
        string? why = null;
        double? whyP = null, whyU = null;
        // Explain the direction the median actually moved in (the other one cannot fail); "either" tries both.
        var directions = sli.Direction switch { "increase" => new[] { true }, "decrease" => [false], _ => [true, false] };
        foreach (var up in directions.OrderBy(up => up == a >= b ? 0 : 1))
        {
            // Beyond tolerance with confidence: the one-sided bound of the Hodges-Lehmann shift (not just the medians)
            // must lie past maxRatio × the baseline median, as Kayenta requires of its confidence interval.
            var bound = MannWhitney.ShiftBound(post, baseline, s.Confidence, lower: up);
            var limit = up ? (sli.MaxRatio - 1) * Math.Abs(b) : -(1 - 1 / sli.MaxRatio) * Math.Abs(b);
            var maxLabel = Fmt(up ? sli.MaxRatio : 1 / sli.MaxRatio) + "×";
            var floor = sli.Floor ?? (b == 0 ? 0 : (double?)null);
            var (u, p) = MannWhitney.Test(post, baseline, up ? MannWhitney.Alternative.Greater : MannWhitney.Alternative.Less);
            string? notFailing =
                b != 0 && !(up ? ratio > sli.MaxRatio : ratio < 1 / sli.MaxRatio) ? $"within the limit {maxLabel}"
                : b != 0 && !(up ? bound > limit : bound < limit) ? $"beyond {maxLabel}, but not with {s.Confidence:P0} confidence (the bound is {Fmt(Ratio(b + bound, b) ?? 0)}×)"
                : floor is { } f && !(up ? a > f : a < f) ? $"{(b == 0 ? "baseline 0, so the floor is the test: " : "")}{(up ? "not above" : "not below")} the floor {Fmt(f)}"
                : b == 0 && !(up ? bound > 0 : bound < 0) ? $"baseline 0: past the floor, but the shift is not beyond 0 with {s.Confidence:P0} confidence"
                : p >= alpha ? $"not significant (Mann-Whitney p={p:0.####} ≥ {alpha:0.##})"
                : null;
            if (notFailing == null)
            {
                var how = b == 0
                    ? $"baseline 0, so the floor is the test: {(up ? "above" : "below")} the floor {Fmt(floor!.Value)}, shift at least {Fmt(bound)} with {s.Confidence:P0} confidence"
                    : $"beyond the limit {maxLabel}, at least {Fmt(Ratio(b + bound, b) ?? 0)}× with {s.Confidence:P0} confidence{(floor is { } f2 ? $", past the floor {Fmt(f2)}" : "")}";
                return Result("fail", $"{medians}: {how}, Mann-Whitney p={p:0.####}", ratio, u, p);
            }
            if (why == null) { why = notFailing; whyU = u; whyP = p; }
        }
        if (!directions.Contains(a >= b)) why = $"moved in the harmless direction ({sli.Direction} is bad)";
        return Result("pass", $"{medians}: {why}", ratio, whyU, whyP);
    }

    private static CheckJudgement JudgeCheck(string name, ICheckStates? checks, DateTimeOffset startedAt)
    {
        var parts = name.Split('/', 2);
        if (checks?.Get(parts[0], parts.Length > 1 ? parts[1] : "") is not { } st) return new(name, "unknown check", null, null, false);
        // Only a HARD CRITICAL reached since the deploy started is the deploy's doing; one from before would not roll back.
        var failed = st.State == CheckState.Critical && st.StateType == StateType.Hard && (st.LastHardStateChange ?? st.LastStateChange) >= startedAt;
        return new(name, st.State.ToString().ToUpperInvariant(), st.StateType.ToString().ToUpperInvariant(), st.Output, failed);
    }

    /// <summary>Non-null points with timestamps in [from, until] outside the excluded windows; several series are averaged per point.</summary>
    private static List<double> Values(IReadOnlyList<QueriedSeries> list, long from, long until, IReadOnlyList<(long From, long Until)>? excluded)
    {
        var byTs = new SortedDictionary<long, (double Sum, int N)>();
        foreach (var s in list)
            for (var i = 0; i < s.Values.Length; i++)
            {
                var ts = s.Start + i * s.Step;
                if (ts < from || ts > until || s.Values[i] is not { } v || !double.IsFinite(v)) continue;
                // A point covers the step before its stamp: one that overlaps an excluded window carries its effect.
                if (excluded != null && excluded.Any(w => ts > w.From && ts - s.Step < w.Until)) continue;
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

    /// <summary>post / baseline; null when the baseline is 0 (no ratio to zero exists: the floor decides then).</summary>
    private static double? Ratio(double post, double baseline) => baseline != 0 ? post / baseline : null;

    private static double? Finite(double? v) => v is { } x && double.IsFinite(x) ? x : null;

    private static string Fmt(double v) => v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture);
}
