using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector;
using Observe.Common;
using Observe.Storage.Sinks;
using Observe.Storage.Sinks.Influx;
using Observe.Storage.Sinks.Spool;

namespace Observe.Storage;

/// <summary>Factories the host uses to build sinks from configuration; the sink types stay internal.</summary>
public static class MetricSinks
{
    public static IMetricSink Console(TextWriter? output = null) => new ConsoleMetricSink(output);

    /// <summary>
    /// Registers every enabled <c>sinks.carbon</c> and <c>sinks.influx</c> entry as an <see cref="IMetricSink"/> behind
    /// its own disk spool in <c>&lt;dataDir&gt;/spool/&lt;name&gt;/</c>, and as an <see cref="ISpoolStatsSource"/>.
    /// </summary>
    public static IServiceCollection AddSpooledMetricSinks(this IServiceCollection services, string dataDir, SpoolOptions spool,
        IEnumerable<CarbonSinkOptions> carbon, IEnumerable<InfluxSinkOptions> influx)
    {
        foreach (var c in carbon.Where(c => c.Enabled))
            Add(services, c.Name, (sp, log) => Spooled(c.Name, dataDir, spool, new CarbonTcpTarget(c.Host, c.Port, c.Name,
                Path.Combine(SpoolPipeline.DirectoryFor(dataDir, c.Name), "carbon-recent")),
                c.Protocol == CarbonProtocol.Pickle ? new CarbonPickleEncoder() : new CarbonPlaintextEncoder(), log));
        foreach (var i in influx.Where(i => i.Enabled))
            Add(services, i.Name, (sp, log) => Spooled(i.Name, dataDir, spool, new InfluxHttpTarget(i),
                new InfluxLineEncoder(i.MeasurementNodes, i.Templates, i.Precision), log));
        return services;
    }

    /// <summary>Builds one spooled metric sink; for the host's factories and for tests and benchmarks.</summary>
    internal static SpooledMetricSink Spooled(string name, string dataDir, SpoolOptions spool, ISpoolTarget target, IMetricRecordEncoder encoder,
        ILogger? log = null, TimeProvider? time = null) =>
        new(new SpoolPipeline(name, SpoolPipeline.DirectoryFor(dataDir, name), target,
            new SpoolLimits(spool.MaxBytes, spool.SegmentBytes), TimeSpan.FromSeconds(spool.RetryMaxSeconds), time, log), encoder);

    internal static void Add(IServiceCollection services, string name, Func<IServiceProvider, ILogger, SpooledMetricSink> create)
    {
        // One instance serves both roles; the keyed registration owns it.
        services.AddKeyedSingleton<SpooledMetricSink>(name, (sp, _) =>
            create(sp, sp.GetService<ILoggerFactory>()?.CreateLogger("Observe.Sinks." + name) ?? NullLogger.Instance));
        services.AddSingleton<IMetricSink>(sp => sp.GetRequiredKeyedService<SpooledMetricSink>(name));
        services.AddSingleton<ISpoolStatsSource>(sp => sp.GetRequiredKeyedService<SpooledMetricSink>(name));
    }

    /// <summary>Problems in <c>sinks.spool</c>, <c>sinks.carbon</c> and <c>sinks.influx</c>, keyed below <c>sinks</c>.</summary>
    public static IReadOnlyList<ConfigProblem> Validate(SpoolOptions spool, IReadOnlyList<CarbonSinkOptions> carbon,
        IReadOnlyList<InfluxSinkOptions> influx, string prefix = "sinks")
    {
        var problems = new List<ConfigProblem>();
        void Fail(string key, string message) => problems.Add(new($"{prefix}.{key}", message));
        if (spool.MaxBytes < 1024) Fail("spool.maxBytes", "must be at least 1024");
        if (spool.SegmentBytes < 1024) Fail("spool.segmentBytes", "must be at least 1024");
        if (spool.RetryMaxSeconds is < 0.1 or > 86400) Fail("spool.retryMaxSeconds", "must be between 0.1 and 86400");
        var names = new HashSet<string>();
        void Name(string key, string name)
        {
            if (string.IsNullOrWhiteSpace(name) || name is "." or ".." || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
                Fail(key, "must be a non-empty name usable as a directory name (no '/')");
            else if (!names.Add(name)) Fail(key, $"'{name}' is already the name of another sink");
        }
        for (var i = 0; i < carbon.Count; i++)
        {
            var c = carbon[i];
            if (!c.Enabled) continue;
            Name($"carbon[{i}].name", c.Name);
            if (string.IsNullOrWhiteSpace(c.Host)) Fail($"carbon[{i}].host", "required");
            if (c.Port is < 1 or > 65535) Fail($"carbon[{i}].port", "must be between 1 and 65535");
        }
        for (var i = 0; i < influx.Count; i++)
        {
            var o = influx[i];
            if (!o.Enabled) continue;
            var k = $"influx[{i}]";
            Name($"{k}.name", o.Name);
            if (!Uri.TryCreate(o.Url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")) Fail($"{k}.url", "must be an http(s) URL");
            if (o.Version == 1 && string.IsNullOrWhiteSpace(o.Db)) Fail($"{k}.db", "required for version 1");
            else if (o.Version == 2)
            {
                if (string.IsNullOrWhiteSpace(o.Bucket)) Fail($"{k}.bucket", "required for version 2");
            }
            else if (o.Version != 1) Fail($"{k}.version", "must be 1 or 2");
            try { InfluxLineEncoder.PrecisionMultiplier(o.Precision); }
            catch (FormatException e) { Fail($"{k}.precision", e.Message); }
            if (o.MeasurementNodes < 0) Fail($"{k}.measurementNodes", "must be 0 (whole path) or more");
            for (var t = 0; t < o.Templates.Count; t++)
            {
                try { GraphiteTemplate.Parse(o.Templates[t]); }
                catch (FormatException e) { Fail($"{k}.templates[{t}]", e.Message); }
            }
            if (o.TimeoutSeconds <= 0) Fail($"{k}.timeoutSeconds", "must be more than 0");
        }
        return problems;
    }
}

/// <summary>What /stats and the self-metrics (<c>observe.spool.&lt;sink&gt;.*</c>) show of one sink's disk spool.</summary>
public sealed record SpoolStats(string Sink, long Records, long Bytes, double OldestAgeSeconds, long Appended, long Delivered,
    long Retries, long Rejected, long DroppedOldest, string? LastError, long CorruptSkipped = 0);

/// <summary>Registered once per spooled sink so the host can report spool depth and age.</summary>
public interface ISpoolStatsSource
{
    SpoolStats Stats { get; }
}
