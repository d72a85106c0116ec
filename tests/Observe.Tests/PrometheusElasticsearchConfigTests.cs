using System.Collections;
using Observe.Host.Config;

namespace Observe.Observe.Tests;

public class PrometheusElasticsearchConfigTests
{
    [Fact]
    public void Prometheus_remote_write_and_elasticsearch_sections_bind()
    {
        var (c, problems) = ConfigTests.LoadText("""
            prometheus:
              enabled: true
              staleAfterFlushes: 5
              mappings:
                - match: "stats.timers.*.*.mean"
                  name: "timer_mean"
                  labels: {service: "$1", endpoint: "${2}"}
                - {match: "^x\\.(.*)$", matchType: regex, name: "x_$1"}
                - {match: "statsd.*", action: drop}
            sinks:
              remoteWrite:
                - {name: prom, url: "http://127.0.0.1:9090/api/v1/write", bearerToken: "0123456789abcdef0123"}
                - {name: vm, url: "http://127.0.0.1:8428/api/v1/write", enabled: false}
              elasticsearch:
                enabled: true
                url: http://es:9200
                index: "logs-{yyyy.MM}"
                apiKey: "c2VjcmV0OmtleQ=="
            """);
        Assert.Empty(problems);
        Assert.True(c.Prometheus.Enabled);
        Assert.Equal(5, c.Prometheus.StaleAfterFlushes);
        Assert.Equal(3, c.Prometheus.Mappings.Count);
        Assert.Equal("${2}", c.Prometheus.Mappings[0].Labels["endpoint"]);
        Assert.Equal("regex", c.Prometheus.Mappings[1].MatchType);
        Assert.Equal("drop", c.Prometheus.Mappings[2].Action);
        Assert.Equal(["prom", "vm"], c.Sinks.RemoteWrite.Select(r => r.Name));
        Assert.False(c.Sinks.RemoteWrite[1].Enabled);
        Assert.Equal("logs-{yyyy.MM}", c.Sinks.Elasticsearch.Index);
        Assert.Equal("c2VjcmV0OmtleQ==", c.Sinks.Elasticsearch.ApiKey);
    }

    [Fact]
    public void Problems_name_key_and_line_and_never_quote_the_secret()
    {
        var (_, problems) = ConfigTests.LoadText("""
            prometheus:
              mappings:
                - {match: "(", matchType: regex, name: x}
                - {match: "a.*", labels: {"__x": "1"}}
            sinks:
              carbon: {name: prom}
              remoteWrite:
                - {name: prom, url: "ftp://x", password: "hunter2-hunter2"}
              elasticsearch:
                enabled: true
                index: "Logs-{yyyy}"
                username: elastic
                apiKey: "hunter3-hunter3"
            """);
        var byKey = problems.ToDictionary(p => p.KeyPath);
        Assert.Equal(3, byKey["prometheus.mappings[0].match"].Line);
        Assert.Contains("required unless action is drop", byKey["prometheus.mappings[1].name"].Message);
        Assert.True(byKey.ContainsKey("prometheus.mappings[1].labels.__x"));
        Assert.Contains("already the name of another sink", byKey["sinks.remoteWrite[0].name"].Message);
        Assert.True(byKey.ContainsKey("sinks.remoteWrite[0].url"));
        Assert.Contains("lowercase", byKey["sinks.elasticsearch.index"].Message);
        Assert.Contains("not both", byKey["sinks.elasticsearch.apiKey"].Message);
        Assert.DoesNotContain(problems, p => p.ToString().Contains("hunter2") || p.ToString().Contains("hunter3"));
    }
}
