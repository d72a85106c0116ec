using Microsoft.Extensions.DependencyInjection;
using Observe.Collector;
using Observe.Common;
using Observe.Storage.Sinks.Prometheus;
using Observe.Storage.Sinks.Spool;

namespace Observe.Storage;

/// <summary>The aggregated metrics in Prometheus' text format, for the host's <c>/metrics</c> to append to its own.</summary>
public interface IAggregatedMetricsExposition
{
    /// <summary>Writes every current series; families whose name is in <paramref name="namesInUse"/> (the host's own metrics) are left out.</summary>
    Task WriteAsync(Stream output, ISet<string> namesInUse, CancellationToken cancellationToken);
}

/// <summary>The host's entry points to the Prometheus exposition and remote-write; the types behind them stay internal.</summary>
public static class PrometheusSinks
{
    /// <summary>Registers the exposition as an <see cref="IMetricSink"/> (it keeps the latest flush) and as <see cref="IAggregatedMetricsExposition"/>.</summary>
    public static IServiceCollection AddPrometheusExposition(this IServiceCollection services, PrometheusExpositionOptions options, TimeSpan flushInterval)
    {
        var exposition = new PrometheusExposition(new PrometheusNameMapper(options.Mappings), options.StaleAfterFlushes, flushInterval);
        services.AddSingleton<IAggregatedMetricsExposition>(exposition);
        services.AddSingleton<IMetricSink>(exposition);
        return services;
    }

    /// <summary>
    /// Registers every enabled <c>sinks.remoteWrite</c> entry as an <see cref="IMetricSink"/> behind its own disk spool in
    /// <c>&lt;dataDir&gt;/spool/&lt;name&gt;/</c> (the spool holds the compressed request bodies). Series are named by the
    /// same <c>prometheus.mappings</c> as the exposition.
    /// </summary>
    public static IServiceCollection AddRemoteWriteSinks(this IServiceCollection services, string dataDir, SpoolOptions spool,
        IEnumerable<RemoteWriteSinkOptions> sinks, PrometheusExpositionOptions naming)
    {
        var enabled = sinks.Where(s => s.Enabled).ToList();
        if (enabled.Count == 0) return services;
        var mapper = new PrometheusNameMapper(naming.Mappings);
        foreach (var o in enabled)
            MetricSinks.Add(services, o.Name, (_, log) => MetricSinks.Spooled(o.Name, dataDir, spool, new RemoteWriteTarget(o), new RemoteWriteEncoder(mapper), log));
        return services;
    }

    /// <summary>Problems in the <c>prometheus:</c> section, keyed below <paramref name="prefix"/>.</summary>
    public static IReadOnlyList<ConfigProblem> Validate(PrometheusExpositionOptions options, string prefix = "prometheus")
    {
        var problems = PrometheusNameMapper.Validate(options.Mappings, $"{prefix}.mappings").Select(p => new ConfigProblem(p.Key, p.Message)).ToList();
        if (options.StaleAfterFlushes < 1) problems.Add(new($"{prefix}.staleAfterFlushes", "must be at least 1"));
        return problems;
    }

    /// <summary>Problems in one <c>sinks.remoteWrite[i]</c> entry.</summary>
    public static IReadOnlyList<ConfigProblem> Validate(RemoteWriteSinkOptions options, string prefix)
    {
        var problems = new List<ConfigProblem>();
        if (!options.Enabled) return problems;
        if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
            problems.Add(new($"{prefix}.url", "required: an http(s) URL such as http://127.0.0.1:9090/api/v1/write"));
        if (!ElasticsearchSinks.IsDirectoryName(options.Name))
            problems.Add(new($"{prefix}.name", "must be a non-empty name usable as a directory name (no '/')"));
        if (options.TimeoutSeconds < 1) problems.Add(new($"{prefix}.timeoutSeconds", "must be at least 1"));
        if (!string.IsNullOrEmpty(options.BearerToken) && !string.IsNullOrEmpty(options.Username))
            problems.Add(new($"{prefix}.bearerToken", "give either bearerToken or username/password, not both"));
        return problems;
    }
}
