using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Observe.Alerting;
using Observe.Checks;
using Observe.Collector;
using Observe.Common;
using Observe.DeployMarkers;
using Observe.Durability;
using Observe.Host.Auth;
using Observe.Host.Config;
using Observe.Host.WebConsole;
using Observe.Storage;
using Prometheus;
using Serilog;
using Serilog.Events;

namespace Observe.Host;

/// <summary>Composition root: builds every enabled stage from the configuration and runs them in one process.</summary>
internal static class ObserveHost
{
    private const int SigHup = 1;
    private static readonly nint SigDefault = 0;

    /// <summary>signal(2): sets <paramref name="signal"/>'s disposition; returns the previous one.</summary>
    [DllImport("libc", EntryPoint = "signal", SetLastError = true)]
    private static extern nint SetSignalDisposition(int signal, nint handler);

    public static async Task<int> RunAsync(string? configPath, CancellationToken ct)
    {
        configPath ??= File.Exists("observe.yaml") ? "observe.yaml" : null;
        var (config, problems) = ConfigBinder.Load(configPath);
        StartupTimeline.Mark("config");
        if (problems.Count > 0)
        {
            foreach (var p in problems) Console.Error.WriteLine(p);
            Console.Error.WriteLine($"not starting: {problems.Count} configuration problem(s)");
            return 2;
        }
        Log.Logger = new LoggerConfiguration()
            .MinimumLevel.Is(Enum.Parse<LogEventLevel>(config.Logging.Level, ignoreCase: true))
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            // Kestrel warns once per connection it rejects over http.maxConnections: HttpConnectionRejections counts them instead.
            .MinimumLevel.Override("Microsoft.AspNetCore.Server.Kestrel.Connections", LogEventLevel.Error)
            // The host logs a failed start with the whole stack; RunAsync says it in one line (or with the stack when unexpected).
            .Filter.ByExcluding(e => e.MessageTemplate.Text == "Hosting failed to start")
            .WriteTo.Console(outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} {Message:lj}{NewLine}{Exception}")
            .CreateLogger();
        // SIGTERM or SIGINT before the host's own handlers are in place (or while the stages start) is a clean stop too.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        void Stop(PosixSignalContext c) { c.Cancel = true; stop.Cancel(); }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        WebApplication? app = null;
        try
        {
            app = Build(config, [], configPath);
            WarnIfExposedWithoutTokens(config);
            // SIGHUP re-reads the checks section, as Nagios does, and the HTTPS certificate; the handler keeps the process alive (no default action).
            // Resolved at the first SIGHUP: it needs the checks engine, a stage built only after HTTP listens.
            var services = app.Services;
            // Started under nohup (or by a supervisor that ignores SIGHUP), the process inherits SIGHUP ignored and .NET
            // then never calls the handler: every reload by signal was silently lost. Reload is what SIGHUP means here
            // (as for nginx), so the inherited "ignore" is reset to the default before the handler is registered.
            if (OperatingSystem.IsLinux()) _ = SetSignalDisposition(SigHup, SigDefault);
            using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
            {
                c.Cancel = true;
                Log.Information("SIGHUP received: re-reading the checks and the HTTPS certificate");
                _ = Task.Run(async () =>
                {
                    // Nothing else observes this task: a reload that throws says so here instead of vanishing.
                    try { await services.GetRequiredService<ChecksConfigReload>().ReloadAsync("SIGHUP", CancellationToken.None); }
                    catch (Exception e) { Log.Error(e, "reload by SIGHUP failed"); }
                });
            });
            StartupTimeline.Mark("starting");
            // Kestrel first, then the stages (StageStart): this returns once every stage has started.
            try { await app.StartAsync(stop.Token); }
            catch (OperationCanceledException) when (stop.IsCancellationRequested || app.Lifetime.ApplicationStopping.IsCancellationRequested)
            {
                Log.Information("stopped during start-up");
                await app.StopAsync(CancellationToken.None);
                return 0;
            }
            // Stops on SIGTERM/SIGINT (ours or the host's handler) with the stages' orderly stop: last flush, sinks drained, store
            // closed. Not WaitForShutdownAsync: it starts that orderly stop itself, also when a failed start must stop at once.
            var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var onStopping = app.Lifetime.ApplicationStopping.Register(() => stopping.TrySetResult());
            using var onSignal = stop.Token.Register(() => app.Lifetime.StopApplication());
            // The store opens while the stages start (StorageHosting.BeginOpen): one it cannot open stops the host as a failed start did.
            var opened = app.Services.GetRequiredService<ISeriesReader>().Opened;
            if (await Task.WhenAny(opened, stopping.Task) == opened && opened.Exception?.InnerException is { } failed)
            {
                // A store it cannot read, reach or lock (format, permissions, disk) says why in its message; a stack is for the unexpected.
                if (failed is InvalidDataException or IOException or UnauthorizedAccessException or System.Data.Common.DbException)
                    Log.Fatal("cannot start: the embedded store did not open: {Error}", failed.Message);
                else Log.Fatal(failed, "cannot start: the embedded store did not open");
                // Nothing was promised yet: the stages stop at once (a cancelled token) instead of waiting for the StatsD
                // interval's boundary and retrying its last flush into a store that is not there.
                await app.StopAsync(new CancellationToken(canceled: true));
                return 1;
            }
            await stopping.Task;
            await app.StopAsync(CancellationToken.None);
            return 0;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException)
        {
            // A listener's bind failure names the listener, protocol, address and port itself (Collector's ListenerBindException).
            Log.Fatal("cannot start: {Error}", IsKestrel(e) ? $"HTTP API (http.address/http.port): {e.Message}" : e.Message);
            return 1;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.Fatal(e, "cannot start");
            return 1;
        }
        finally
        {
            if (app != null) await app.DisposeAsync();
            await Log.CloseAndFlushAsync();
        }
    }

    /// <summary>Kestrel's own bind failure ("Failed to bind to address http://…: address already in use").</summary>
    private static bool IsKestrel(Exception e) => e.Source?.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal) == true;

    /// <summary>Builds the whole application; tests call this with their own configuration. <paramref name="configPath"/> is what a reload re-reads.</summary>
    public static WebApplication Build(ObserveConfig config, string[] args, string? configPath = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        StartupTimeline.Mark("builder");
        builder.Host.UseSerilog();
        var https = HttpsSetup.Configure(builder, config.Http.Tls);
        builder.WebHost.UseUrls($"{(https != null ? "https" : "http")}://{config.Http.Address}:{config.Http.Port}");
        if (https != null) builder.Services.AddSingleton(https); // for its reload failure count (ObserveStats)
        // One bound for every endpoint's body; reading more throws BadHttpRequestException (413), answered below.
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = config.Http.MaxRequestBodyBytes;
            // Idle clients must not use up the descriptors the rest needs (issue 15 #4); half of the listeners' reserve.
            k.Limits.MaxConcurrentConnections = config.Http.MaxConnections;
        });
        builder.Services.AddSingleton<HttpConnectionRejections>();
        // The one memory budget: the stages ask it where they would create something new; it asks them to give memory back.
        builder.Services.AddSingleton(sp => new MemoryGovernor(
            MemoryGovernor.ParseBudget(config.Limits.Memory, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes) ?? 0,
            () => Environment.WorkingSet, sp.GetServices<IMemoryRelief>, sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Observe.Memory")));
        builder.Services.AddSingleton<IMemoryPressure>(sp => sp.GetRequiredService<MemoryGovernor>());
        builder.Services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(o =>
        {
            o.MultipartBodyLengthLimit = config.Http.MaxRequestBodyBytes;
            o.ValueLengthLimit = (int)config.Http.MaxRequestBodyBytes;
            // A /render form carries one value per target: let the target limit speak, with its own message.
            o.ValueCountLimit = Math.Max(1024, config.Storage.Render.MaxTargets + 64);
        });
        if (!config.Http.Enabled) builder.Services.AddSingleton<IServer, NoHttpServer>();
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(TimeProvider.System);
        // Room for the last flush (which may wait up to 20 s for its interval to end) within systemd's 30 s TimeoutStopSec.
        builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(28));
        builder.Services.AddObserveAuth(ApiTokenResolver.Resolve(config.Auth));
        // JSON and text shrink ~10x: the console's 2 s refresh of 500 problems is 0.5 MB uncompressed (docs/benchmarks.md).
        // Fastest level: the cost is per response on the request thread. Clients that send no Accept-Encoding are unaffected.
        builder.Services.AddResponseCompression();
        builder.Services.Configure<Microsoft.AspNetCore.ResponseCompression.GzipCompressionProviderOptions>(o => o.Level = System.IO.Compression.CompressionLevel.Fastest);
        builder.Services.Configure<Microsoft.AspNetCore.ResponseCompression.BrotliCompressionProviderOptions>(o => o.Level = System.IO.Compression.CompressionLevel.Fastest);

        // Storage first: the embedded store is a sink and the reader behind the Graphite API.
        builder.Services.AddObserveStorage(config.Storage, embeddedSink: config.Sinks.Embedded.Enabled);
        builder.Services.AddSpooledMetricSinks(config.Storage.DataDir, config.Sinks.Spool, config.Sinks.Carbon, config.Sinks.Influx);
        builder.Services.AddRemoteWriteSinks(config.Storage.DataDir, config.Sinks.Spool, config.Sinks.RemoteWrite, config.Prometheus);
        builder.Services.AddElasticsearchSink(config.Storage.DataDir, config.Sinks.Spool, config.Sinks.Elasticsearch);
        if (config.Prometheus.Enabled)
            builder.Services.AddPrometheusExposition(config.Prometheus, TimeSpan.FromMilliseconds(config.Collector.Statsd.FlushInterval));
        if (config.Sinks.Console.Enabled)
            builder.Services.AddSingleton(_ => MetricSinks.Console());
        // Alerting before Checks (and DeployMarkers): they send to the IAlertSink it registers.
        if (config.Alerting.Enabled)
        {
            // a metric check's alert mail carries the graph of its target, drawn by the store
            builder.Services.AddSingleton<IAlertGraphs>(sp => new AlertGraphs(sp.GetRequiredService<ISeriesGraphs>()));
            builder.Services.AddObserveAlerting(config.Alerting, Path.Combine(config.Storage.DataDir, "alerting"), AlertingClusterOf(config.Checks));
        }
        if (config.Checks.Enabled) builder.Services.AddObserveChecks(config.Checks, Path.Combine(config.Storage.DataDir, "checks"));
        if (config.Deploys.Enabled)
            builder.Services.AddObserveDeploys(config.Deploys, config.Storage.DataDir, TimeSpan.FromMilliseconds(config.Collector.Statsd.FlushInterval));
        // DogStatsD: `_e` events become Graphite events, `_sc` service checks become passive check results.
        builder.Services.AddSingleton<IStatsdEventSink>(sp => new StatsdEventRouter(
            StorageHosting.StatsdEventsToGraphite(sp), sp.GetService<IServiceCheckReceiver>()));
        builder.Services.AddObserveCollector(config.Collector);
        builder.Services.AddObserveBeacons(config.Collector.Beacons); // its own listener (no auth), when enabled
        // Logs after the collector: their counts go through its metric sinks, and they stop (flushing) before it does.
        if (config.Logs.Enabled && config.Logs.Store.Enabled) builder.Services.AddObserveLogStore(config.Logs.Store, config.Storage.DataDir);
        if (config.Logs.Enabled) builder.Services.AddObserveLogs(config.Logs);
        // Scrapes after the collector too: each scrape's batch goes through its metric sinks.
        if (config.Scrape.Enabled) builder.Services.AddObserveScrape(config.Scrape);
        // Observe's own health as observe.* series in every flush, its sources bound once the host is built (SelfMetricsSources).
        builder.Services.AddSingleton(sp => new SelfMetricsSources(sp));
        builder.Services.AddSingleton<IFlushMetricSource>(sp => sp.GetRequiredService<SelfMetricsSources>().Create(config.Collector.Statsd.FlushInterval));
        builder.Services.AddSingleton(sp => new ChecksConfigReload(configPath, sp.GetService<IChecksReloader>(), sp.GetService<ICheckStates>(), https));

        // Every listener says where it listens; the HTTP API too, once Kestrel has bound (port 0 resolved), before the stages start.
        var stages = StageStart.Defer(builder.Services, onListening: sp =>
        {
            StartupTimeline.Mark("listening");
            var log = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Observe.Host");
            if (!config.Http.Enabled) log.LogInformation("HTTP API off (http.enabled: false)");
            else log.LogInformation("HTTP API listening on {Addresses}",
                string.Join(", ", sp.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []));
            StartupTimeline.Mark("stages starting");
        }, onStarted: sp =>
        {
            // Bound once the stages exist: binding built them (the collector, the checks engine, alerting) before HTTP listened.
            var sources = sp.GetRequiredService<SelfMetricsSources>();
            sources.Bind();
            // /metrics families registered here, not before listening (~0.1 s of ~100 families); read at each scrape.
            StatsExport.ToPrometheus(sources.Sources, Metrics.DefaultRegistry);
            StartupTimeline.Mark("stages started");
        });
        StartupTimeline.Mark("services");
        var app = builder.Build();
        StartupTimeline.Mark("built");
        // The store opens on its own thread from here while the rest is mapped, HTTP starts and then the stages (issue 21).
        var opened = StorageHosting.BeginOpen(app.Services);
        app.Services.GetRequiredService<HttpConnectionRejections>();
        app.Services.GetRequiredService<MemoryGovernor>(); // starts its readings even if no stage asked it yet
        StartupTimeline.Mark("sources bound");
        var hostLog = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Observe.Host");
        opened.ContinueWith(_ => StartupTimeline.Mark("store opened"), TaskScheduler.Default);
        Task.WhenAll(stages.Started, opened).ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully) hostLog.LogInformation("start-up (ms since the process started): {Timeline}", StartupTimeline.Describe());
        }, TaskScheduler.Default);
        // /render keeps its uncompressed, Content-Length answer (the hot path measured against graphite-web, docs/benchmarks.md);
        // /metrics is prometheus-net's own. Everything else (the console's API calls and files) is compressed when asked.
        app.UseWhen(ctx => !ctx.Request.Path.StartsWithSegments("/render") && !ctx.Request.Path.StartsWithSegments("/metrics"),
            b => b.UseResponseCompression());
        if (https != null) HttpsSetup.UseHsts(app, config.Http.Tls);
        app.Use(AnswerRequestLimits);
        app.Use(stages.GateAsync);
        app.UseAuthentication();
        app.UseAuthorization();
        // /metrics, /stats "metrics" and the observe.* series (SelfMetrics) are generated from the stages' stat lists.
        var stats = app.Services.GetRequiredService<SelfMetricsSources>().Sources;
        // With the exposition on, one scrape target serves both: Observe's own metrics, then the aggregated ones.
        if (config.Prometheus.Enabled) app.MapGet("/metrics", WriteOwnAndAggregatedMetrics);
        else app.MapMetrics("/metrics");
        // Up once every stage has started; before, "starting" with a 503 (a load balancer or a test waits for "ok").
        app.MapGet("/health", (HttpContext ctx) =>
        {
            if (stages.Started.IsCompleted) return Results.Text("ok\n");
            ctx.Response.Headers.RetryAfter = "1";
            return Results.Text($"starting: {stages.Current}\n", statusCode: StatusCodes.Status503ServiceUnavailable);
        }).AllowAnonymous();
        app.MapGet("/stats", (Func<CollectorStats> collector, Func<StorageStats> storage, IEnumerable<ISpoolStatsSource> spools) =>
            Results.Json(new
            {
                collector = collector(), storage = storage(), spools = spools.Select(s => s.Stats),
                logs = app.Services.GetService<Func<LogIngestStats>>()?.Invoke(), logStore = app.Services.GetService<Func<LogStoreStats>>()?.Invoke(),
                beacons = app.Services.GetService<Func<BeaconStats>>()?.Invoke(),
                damagedStores = StoreQuarantine.Damaged, metrics = StatsExport.ToJson(stats),
            }, StatsJson));
        app.MapObserveStorage();
        StartupTimeline.Mark("mapped");
        if (config.Logs.Enabled)
        {
            app.MapLogsIngestApi();
            app.MapLogSearchApi();
        }
        if (config.Checks.Enabled) app.MapChecksApi();
        if (config.Deploys.Enabled) app.MapDeploysApi();
        if (config.Alerting.Enabled) app.MapAlertingApi();
        if (config.Console.Enabled) app.MapConsole(config);
        app.MapPost("/api/reload", async (HttpContext ctx, ChecksConfigReload reload) =>
        {
            var who = ctx.User.Identity is { IsAuthenticated: true, Name: { } n } ? n : "api";
            var result = await reload.ReloadAsync(who, ctx.RequestAborted);
            return Results.Json(result, StatsJson, statusCode: result.Reloaded ? 200 : 400);
        }).RequireAuthorization("admin");
        return app;
    }

    /// <summary>
    /// prometheus-net's registry in the 0.0.4 text format (never OpenMetrics, whose <c># EOF</c> must end the page), then the
    /// aggregated series; an aggregated family named like one of Observe's own is left out rather than break the scrape.
    /// </summary>
    private static async Task WriteOwnAndAggregatedMetrics(HttpContext ctx, IAggregatedMetricsExposition aggregated)
    {
        using var own = new MemoryStream();
        await Metrics.DefaultRegistry.CollectAndExportAsTextAsync(own, ExpositionFormat.PrometheusText, ctx.RequestAborted);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in System.Text.Encoding.UTF8.GetString(own.GetBuffer(), 0, (int)own.Length).Split('\n'))
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal) && line.Split(' ') is [_, _, var name, ..]) names.Add(name);
        ctx.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        own.Position = 0;
        await own.CopyToAsync(ctx.Response.Body, ctx.RequestAborted);
        await aggregated.WriteAsync(ctx.Response.Body, names, ctx.RequestAborted);
    }

    /// <summary>
    /// A checks cluster shares the alert pipeline's state in the same PostgreSQL, so the node running a check owns its
    /// notifications and a survivor continues what a dead node started. A node is given up for dead after Quartz's own
    /// failover time (check-in interval + misfire threshold), when its checks move too.
    /// </summary>
    private static AlertingCluster? AlertingClusterOf(ChecksOptions checks)
    {
        var c = checks.Cluster;
        if (!checks.Enabled || !c.Enabled) return null;
        var node = c.InstanceId.Equals("auto", StringComparison.OrdinalIgnoreCase) ? $"{Environment.MachineName}-{Guid.NewGuid():N}" : c.InstanceId;
        return new AlertingCluster(c.ConnectionString, node,
            DurationSyntax.Parse(c.CheckinInterval, "checks.cluster.checkinInterval") + DurationSyntax.Parse(c.CheckinMisfireThreshold, "checks.cluster.checkinMisfireThreshold"));
    }

    /// <summary>A request over a limit (body size, form limits) gets its 4xx with the reason as JSON, not a 500.</summary>
    private static async Task AnswerRequestLimits(HttpContext ctx, RequestDelegate next)
    {
        try { await next(ctx); }
        catch (Exception e) when (e is BadHttpRequestException or InvalidDataException && !ctx.Response.HasStarted)
        {
            ctx.Response.Clear();
            ctx.Response.StatusCode = e is BadHttpRequestException b ? b.StatusCode : StatusCodes.Status400BadRequest;
            await ctx.Response.WriteAsJsonAsync(new { error = e.Message });
        }
    }

    /// <summary>Anyone who can reach a non-loopback listener could post deploys or silence alerts: say so loudly.</summary>
    private static void WarnIfExposedWithoutTokens(ObserveConfig config)
    {
        if (config.Auth.Tokens.Count > 0) return;
        var exposed = new List<string>();
        void Check(string what, bool enabled, string address)
        {
            if (enabled && System.Net.IPAddress.TryParse(address, out var ip) && !System.Net.IPAddress.IsLoopback(ip)) exposed.Add($"{what} on {address}");
        }
        Check("HTTP API", config.Http.Enabled, config.Http.Address);
        Check("StatsD", config.Collector.Statsd.Enabled, config.Collector.Statsd.Address);
        Check("Graphite plaintext", config.Collector.Graphite.Enabled, config.Collector.Graphite.Address);
        Check("Graphite pickle", config.Collector.Graphite.Enabled && config.Collector.Graphite.Pickle.Enabled, config.Collector.Graphite.Pickle.Address);
        Check("JSON logs (UDP)", config.Logs.Enabled && config.Logs.Udp.Enabled, config.Logs.Udp.Address);
        Check("GELF", config.Logs.Enabled && config.Logs.Gelf.Enabled, config.Logs.Gelf.Address);
        if (exposed.Count > 0)
            Log.Warning("SECURITY: {Listeners} bound beyond loopback with no auth.tokens configured: anyone who can reach it may post deploys, " +
                        "passive results and events, acknowledge and silence. Configure auth.tokens (docs/configuration.md#auth).", string.Join(", ", exposed));
    }

    private static readonly JsonSerializerOptions StatsJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}
