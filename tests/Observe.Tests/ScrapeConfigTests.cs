using System.Collections;
using Observe.Host.Config;

namespace Observe.Observe.Tests;

/// <summary>The <c>scrape:</c> section as observe.yaml spells it (docs/configuration.md#scrape).</summary>
public class ScrapeConfigTests
{
    [Fact]
    public void The_documented_example_binds_with_a_header_secret_from_a_file_and_the_environment()
    {
        var secret = Path.Combine(Path.GetTempPath(), $"observe-scrape-secret-{Guid.NewGuid():N}");
        File.WriteAllText(secret, "Bearer from-file\n");
        try
        {
            var (c, problems) = ConfigTests.LoadText($$"""
                scrape:
                  targets:
                    - job: cart
                      instance: web1
                      url: http://10.0.0.5:8080/stats
                      include: ["counters.**"]
                    - job: node
                      url: https://db1:9100/metrics
                      format: prometheus
                      headers:
                        - name: Authorization
                          valueFile: {{secret}}
                      tls: { insecureSkipVerify: true }
                    - job: nginx
                      url: http://127.0.0.1/nginx_status
                      format: nginx
                      headers: [{ name: X-Token, value: placeholder }]
                """, new Hashtable { ["OBSERVE__Scrape__Targets__2__Headers__0__Value"] = "from-env" });
            Assert.Empty(problems);
            Assert.Equal("scrape.cart.web1", c.Scrape.Targets[0].EffectivePrefix());
            Assert.Equal("scrape.node.db1_9100", c.Scrape.Targets[1].EffectivePrefix());
            Assert.Equal("Bearer from-file", c.Scrape.Targets[1].Headers[0].Value);
            Assert.True(c.Scrape.Targets[1].Tls.InsecureSkipVerify);
            Assert.Equal("from-env", c.Scrape.Targets[2].Headers[0].Value);
            Assert.Equal("10s", c.Scrape.Targets[2].Interval);
        }
        finally { File.Delete(secret); }
    }

    [Fact]
    public void Problems_name_the_key_and_line()
    {
        var (_, problems) = ConfigTests.LoadText("""
            scrape:
              maxJsonDepth: 0
              targets:
                - job: cart
                  url: gopher://x
                  format: xml
                  timeout: 20s
            """);
        Assert.Contains(problems, p => p.KeyPath == "scrape.maxJsonDepth" && p.Line == 2);
        Assert.Contains(problems, p => p.KeyPath == "scrape.targets[0].url" && p.Line == 5);
        Assert.Contains(problems, p => p.KeyPath == "scrape.targets[0].format" && p.Line == 6);
        Assert.Contains(problems, p => p.KeyPath == "scrape.targets[0].timeout" && p.Message.Contains("interval"));
    }

    [Fact]
    public void A_target_without_a_url_is_told_the_url_is_required()
    {
        var (_, problems) = ConfigTests.LoadText("""
            scrape:
              targets:
                - job: cart
                  format: json
            """);
        var p = Assert.Single(problems, p => p.KeyPath == "scrape.targets[0].url");
        Assert.StartsWith("required", p.Message);
    }
}
