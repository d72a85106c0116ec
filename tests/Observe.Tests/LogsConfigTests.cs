using Observe.Host.Config;

namespace Observe.Observe.Tests;

public class LogsConfigTests
{
    [Fact]
    public void Logs_section_binds_with_defaults_and_overrides()
    {
        var (c, problems) = ConfigTests.LoadText("""
            logs:
              gelf: {port: 12202, chunkTimeoutMs: 2000}
              store: {retentionDays: 3}
            """, new System.Collections.Hashtable { ["OBSERVE__Logs__Udp__Port"] = "5141" });
        Assert.Empty(problems);
        Assert.True(c.Logs.Enabled && c.Logs.Gelf.Tcp && c.Logs.Store.Enabled);
        Assert.Equal((12202, 2000, 5141, 3.0), (c.Logs.Gelf.Port, c.Logs.Gelf.ChunkTimeoutMs, c.Logs.Udp.Port, c.Logs.Store.RetentionDays));
        Assert.Equal(("logs", 1000, 100), (c.Logs.MetricPrefix, c.Logs.BatchMaxEvents, c.Logs.BatchMaxDelayMs));
    }

    [Fact]
    public void Bad_logs_values_are_named_with_their_line()
    {
        var (_, problems) = ConfigTests.LoadText("""
            logs:
              udp: {address: localhost}
              gelf: {port: 70000, chunkTimeoutMs: 0}
              metricPrefix: "logs..x"
              store: {retentionDays: 0, retentoinDays: 3}
            """);
        Assert.Contains(problems, p => p.KeyPath == "logs.udp.address" && p.Line == 2);
        Assert.Contains(problems, p => p.KeyPath == "logs.gelf.port" && p.Line == 3 && p.Message.Contains("70000"));
        Assert.Contains(problems, p => p.KeyPath == "logs.gelf.chunkTimeoutMs");
        Assert.Contains(problems, p => p.KeyPath == "logs.metricPrefix" && p.Line == 4);
        Assert.Contains(problems, p => p.KeyPath == "logs.store.retentionDays");
        Assert.Contains(problems, p => p.KeyPath == "logs.store.retentoinDays" && p.Message.StartsWith("unknown key"));
        Assert.Equal(6, problems.Count);
    }
}
