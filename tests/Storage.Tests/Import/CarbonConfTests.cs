using Observe.Storage.Import;
using Observe.Storage.Tsdb;

namespace Observe.Storage.Tests.Import;

/// <summary>Issue 18: carbon's storage-schemas.conf / storage-aggregation.conf as Observe rules, with carbon's documented examples.</summary>
public class CarbonConfTests
{
    // graphite-carbon's storage-schemas.conf.example and storage-aggregation.conf.example (1.1.7), comments cut.
    private const string Schemas = """
        # Carbon's internal metrics.
        [carbon]
        pattern = ^carbon\.
        retentions = 60:90d

        [default]
        pattern = .*
        retentions = 60s:1d,5m:30d,1h:3y
        """;

    private const string Aggregation = """
        [min]
        pattern = \.min$
        xFilesFactor = 0.1
        aggregationMethod = min

        [max]
        pattern = \.max$
        xFilesFactor = 0.1
        aggregationMethod = max

        [sum]
        pattern = \.count$
        xFilesFactor = 0
        aggregationMethod = max

        [default_average]
        pattern = .*
        xFilesFactor = 0.5
        aggregationMethod = average
        """;

    [Fact]
    public void The_documented_examples_become_the_same_rules_in_the_same_order()
    {
        var problems = new List<string>();
        var yaml = CarbonConf.ToObserveYaml(Schemas, Aggregation, problems);
        Assert.Empty(problems);
        Assert.Contains("""    - {name: 'carbon', pattern: '^carbon\.', retentions: '60:90d'}""", yaml);
        Assert.Contains("""    - {name: 'default', pattern: '.*', retentions: '60s:1d,5m:30d,1h:3y'}""", yaml);
        Assert.Contains("""    - {name: 'min', pattern: '\.min$', xFilesFactor: 0.1, aggregationMethod: min}""", yaml);
        Assert.Contains("""    - {name: 'sum', pattern: '\.count$', xFilesFactor: 0, aggregationMethod: max}""", yaml);
        Assert.True(yaml.IndexOf("'min'", StringComparison.Ordinal) < yaml.IndexOf("'default_average'", StringComparison.Ordinal));
        Assert.DoesNotContain("carbon_default", yaml); // both files end with a catch-all rule
        // The printed rules mean to the store what carbon meant: 60:90d is 60 s for 90 days.
        var rules = new RuleSet(new StorageOptions
        {
            Schemas = [new() { Name = "carbon", Pattern = @"^carbon\.", Retentions = "60:90d" }, new() { Name = "default", Pattern = ".*", Retentions = "60s:1d,5m:30d,1h:3y" }],
            Aggregation = [new() { Name = "sum", Pattern = @"\.count$", XFilesFactor = 0, AggregationMethod = "max" }],
        });
        Assert.Equal([new Archive(60, 90 * 86400)], rules.SchemaFor("carbon.agents.a.cpuUsage").Archives);
        Assert.Equal(3, rules.SchemaFor("web.requests").Archives.Length);
        Assert.Equal(AggMethod.Max, rules.AggregationFor("web.requests.count").Method);
    }

    [Fact]
    public void Without_a_catch_all_carbons_own_fallbacks_are_appended_and_unknown_methods_are_reported()
    {
        var problems = new List<string>();
        var yaml = CarbonConf.ToObserveYaml("[apache_busyWorkers]\npattern = ^servers\\.www.*\\.workers\\.busyWorkers$\nretentions = 15s:7d,1m:21d,15m:5y\n",
            "[z]\npattern = ^zero\\.\naggregationMethod = avg_zero\n[only_pattern]\npattern = ^x\\.\n", problems);
        Assert.Contains("retentions: '15s:7d,1m:21d,15m:5y'", yaml);
        Assert.Contains("{name: carbon_default, pattern: '.*', retentions: '60s:7d'}", yaml);
        Assert.Contains("{name: 'only_pattern', pattern: '^x\\.', xFilesFactor: 0.5, aggregationMethod: average}", yaml);
        Assert.Contains("{name: carbon_default, pattern: '.*', xFilesFactor: 0.5, aggregationMethod: average}", yaml);
        Assert.Contains(problems, p => p.Contains("[z]") && p.Contains("avg_zero"));
        Assert.Contains("# skipped:", yaml);
    }

    [Fact]
    public void A_retention_whisper_would_refuse_is_reported()
    {
        var problems = new List<string>();
        CarbonConf.ToObserveYaml("[bad]\npattern = .*\nretentions = 180s:7d,300s:30d\n", null, problems);
        Assert.Contains(problems, p => p.Contains("[bad]") && p.Contains("multiple"));
    }
}
