namespace Observe.DeployMarkers;

/// <summary>
/// The Mann-Whitney U test as scipy.stats.mannwhitneyu computes it (method auto: exact when a sample has at most
/// 8 values and there are no ties, else the normal approximation with tie correction and continuity correction).
/// </summary>
internal static class MannWhitney
{
    public enum Alternative { TwoSided, Greater, Less }

    /// <summary>U of <paramref name="x"/> (scipy's statistic: U1) and the p-value; <see cref="Alternative.Greater"/> = x tends to be larger.</summary>
    public static (double U, double P) Test(IReadOnlyList<double> x, IReadOnlyList<double> y, Alternative alternative, bool? exact = null)
    {
        int n1 = x.Count, n2 = y.Count;
        if (n1 == 0 || n2 == 0) throw new ArgumentException("both samples need values");
        var all = new (double V, int G)[n1 + n2];
        for (var i = 0; i < n1; i++) all[i] = (x[i], 0);
        for (var i = 0; i < n2; i++) all[n1 + i] = (y[i], 1);
        Array.Sort(all, (a, b) => a.V.CompareTo(b.V));
        double r1 = 0, tieTerm = 0;
        var hasTies = false;
        for (var i = 0; i < all.Length;)
        {
            var j = i;
            while (j + 1 < all.Length && all[j + 1].V == all[i].V) j++;
            var rank = (i + j + 2) / 2.0; // mid-rank of positions i..j (1-based)
            var t = j - i + 1;
            if (t > 1) { hasTies = true; tieTerm += (double)t * t * t - t; }
            for (var k = i; k <= j; k++) if (all[k].G == 0) r1 += rank;
            i = j + 1;
        }
        var u1 = r1 - n1 * (n1 + 1) / 2.0;
        var useExact = exact ?? (Math.Min(n1, n2) <= 8 && !hasTies);
        double p;
        if (useExact && !hasTies) p = ExactP(u1, n1, n2, alternative);
        else
        {
            double n = n1 + n2, mu = n1 * n2 / 2.0;
            var sigma = Math.Sqrt(n1 * n2 / 12.0 * (n + 1 - tieTerm / (n * (n - 1))));
            if (sigma == 0) return (u1, 1.0);
            p = alternative switch
            {
                Alternative.Greater => NormalSf((u1 - mu - 0.5) / sigma),
                Alternative.Less => NormalSf((n1 * n2 - u1 - mu - 0.5) / sigma),
                _ => 2 * NormalSf((Math.Max(u1, n1 * n2 - u1) - mu - 0.5) / sigma),
            };
        }
        return (u1, Math.Clamp(p, 0, 1));
    }

    /// <summary>Exact null distribution of U by counting (no ties): P(U ≥ u) and P(U ≤ u).</summary>
    private static double ExactP(double u1, int n1, int n2, Alternative alternative)
    {
        var counts = Counts(n1, n2);
        double total = counts.Sum();
        double Sf(double u) { double s = 0; for (var k = (int)Math.Ceiling(u); k < counts.Length; k++) s += counts[k]; return s / total; }
        return alternative switch
        {
            Alternative.Greater => Sf(u1),
            Alternative.Less => Sf(n1 * n2 - u1),
            _ => Math.Min(1, 2 * Sf(Math.Max(u1, n1 * n2 - u1))),
        };
    }

    /// <summary>counts[k] = number of arrangements with U = k (recurrence f(m,n,k) = f(m-1,n,k-n) + f(m,n-1,k)).</summary>
    private static double[] Counts(int n1, int n2)
    {
        var max = n1 * n2;
        var f = new double[n1 + 1, n2 + 1][];
        for (var a = 0; a <= n1; a++)
            for (var b = 0; b <= n2; b++)
            {
                var c = new double[a * b + 1];
                if (a == 0 || b == 0) c[0] = 1;
                else
                    for (var k = 0; k <= a * b; k++)
                        c[k] = (k - b >= 0 && k - b < f[a - 1, b].Length ? f[a - 1, b][k - b] : 0) + (k < f[a, b - 1].Length ? f[a, b - 1][k] : 0);
                f[a, b] = c;
            }
        return f[n1, n2].Length == max + 1 ? f[n1, n2] : throw new InvalidOperationException();
    }

    /// <summary>
    /// One-sided confidence bound of the Hodges-Lehmann shift between <paramref name="x"/> and <paramref name="y"/>
    /// (the median of all differences x_i − y_j): the lower bound when <paramref name="lower"/>, else the upper — the
    /// k-th order statistic of the differences with k from the normal approximation of U's distribution. Few points give
    /// a wide interval, so a judgement on it waits for evidence instead of reacting to one or two odd points.
    /// </summary>
    public static double ShiftBound(IReadOnlyList<double> x, IReadOnlyList<double> y, double confidence, bool lower)
    {
        var diffs = new double[x.Count * y.Count];
        var i = 0;
        foreach (var a in x) foreach (var b in y) diffs[i++] = a - b;
        Array.Sort(diffs);
        double n1 = x.Count, n2 = y.Count;
        var k = (int)Math.Floor(n1 * n2 / 2 - NormalQuantile(confidence) * Math.Sqrt(n1 * n2 * (n1 + n2 + 1) / 12));
        k = Math.Clamp(k, 0, diffs.Length - 1);
        return lower ? diffs[k] : diffs[diffs.Length - 1 - k];
    }

    /// <summary>z with Φ(z) = p, by bisection on the accurate tail (p in (0, 1)).</summary>
    public static double NormalQuantile(double p)
    {
        double lo = -40, hi = 40;
        for (var i = 0; i < 200 && hi - lo > 1e-13; i++)
        {
            var mid = (lo + hi) / 2;
            if (1 - NormalSf(mid) < p) lo = mid; else hi = mid;
        }
        return (lo + hi) / 2;
    }

    /// <summary>Survival function of the standard normal, 1 − Φ(z), accurate to ~1e-15 relative.</summary>
    public static double NormalSf(double z) => 0.5 * Erfc(z / Math.Sqrt(2));

    private static double Erfc(double x)
    {
        if (x < 0) return 2 - Erfc(-x);
        if (x < 3)
        {
            // erf(x) = 2/√π · e^{−x²} · Σ (2x²)^n x / (1·3·…·(2n+1)): all terms positive, no cancellation.
            double term = x, sum = x;
            for (var n = 1; n < 200 && term > 1e-17 * sum; n++) { term *= 2 * x * x / (2 * n + 1); sum += term; }
            return 1 - 2 / Math.Sqrt(Math.PI) * Math.Exp(-x * x) * sum;
        }
        // Continued fraction (Lentz) for large x: erfc(x) = e^{−x²}/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))).
        const double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (var i = 1; i < 300; i++)
        {
            var a = i / 2.0;
            d = x + a * d; d = Math.Abs(d) < tiny ? tiny : d; d = 1 / d;
            c = x + a / c; c = Math.Abs(c) < tiny ? tiny : c;
            var delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }
}
