using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector;
using Observe.Common;
using Observe.Storage.Sinks.Elasticsearch;
using Observe.Storage.Sinks.Spool;

namespace Observe.Storage;

/// <summary>The host's entry point to the Elasticsearch log sink; the types behind it stay internal.</summary>
public static class ElasticsearchSinks
{
    /// <summary>
    /// When enabled, registers the Elasticsearch sink as an <see cref="ILogSink"/> behind a disk spool in
    /// <c>&lt;dataDir&gt;/spool/&lt;name&gt;/</c> (items Elasticsearch refuses for good go to <c>dead-letter-items.ndjson</c>
    /// there), as an <see cref="ISpoolStatsSource"/>, and a hosted service that installs the index template on start.
    /// </summary>
    public static IServiceCollection AddElasticsearchSink(this IServiceCollection services, string dataDir, SpoolOptions spool, ElasticsearchSinkOptions options)
    {
        if (!options.Enabled) return services;
        var directory = SpoolPipeline.DirectoryFor(dataDir, options.Name);
        services.AddSingleton(_ => new ElasticsearchBulkTarget(options, Path.Combine(directory, "dead-letter-items.ndjson")));
        services.AddSingleton(sp =>
        {
            var log = sp.GetService<ILoggerFactory>()?.CreateLogger("Observe.Sinks." + options.Name) ?? NullLogger.Instance;
            var pipeline = new SpoolPipeline(options.Name, directory, sp.GetRequiredService<ElasticsearchBulkTarget>(),
                new SpoolLimits(spool.MaxBytes, spool.SegmentBytes), TimeSpan.FromSeconds(spool.RetryMaxSeconds), sp.GetService<TimeProvider>(), log);
            return new SpooledLogSink(pipeline, new ElasticsearchBulkEncoder(new IndexNamePattern(options.Index)));
        });
        services.AddSingleton<ILogSink>(sp => sp.GetRequiredService<SpooledLogSink>());
        services.AddSingleton<ISpoolStatsSource>(sp => sp.GetRequiredService<SpooledLogSink>());
        services.AddHostedService(sp => new ElasticsearchTemplateInstaller(sp.GetRequiredService<ElasticsearchBulkTarget>(),
            sp.GetService<ILoggerFactory>()?.CreateLogger("Observe.Sinks." + options.Name) ?? NullLogger.Instance, sp.GetService<TimeProvider>()));
        return services;
    }

    /// <summary>A sink name names its spool directory.</summary>
    internal static bool IsDirectoryName(string name) =>
        !string.IsNullOrWhiteSpace(name) && name is not ("." or "..") && name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0;

    /// <summary>Problems in <c>sinks.elasticsearch</c>.</summary>
    public static IReadOnlyList<ConfigProblem> Validate(ElasticsearchSinkOptions options, string prefix = "sinks.elasticsearch")
    {
        var problems = new List<ConfigProblem>();
        if (!options.Enabled) return problems;
        if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
            problems.Add(new($"{prefix}.url", "must be an http(s) URL such as http://127.0.0.1:9200"));
        if (IndexNamePattern.Problem(options.Index) is { } p) problems.Add(new($"{prefix}.index", p));
        if (!IsDirectoryName(options.Name))
            problems.Add(new($"{prefix}.name", "must be a non-empty name usable as a directory name (no '/')"));
        if (string.IsNullOrWhiteSpace(options.TemplateName) || options.TemplateName != options.TemplateName.ToLowerInvariant())
            problems.Add(new($"{prefix}.templateName", "required, lowercase"));
        if (!string.IsNullOrEmpty(options.ApiKey) && !string.IsNullOrEmpty(options.Username))
            problems.Add(new($"{prefix}.apiKey", "give either apiKey or username/password, not both"));
        if (options.TimeoutSeconds < 1) problems.Add(new($"{prefix}.timeoutSeconds", "must be at least 1"));
        return problems;
    }
}

/// <summary>Installs the index template at start, retrying with the shared <see cref="Backoff"/> (1 s to 60 s) while
/// Elasticsearch is away (deliveries wait for it too).</summary>
internal sealed class ElasticsearchTemplateInstaller(ElasticsearchBulkTarget target, ILogger log, TimeProvider? time = null) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), time);
        while (!stoppingToken.IsCancellationRequested)
        {
            string? error;
            try { (var ok, error) = await target.EnsureTemplateAsync(stoppingToken); if (ok) return; }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception e) { error = e.Message; }
            var delay = backoff.Next();
            log.LogWarning("Elasticsearch sink {Sink}: {Error}; retrying in {Delay} s", target.Name, error, Math.Round(delay.TotalSeconds, 1));
            try { await Task.Delay(delay, time ?? TimeProvider.System, stoppingToken); } catch (OperationCanceledException) { return; }
        }
    }
}
