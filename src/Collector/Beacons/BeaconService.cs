using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Observe.Collector.Statsd;

namespace Observe.Collector.Beacons;

/// <summary>
/// <c>collector.beacons</c>: Boomerang beacons (GET query or POST form to any path) on a Kestrel of their own, so the
/// unauthenticated browser-facing port serves nothing else. Each beacon's timings become StatsD timer samples
/// <c>&lt;prefix&gt;.&lt;page group&gt;.&lt;timing&gt;</c> in the aggregator (one timer code path with StatsD lines).
/// Bounded: request size and time (Kestrel limits), a global rate per second, page groups; every refusal is counted.
/// </summary>
internal sealed class BeaconService : IHostedService, IAsyncDisposable
{
    internal static readonly string[] Reasons = ["bot", "no_timing", "absurd", "origin", "too_large", "rate", "bad_request"];
    private const int Bot = 0, NoTiming = 1, Absurd = 2, Origin = 3, TooLarge = 4, Rate = 5, BadRequest = 6;

    private readonly BeaconOptions _options;
    private readonly StatsdAggregator _aggregator;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly BeaconParser _parser;
    private readonly HashSet<string> _origins;
    private readonly HashSet<string> _groups = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly long[] _dropped = new long[Reasons.Length];
    private long _accepted, _window, _inWindow;
    private WebApplication? _app;

    public BeaconService(BeaconOptions options, StatsdAggregator aggregator, TimeProvider time, ILoggerFactory loggers)
    {
        _options = options;
        _aggregator = aggregator;
        _time = time;
        _log = loggers.CreateLogger("Observe.Beacons");
        _parser = new BeaconParser(options);
        _origins = new HashSet<string>(options.AllowedOrigins, StringComparer.OrdinalIgnoreCase);
    }

    public IPEndPoint? LocalEndPoint { get; private set; }

    public BeaconStats Stats()
    {
        var d = new Dictionary<string, long>(Reasons.Length);
        for (var i = 0; i < Reasons.Length; i++) d[Reasons[i]] = Interlocked.Read(ref _dropped[i]);
        return new BeaconStats(LocalEndPoint?.ToString(), Interlocked.Read(ref _accepted), d);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled) return;
        var o = _options;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new KestrelRefusals(() => Count(TooLarge)));
        builder.Logging.AddFilter(KestrelRefusals.Category, LogLevel.Debug);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Parse(o.Address), o.Port);
            k.AddServerHeader = false;
            k.Limits.MaxConcurrentConnections = o.MaxConnections;
            k.Limits.MaxRequestBodySize = o.MaxRequestBytes;
            k.Limits.MaxRequestLineSize = o.MaxRequestBytes + 1024; // the GET beacon is its query string
            k.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromMilliseconds(o.RequestTimeoutMs);
            k.Limits.KeepAliveTimeout = TimeSpan.FromMilliseconds(o.RequestTimeoutMs);
            // A body trickled slower than this is cut off (slowloris on the body).
            k.Limits.MinRequestBodyDataRate = new(240, TimeSpan.FromMilliseconds(o.RequestTimeoutMs));
        });
        _app = builder.Build();
        _app.Run(HandleAsync);
        await _app.StartAsync(cancellationToken);
        var address = _app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();
        LocalEndPoint = IPEndPoint.Parse(new Uri(address).Authority);
        _log.LogInformation("page-load beacons listening on http {Endpoint}", LocalEndPoint);
    }

    private void Count(int reason) => Interlocked.Increment(ref _dropped[reason]);

    internal async Task HandleAsync(HttpContext ctx)
    {
        var req = ctx.Request;
        var res = ctx.Response;
        res.Headers.CacheControl = "no-store";
        // CORS: a page of an allowed origin may send; Origin (fetch, sendBeacon, XHR) or else Referer (an image GET) names it.
        var origin = req.Headers.Origin.ToString();
        var claimed = origin.Length > 0 ? origin : req.Headers.Referer is { Count: > 0 } r && Uri.TryCreate(r.ToString(), UriKind.Absolute, out var ru) ? ru.GetLeftPart(UriPartial.Authority) : "";
        if (_origins.Count > 0 && claimed.Length > 0 && !_origins.Contains(claimed)) { Count(Origin); res.StatusCode = 403; return; }
        if (origin.Length > 0)
        {
            res.Headers.AccessControlAllowOrigin = origin;
            res.Headers.Vary = "Origin";
            res.Headers.AccessControlAllowCredentials = "true"; // sendBeacon sends in credentials mode "include"
        }
        if (HttpMethods.IsOptions(req.Method))
        {
            res.Headers.AccessControlAllowMethods = "GET, POST";
            res.Headers.AccessControlAllowHeaders = "Content-Type";
            res.Headers.AccessControlMaxAge = "86400";
            res.StatusCode = 204;
            return;
        }
        if (!HttpMethods.IsGet(req.Method) && !HttpMethods.IsPost(req.Method)) { Count(BadRequest); res.StatusCode = 405; return; }
        if (!TakeRate()) { Count(Rate); res.StatusCode = 429; return; }
        Func<string, string?> get;
        if (HttpMethods.IsPost(req.Method))
        {
            if (req.ContentLength > _options.MaxRequestBytes) { Count(TooLarge); res.StatusCode = 413; return; }
            if (!req.HasFormContentType) { Count(BadRequest); res.StatusCode = 415; return; }
            IFormCollection form;
            try
            {
                req.HttpContext.Features.Set<IFormFeature>(new FormFeature(req, new FormOptions
                {
                    ValueCountLimit = 512, KeyLengthLimit = 256, ValueLengthLimit = _options.MaxRequestBytes,
                    MultipartBodyLengthLimit = _options.MaxRequestBytes, BufferBody = false,
                }));
                form = await req.ReadFormAsync(ctx.RequestAborted);
            }
            catch (Exception e) when (e is InvalidDataException or BadHttpRequestException or IOException)
            {
                var large = e is BadHttpRequestException { StatusCode: 413 } || e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase);
                Count(large ? TooLarge : BadRequest);
                res.StatusCode = large ? 413 : 400;
                return;
            }
            // Boomerang may put some parameters in the URL even when it posts the rest.
            get = k => form.TryGetValue(k, out var v) ? v.ToString() : req.Query.TryGetValue(k, out var q) ? q.ToString() : null;
        }
        else
        {
            if (req.QueryString.Value?.Length > _options.MaxRequestBytes) { Count(TooLarge); res.StatusCode = 413; return; }
            get = k => req.Query.TryGetValue(k, out var q) ? q.ToString() : null;
        }
        Accept(get, req.Headers.UserAgent.ToString());
        res.StatusCode = 204;
    }

    /// <summary>Turns one beacon into timer samples (or counts why not).</summary>
    internal void Accept(Func<string, string?> get, string? userAgent)
    {
        var timings = new List<(string, double)>(12);
        if (!_parser.TryParse(get, userAgent, out var group, timings, out var absurd, out var reason))
        {
            Count(reason switch { BeaconParser.Drop.Bot => Bot, BeaconParser.Drop.Absurd => Absurd, _ => NoTiming });
            if (reason == BeaconParser.Drop.Absurd) Interlocked.Add(ref _dropped[Absurd], absurd - 1);
            return;
        }
        if (absurd > 0) Interlocked.Add(ref _dropped[Absurd], absurd);
        group = Admit(group);
        Interlocked.Increment(ref _accepted);
        foreach (var (name, ms) in timings) _aggregator.AddDerivedTimer($"{_options.Prefix}.{group}.{name}", ms);
    }

    private string Admit(string group)
    {
        lock (_lock)
        {
            if (_groups.Contains(group)) return group;
            if (_groups.Count >= _options.MaxPageGroups) return "other";
            _groups.Add(group);
            return group;
        }
    }

    // A fixed one-second window on the one clock: at most maxPerSecond beacons in each.
    private bool TakeRate()
    {
        var second = _time.GetUtcNow().ToUnixTimeSeconds();
        lock (_lock)
        {
            if (second != _window) { _window = second; _inWindow = 0; }
            return ++_inWindow <= _options.MaxPerSecond;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app != null) await _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app != null) await _app.DisposeAsync();
    }
}
