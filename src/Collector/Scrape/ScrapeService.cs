using System.Buffers;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Observe.Common;
using Quartz;

namespace Observe.Collector.Scrape;

/// <summary>
/// Scrapes every <c>scrape.targets</c> entry on its interval with Quartz.NET (in-memory store, as the checks are
/// scheduled): one job per target on a repeating trigger, first runs spread evenly over the interval so 1 000 targets at
/// 10 s are 100 a second, not 1 000 at once; [DisallowConcurrentExecution] keeps a slow target from overlapping itself and
/// a missed run is skipped (misfire: next with remaining count), never run late in a burst. Each scrape publishes one
/// batch through the collector's sink fan-out: the target's series plus <c>&lt;prefix&gt;.up</c> (1/0),
/// <c>&lt;prefix&gt;.scrape_duration</c> (ms) and <c>&lt;prefix&gt;.scrape_series</c>.
/// </summary>
internal sealed class ScrapeService : IHostedService, IAsyncDisposable
{
    internal const string ServiceKey = "observe.scrape";
    private const string Group = "scrape";
    private readonly ScrapeOptions _options;
    private readonly Action<MetricBatch> _publish;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Dictionary<string, ScrapeTarget> _targets = new(StringComparer.Ordinal);
    private readonly HttpMessageHandler _sharedHandler;
    private readonly List<HttpMessageHandler> _handlers = [];
    private readonly long[] _failures = new long[Enum.GetValues<ScrapeFailure>().Length];
    private long _scrapes, _seriesDropped, _namesTooLong, _nonFinite, _badLines;
    private readonly ScheduleLag _lag = new();
    private StandaloneSchedulerFactory? _factory;
    private IScheduler? _scheduler;

    public ScrapeService(ScrapeOptions options, Action<MetricBatch> publish, ILoggerFactory logs, TimeProvider? time = null)
    {
        _options = options;
        _publish = publish;
        _time = time ?? TimeProvider.System;
        _log = logs.CreateLogger("Observe.Scrape");
        _sharedHandler = Handler(null);
        foreach (var t in options.Targets)
        {
            var handler = _sharedHandler;
            if (t.Tls.CaFile is not null || t.Tls.InsecureSkipVerify) _handlers.Add(handler = Handler(t.Tls));
            var target = new ScrapeTarget(t, new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan });
            _targets[target.Prefix] = target;
        }
    }

    internal IReadOnlyCollection<ScrapeTarget> Targets => _targets.Values;

    /// <summary>One handler for every target verified against the system's CAs (connections pooled per server);
    /// a target with its own CA or with verification off gets its own.</summary>
    private static SocketsHttpHandler Handler(ScrapeTlsOptions? tls)
    {
        var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.All,
            UseCookies = false,
            MaxAutomaticRedirections = 3,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(30), // the target's timeout cancels sooner
        };
        if (tls?.InsecureSkipVerify == true) handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        else if (tls?.CaFile is { } caFile)
        {
            var roots = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
            roots.ImportFromPemFile(caFile);
            handler.SslOptions.CertificateChainPolicy = new System.Security.Cryptography.X509Certificates.X509ChainPolicy
            {
                TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust,
                RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            };
            handler.SslOptions.CertificateChainPolicy.CustomTrustStore.AddRange(roots);
        }
        return handler;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled || _targets.Count == 0) return;
        _factory = QuartzSchedulerBuilder.Create(q =>
        {
            q.ConfigureScheduler(o =>
            {
                o.InstanceName = "observe-scrape-" + Guid.NewGuid().ToString("N");
                // Every trigger already due in one round (Quartz measured batches faster for repeating triggers on the
                // in-memory store): 100 targets a second are otherwise acquired one round each, late under load.
                o.MaxBatchSize = Math.Min(_options.MaxConcurrency, 32);
            });
            q.UseInMemoryStore(_ => { });
            q.UseDefaultThreadPool(_options.MaxConcurrency);
            q.UseTimeProvider(_time);
        }).Build();
        _scheduler = await _factory.GetScheduler(cancellationToken).ConfigureAwait(false);
        _scheduler.Context.Add(ServiceKey, this);
        var now = _time.GetUtcNow();
        // Targets of one interval are spread evenly over it, in config order.
        foreach (var byInterval in _targets.Values.GroupBy(t => t.Interval))
        {
            var list = byInterval.ToList();
            for (var i = 0; i < list.Count; i++)
            {
                var t = list[i];
                var job = JobBuilder.Create<ScrapeJob>().WithIdentity(t.Prefix, Group).UsingJobData("key", t.Prefix).Build();
                var trigger = TriggerBuilder.Create().WithIdentity(t.Prefix, Group).ForJob(job)
                    .StartAt(now + TimeSpan.FromTicks(t.Interval.Ticks * i / list.Count))
                    .WithSimpleSchedule(s => s.WithInterval(t.Interval).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
                    .Build();
                await _scheduler.ScheduleJob(job, trigger, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
        await _scheduler.Start(cancellationToken).ConfigureAwait(false);
        _log.LogInformation("scrape: {Count} targets scheduled", _targets.Count);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_scheduler is { } s) await s.Shutdown(waitForJobsToComplete: false, cancellationToken).ConfigureAwait(false);
        _scheduler = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        foreach (var t in _targets.Values) t.Client.Dispose();
        foreach (var h in _handlers) h.Dispose();
        _sharedHandler.Dispose();
    }

    internal ScrapeTarget? Find(string key) => _targets.GetValueOrDefault(key);

    internal void RecordLag(TimeSpan lag) => _lag.Add(lag);

    /// <summary>Scrapes one target now and publishes its batch; returns it (tests read it).</summary>
    internal async Task<ScrapeResult> ScrapeAsync(ScrapeTarget t, CancellationToken ct)
    {
        var started = _time.GetTimestamp();
        var timestamp = _time.GetUtcNow().ToUnixTimeSeconds();
        var output = new ScrapeOutput(t.Prefix, timestamp, _options.MaxSeriesPerScrape, _options.MaxNameLength, t.Include, t.Exclude);
        var failure = ScrapeFailure.None;
        string? detail = null;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(t.Timeout);
        byte[]? body = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, t.Url);
            request.Headers.Accept.ParseAdd(t.Accept);
            foreach (var (name, value) in t.Headers) request.Headers.TryAddWithoutValidation(name, value);
            using var response = await t.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
            if (EgressPolicy.Classify(response.StatusCode) != EgressOutcome.Delivered)
            {
                failure = ScrapeFailure.Status;
                detail = $"HTTP {(int)response.StatusCode}";
            }
            else if (response.Content.Headers.ContentLength > _options.MaxBodyBytes) failure = ScrapeFailure.BodySize;
            else
            {
                int length;
                (body, length) = await ReadBoundedAsync(response.Content, _options.MaxBodyBytes, cts.Token).ConfigureAwait(false);
                if (length < 0) failure = ScrapeFailure.BodySize;
                else failure = t.Format switch
                {
                    "prometheus" => PrometheusTextParser.Parse(body.AsSpan(0, length), output),
                    "nginx" => NginxStatusParser.Parse(body.AsSpan(0, length), output),
                    _ => JsonStatsParser.Parse(body.AsSpan(0, length), output, _options.MaxJsonDepth),
                };
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { failure = ScrapeFailure.Timeout; }
        catch (Exception e) when (EgressPolicy.IsNetwork(e) && !ct.IsCancellationRequested)
        {
            failure = ScrapeFailure.Connect;
            detail = e.Message;
        }
        finally { if (body != null) ArrayPool<byte>.Shared.Return(body); }
        ct.ThrowIfCancellationRequested();

        var ms = _time.GetElapsedTime(started).TotalMilliseconds;
        var up = failure == ScrapeFailure.None;
        var points = up ? output.Points : [];
        var series = points.Count;
        points.Add(new MetricPoint(t.Prefix + ".up", up ? 1 : 0, timestamp));
        points.Add(new MetricPoint(t.Prefix + ".scrape_duration", Math.Round(ms, 3), timestamp));
        points.Add(new MetricPoint(t.Prefix + ".scrape_series", series, timestamp));
        _publish(new MetricBatch(timestamp, points));

        Interlocked.Increment(ref _scrapes);
        Interlocked.Increment(ref _failures[(int)failure]);
        if (output.DroppedBySeriesLimit > 0) Interlocked.Add(ref _seriesDropped, output.DroppedBySeriesLimit);
        if (output.DroppedByNameLength > 0) Interlocked.Add(ref _namesTooLong, output.DroppedByNameLength);
        if (output.NonFinite > 0) Interlocked.Add(ref _nonFinite, output.NonFinite);
        if (output.BadLines > 0) Interlocked.Add(ref _badLines, output.BadLines);
        if (t.LastUp != up)
        {
            // Logged when the state changes, not every interval.
            if (up) _log.LogInformation("scrape {Url} ({Prefix}): up", t.Url, t.Prefix);
            else _log.LogWarning("scrape {Url} ({Prefix}): down ({Reason}{Detail})", t.Url, t.Prefix, Reason(failure), detail is null ? "" : ": " + EgressPolicy.Snippet(detail));
            t.LastUp = up;
        }
        return new ScrapeResult(failure, series, output.DroppedBySeriesLimit, output.BadLines, ms);
    }

    /// <summary>Reads at most <paramref name="max"/> bytes into a pooled buffer; length -1 when there is more.</summary>
    private static async Task<(byte[] Buffer, int Length)> ReadBoundedAsync(HttpContent content, int max, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(max + 1L, content.Headers.ContentLength + 1 ?? 64 * 1024));
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (length > max) return (buffer, -1);
                var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(max + 1L, buffer.Length * 2L));
                buffer.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }
            var n = await stream.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
            if (n == 0) return (buffer, length > max ? -1 : length);
            length += n;
        }
    }

    internal static string Reason(ScrapeFailure f) => f switch
    {
        ScrapeFailure.BodySize => "body_size",
        ScrapeFailure.JsonDepth => "json_depth",
        _ => f.ToString().ToLowerInvariant(),
    };

    public ScrapeStats Snapshot()
    {
        var failures = new Dictionary<string, long>();
        foreach (var f in Enum.GetValues<ScrapeFailure>())
            if (f != ScrapeFailure.None) failures[Reason(f)] = Interlocked.Read(ref _failures[(int)f]);
        var (p50, p99, max) = _lag.Percentiles();
        return new ScrapeStats(_targets.Count, Interlocked.Read(ref _scrapes), failures, Interlocked.Read(ref _seriesDropped),
            Interlocked.Read(ref _namesTooLong), Interlocked.Read(ref _nonFinite), Interlocked.Read(ref _badLines), p50, p99, max);
    }
}

/// <summary>What one scrape did (for tests and the bench).</summary>
internal readonly record struct ScrapeResult(ScrapeFailure Failure, int Series, int SeriesDropped, int BadLines, double DurationMs);

/// <summary>One configured target, resolved.</summary>
internal sealed class ScrapeTarget(ScrapeTargetOptions o, HttpClient client)
{
    public string Prefix { get; } = o.EffectivePrefix();
    public string Url { get; } = o.Url;
    public string Format { get; } = o.Format;
    public TimeSpan Interval { get; } = DurationSyntax.Parse(o.Interval);
    public TimeSpan Timeout { get; } = DurationSyntax.Parse(o.Timeout);
    public ScrapeGlob[] Include { get; } = [.. o.Include.Select(g => ScrapeGlob.Create(g)!)];
    public ScrapeGlob[] Exclude { get; } = [.. o.Exclude.Select(g => ScrapeGlob.Create(g)!)];
    public (string Name, string Value)[] Headers { get; } = [.. o.Headers.Select(h => (h.Name, h.Value ?? ""))];
    public HttpClient Client { get; } = client;
    public string Accept { get; } = o.Format switch
    {
        "prometheus" => "text/plain;version=0.0.4;q=1,*/*;q=0.1",
        "json" => "application/json,*/*;q=0.1",
        _ => "text/plain,*/*;q=0.1",
    };
    /// <summary>The last scrape's outcome (null before the first), to log changes only.</summary>
    public bool? LastUp { get; set; }
}

/// <summary>How late scrapes started against their schedule: the last 8 192, for percentiles at read time.</summary>
internal sealed class ScheduleLag
{
    private readonly double[] _ring = new double[8192];
    private long _count;

    public void Add(TimeSpan lag)
    {
        var i = Interlocked.Increment(ref _count) - 1;
        _ring[i % _ring.Length] = lag.TotalMilliseconds;
    }

    public (double P50, double P99, double Max) Percentiles()
    {
        var n = (int)Math.Min(Interlocked.Read(ref _count), _ring.Length);
        if (n == 0) return (0, 0, 0);
        var copy = _ring[..n];
        Array.Sort(copy);
        return (copy[n / 2], copy[Math.Min(n - 1, (int)(n * 0.99))], copy[n - 1]);
    }
}

/// <summary>The Quartz job for one target.</summary>
[DisallowConcurrentExecution]
internal sealed class ScrapeJob : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        if (!context.Scheduler.Context.TryGetValue(ScrapeService.ServiceKey, out var o) || o is not ScrapeService service) return;
        if (service.Find(context.JobDetail.JobDataMap.GetString("key")!) is not { } target) return;
        if (context.ScheduledFireTimeUtc is { } scheduled) service.RecordLag(context.FireTimeUtc - scheduled);
        try { await service.ScrapeAsync(target, cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException) { } // shutting down
    }
}
