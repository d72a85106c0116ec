using Observe.TestSupport;

namespace Observe.Checks.Tests;

public class ClusterConfigTests
{
    [Fact]
    public void Cluster_settings_are_validated_by_key_path()
    {
        var o = new ChecksOptions { Cluster = new ChecksClusterOptions { Enabled = true, InstanceId = "", CheckinInterval = "100ms", CheckinMisfireThreshold = "later", TablePrefix = "qrtz-" } };
        var p = ChecksConfig.Validate(o).ToDictionary(x => x.KeyPath, x => x.Message);
        Assert.Contains("required", p["checks.cluster.connectionString"]);
        Assert.Contains("required", p["checks.cluster.instanceId"]);
        Assert.Contains("at least 500ms", p["checks.cluster.checkinInterval"]);
        Assert.Contains("not a duration", p["checks.cluster.checkinMisfireThreshold"]);
        Assert.Contains("letters, digits", p["checks.cluster.tablePrefix"]);

        o.Cluster = new ChecksClusterOptions { Enabled = true, ConnectionString = "Hots=db;Password=hunter2" };
        var bad = Assert.Single(ChecksConfig.Validate(o));
        Assert.Equal("checks.cluster.connectionString", bad.KeyPath);
        Assert.DoesNotContain("hunter2", bad.Message); // a secret is never echoed

        o.Cluster = new ChecksClusterOptions { Enabled = true, ConnectionString = "Host=127.0.0.1;Port=5432;Username=observe;Password=x" };
        Assert.Empty(ChecksConfig.Validate(o));
        Assert.Empty(ChecksConfig.Validate(new ChecksOptions())); // off by default: nothing required
    }

    /// <summary>The script shipped for operators is exactly what Quartz itself runs with createSchema (so a Quartz upgrade that changes it fails here).</summary>
    [Fact]
    public void Shipped_schema_script_is_quartz_own_with_the_default_prefix()
    {
        using var stream = typeof(Quartz.IScheduler).Assembly.GetManifestResourceStream("Quartz.Impl.AdoJobStore.Schema.create_postgres.sql");
        Assert.NotNull(stream);
        var quartz = new StreamReader(stream).ReadToEnd().Replace("{0}", "qrtz_").Replace("{1}", "qrtz_");
        var shipped = File.ReadAllText(Path.Combine(Repo.Root, "src", "Checks", "Scheduling", "quartz_tables_postgres.sql"));
        var body = string.Join('\n', shipped.Split('\n').SkipWhile(l => l.StartsWith("-- Observe") || l.StartsWith("-- Run once") || l.StartsWith("-- Below")));
        Assert.Equal(quartz.ReplaceLineEndings("\n"), body.ReplaceLineEndings("\n"));
        Assert.Contains("CREATE TABLE IF NOT EXISTS qrtz_locks", shipped);
    }
}
