using System.Collections;
using System.Reflection;
using Observe.Host.Config;

namespace Observe.Observe.Tests;

/// <summary>Every duration in the config takes a unit (10s, 5m, 1h, 250ms); a bare number keeps the unit the docs give the key.</summary>
public class DurationConfigTests
{
    [Fact]
    public void Duration_keys_take_units_and_bare_numbers_keep_the_keys_unit()
    {
        var (c, problems) = ConfigTests.LoadText("""
            collector:
              statsd: {flushInterval: 10s}
            storage: {compactionIntervalSeconds: 2m}
            sinks:
              spool: {retryMaxSeconds: 1m}
              influx:
                - {url: "http://127.0.0.1:8086", db: x, timeoutSeconds: 500ms}
            logs:
              batchMaxDelayMs: 1s
              gelf: {chunkTimeoutMs: 2500}
              store: {retentionDays: 36h, retentionCheckMinutes: 1h}
            """);
        Assert.Empty(problems);
        Assert.Equal(10_000, c.Collector.Statsd.FlushInterval);
        Assert.Equal(120, c.Storage.CompactionIntervalSeconds);
        Assert.Equal(60, c.Sinks.Spool.RetryMaxSeconds);
        Assert.Equal(0.5, c.Sinks.Influx[0].TimeoutSeconds);
        Assert.Equal(1000, c.Logs.BatchMaxDelayMs);
        Assert.Equal(2500, c.Logs.Gelf.ChunkTimeoutMs);
        Assert.Equal(1.5, c.Logs.Store.RetentionDays);
        Assert.Equal(60, c.Logs.Store.RetentionCheckMinutes);
    }

    [Fact]
    public void The_environment_takes_units_too_and_a_bad_duration_says_what_is_expected()
    {
        var (c, problems) = ConfigTests.LoadText("collector: {statsd: {flushInterval: 2000}}", new Hashtable { ["OBSERVE__Collector__Statsd__FlushInterval"] = "5s" });
        Assert.Empty(problems);
        Assert.Equal(5000, c.Collector.Statsd.FlushInterval);

        (_, problems) = ConfigTests.LoadText("""
            collector: {statsd: {flushInterval: 10x}}
            storage: {compactionIntervalSeconds: 1500ms}
            logs: {batchMaxDelayMs: 1.5}
            """);
        Assert.Contains(problems, p => p.KeyPath == "collector.statsd.flushInterval" && p.Line == 1
            && p.Message == "'10x' is not a duration (a whole number of milliseconds, or with a unit: 250ms, 10s, 5m, 1h, 1d)");
        Assert.Contains(problems, p => p.KeyPath == "storage.compactionIntervalSeconds" && p.Message.Contains("whole number of seconds"));
        // A bare number is in the key's unit, never seconds: 1.5 is not a whole number of milliseconds.
        Assert.Contains(problems, p => p.KeyPath == "logs.batchMaxDelayMs");
    }

    [Fact]
    public void Every_numeric_duration_key_of_the_config_takes_units()
    {
        var missing = new List<string>();
        void Walk(Type t, string path, HashSet<Type> seen)
        {
            if (!seen.Add(t)) return;
            foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                var pt = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
                if (pt.IsGenericType && pt.GetGenericTypeDefinition() == typeof(List<>)) pt = pt.GetGenericArguments()[0];
                if ((pt == typeof(int) || pt == typeof(long) || pt == typeof(double))
                    && System.Text.RegularExpressions.Regex.IsMatch(p.Name, "(Interval|Timeout|Delay|Ms|Seconds|Minutes|Hours|Days|Age)$")
                    && ConfigBinder.DurationUnit(p.Name) == null)
                    missing.Add($"{path}.{p.Name}");
                else if (pt.IsClass && pt != typeof(string) && pt.Namespace?.StartsWith("Observe") == true) Walk(pt, $"{path}.{p.Name}", seen);
            }
        }
        Walk(typeof(ObserveConfig), "", []);
        Assert.Empty(missing);
    }
}
