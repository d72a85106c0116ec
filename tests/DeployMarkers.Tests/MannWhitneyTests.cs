namespace Observe.DeployMarkers.Tests;

/// <summary>Reference values from scipy.stats.mannwhitneyu's documentation and R's wilcox.test.</summary>
public class MannWhitneyTests
{
    private static readonly double[] Males = [19, 22, 16, 29, 24];
    private static readonly double[] Females = [20, 11, 17, 12];

    [Fact]
    public void Scipy_documentation_example_exact()
    {
        // scipy docs: mannwhitneyu(males, females, method="exact") → U1 = 17.0, p = 0.1111111111111111
        var (u, p) = MannWhitney.Test(Males, Females, MannWhitney.Alternative.TwoSided);
        Assert.Equal(17.0, u);
        Assert.Equal(0.1111111111111111, p, 12);
        // one-sided: 7 of the C(9,4) = 126 arrangements have U ≥ 17
        Assert.Equal(7.0 / 126, MannWhitney.Test(Males, Females, MannWhitney.Alternative.Greater).P, 12);
        Assert.Equal(1 - 4.0 / 126, MannWhitney.Test(Males, Females, MannWhitney.Alternative.Less).P, 12); // P(U ≤ 17) = 1 − P(U ≥ 18)
    }

    [Fact]
    public void Scipy_documentation_example_asymptotic()
    {
        // scipy docs: mannwhitneyu(males, females, method="asymptotic") → p = 0.11134688653314041 (continuity-corrected)
        var (u, p) = MannWhitney.Test(Males, Females, MannWhitney.Alternative.TwoSided, exact: false);
        Assert.Equal(17.0, u);
        Assert.Equal(0.11134688653314041, p, 10);
        Assert.Equal(0.11134688653314041 / 2, MannWhitney.Test(Males, Females, MannWhitney.Alternative.Greater, exact: false).P, 10);
    }

    [Fact]
    public void R_wilcox_test_without_exact()
    {
        // R: wilcox.test(c(1,2,3), c(4,5,6), exact=FALSE) → W = 0, p-value = 0.08086
        var (u, p) = MannWhitney.Test([1, 2, 3], [4, 5, 6], MannWhitney.Alternative.TwoSided, exact: false);
        Assert.Equal(0, u);
        Assert.Equal(0.08086, p, 5);
    }

    [Fact]
    public void Ties_use_mid_ranks_and_the_tie_corrected_variance()
    {
        // [1,2,2] vs [2,3,4]: U = 1, σ² = 9/12·(7 − 24/30) = 4.65, z = (|1 − 4.5| − 0.5)/√4.65 → two-sided p = 0.1641597
        var (u, p) = MannWhitney.Test([1, 2, 2], [2, 3, 4], MannWhitney.Alternative.TwoSided);
        Assert.Equal(1.0, u);
        Assert.Equal(0.1641597, p, 6);
    }

    [Fact]
    public void Identical_samples_are_no_evidence()
    {
        var (_, p) = MannWhitney.Test([5, 5, 5, 5, 5, 5, 5, 5, 5], [5, 5, 5, 5, 5, 5, 5, 5, 5], MannWhitney.Alternative.Greater);
        Assert.Equal(1.0, p);
    }

    [Fact]
    public void Normal_tail_is_accurate_far_out()
    {
        // Φ(−z) reference values: 1.3498980316301e-3 (z=3), 2.8665157187919e-7 (z=5), 7.6198530241605e-24 (z=10)
        Assert.Equal(1.3498980316301e-3, MannWhitney.NormalSf(3), 14);
        Assert.True(Math.Abs(MannWhitney.NormalSf(5) / 2.8665157187919e-7 - 1) < 1e-10);
        Assert.True(Math.Abs(MannWhitney.NormalSf(10) / 7.6198530241605e-24 - 1) < 1e-9);
        Assert.Equal(0.5, MannWhitney.NormalSf(0), 15);
        Assert.Equal(0.975002104851780, MannWhitney.NormalSf(-1.96), 13);
    }
}
