using Microsoft.Extensions.DependencyInjection;
using Observe.Collector;
using Observe.Storage.Sinks.Prometheus;

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

    /// <summary>Problems in the <c>prometheus:</c> section, keyed below <paramref name="prefix"/>.</summary>
    public static IReadOnlyList<StorageConfigProblem> Validate(PrometheusExpositionOptions options, string prefix = "prometheus")
    {
        var problems = PrometheusNameMapper.Validate(options.Mappings, $"{prefix}.mappings").Select(p => new StorageConfigProblem(p.Key, p.Message)).ToList();
        if (options.StaleAfterFlushes < 1) problems.Add(new($"{prefix}.staleAfterFlushes", "must be at least 1"));
        return problems;
    }

    /// <summary>Problems in one <c>sinks.remoteWrite[i]</c> entry.</summary>
    public static IReadOnlyList<StorageConfigProblem> Validate(RemoteWriteSinkOptions options, string prefix)
    {
        var problems = new List<StorageConfigProblem>();
        if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
            problems.Add(new($"{prefix}.url", "required: an http(s) URL such as http://127.0.0.1:9090/api/v1/write"));
        if (string.IsNullOrWhiteSpace(options.Name) || options.Name.IndexOfAny(['/', '\\', '.']) >= 0)
            problems.Add(new($"{prefix}.name", "required: letters, digits, '-' or '_' (it names the spool directory)"));
        if (options.TimeoutSeconds < 1) problems.Add(new($"{prefix}.timeoutSeconds", "must be at least 1"));
        if (!string.IsNullOrEmpty(options.BearerToken) && !string.IsNullOrEmpty(options.Username))
            problems.Add(new($"{prefix}.bearerToken", "give either bearerToken or username/password, not both"));
        return problems;
    }
}
