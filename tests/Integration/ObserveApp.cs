using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Observe.Collector;
using Observe.Host;
using Observe.Host.Config;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>The whole Observe application, in process, on free loopback ports.</summary>
public sealed class ObserveApp : IAsyncDisposable
{
    public WebApplication App { get; }
    public ObserveConfig Config { get; }
    public string DataDir { get; }

    private ObserveApp(WebApplication app, ObserveConfig config, string dataDir) { App = app; Config = config; DataDir = dataDir; }

    public static async Task<ObserveApp> StartAsync(Action<ObserveConfig>? configure = null)
    {
        var dir = Repo.TempDir("observe");
        var config = new ObserveConfig();
        config.Http.Port = 0;
        config.Collector.Statsd.Port = FreePort.Get();
        config.Collector.Statsd.FlushOnStop = FlushOnStop.Immediate; // tests stop the app often: no waiting for the interval to end
        config.Collector.Graphite.Port = 0;
        config.Collector.Graphite.Pickle.Port = 0;
        config.Logs.Udp.Port = 0; // the log listeners' defaults (5140, 12201) would collide between tests
        config.Logs.Gelf.Port = 0;
        config.Storage.DataDir = Path.Combine(dir, "data");
        configure?.Invoke(config);
        var app = ObserveHost.Build(config, []);
        await app.StartAsync();
        return new ObserveApp(app, config, dir);
    }

    public CollectorStats Stats => App.Services.GetRequiredService<Func<CollectorStats>>()();
    public IPEndPoint StatsdEndpoint => IPEndPoint.Parse(Stats.Statsd.UdpEndpoint!);
    public IPEndPoint GraphiteEndpoint => IPEndPoint.Parse(Stats.Graphite.Endpoint!);
    public Uri HttpBase => new(App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
