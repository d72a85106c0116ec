using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Observe.Storage;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>carbon's pickle receiver end to end: python3's pickles, a hostile pickle, real carbon-relay and real Etsy statsd.</summary>
public sealed class PickleReceiverTests
{
    private static long Slot() => DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 10 * 10 - 120;

    private static IPEndPoint PickleEndpoint(ObserveApp app) => IPEndPoint.Parse(app.Stats.Pickle!.Endpoint!);

    private static async Task<Dictionary<long, double>> Render(ObserveApp app, string target, long from)
    {
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        return await RenderJson.PointsAsync(http, target, from);
    }

    private static async Task AssertRendered(ObserveApp app, string target, Dictionary<long, double> expected, long from)
    {
        var got = new Dictionary<long, double>();
        await Poll.UntilAsync(async () => (got = await Render(app, target, from)).Count >= expected.Count, TimeSpan.FromSeconds(20), $"{target} in /render");
        Assert.Equal(expected.OrderBy(e => e.Key), got.OrderBy(e => e.Key));
    }

    [Fact]
    public async Task Python_pickles_reach_render_and_a_hostile_pickle_closes_the_connection_and_is_counted()
    {
        await using var app = await ObserveApp.StartAsync();
        var t = Slot();
        var marker = Path.Combine(Repo.TempDir("pickle-evil"), "pwned");
        var pickles = await PythonPickles.EvalAsync(
            $"[pickle.dumps([('pk.p{{}}'.format(p), ({t}, 1.5)), ('pk.p{{}}'.format(p), ({t + 10}.0, p)), ('pk.tagged;z=1;a=2', ({t}, 7))], protocol=p) for p in range(6)]" +
            $" + [pickle.dumps([Evil()], protocol=2).replace(b'echo pwned', b'touch {marker}')]");
        using (var good = new TcpClient())
        {
            await good.ConnectAsync(PickleEndpoint(app));
            foreach (var p in pickles.Take(6)) await good.GetStream().WriteAsync(PythonPickles.Frame(p));
        }
        for (var p = 0; p < 6; p++) await AssertRendered(app, $"pk.p{p}", new() { [t] = 1.5, [t + 10] = p }, t - 10);
        var reader = app.App.Services.GetRequiredService<ISeriesReader>();
        Assert.Contains("pk.tagged;a=2;z=1", reader.TaggedSeries()); // the same tag handling as plaintext

        using var evil = new TcpClient();
        await evil.ConnectAsync(PickleEndpoint(app));
        await evil.GetStream().WriteAsync(PythonPickles.Frame(pickles[6]));
        var buffer = new byte[16];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal(0, await evil.GetStream().ReadAsync(buffer, cts.Token)); // closed by Observe
        Assert.Equal(1, app.Stats.Pickle!.FramesRejected["refused"]);
        Assert.False(File.Exists(marker));
        Assert.Equal(18, app.Stats.Pickle.PointsReceived);
    }

    [Fact]
    public async Task A_frame_over_maxFrameBytes_closes_the_connection_before_it_is_read()
    {
        await using var app = await ObserveApp.StartAsync(c => c.Collector.Graphite.Pickle.MaxFrameBytes = 1024);
        using var client = new TcpClient();
        await client.ConnectAsync(PickleEndpoint(app));
        await client.GetStream().WriteAsync(new byte[] { 0, 0, 4, 1 }); // 1025 bytes announced, none sent
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal(0, await client.GetStream().ReadAsync(new byte[4], cts.Token));
        Assert.Equal(1, app.Stats.Pickle!.FramesRejected["frameTooLarge"]);
    }

    [Theory]
    [InlineData("consistent-hashing")]
    [InlineData("rules")]
    public async Task Real_carbon_relay_relays_plaintext_into_Observe_over_pickle(string method)
    {
        await using var app = await ObserveApp.StartAsync();
        await using var relay = await CarbonRelay.StartAsync(Repo.TempDir("relay"), method, PickleEndpoint(app));
        var t = Slot();
        var sent = new Dictionary<long, double> { [t] = 1.5, [t + 10] = -2.25, [t + 20] = 1e-7, [t + 30] = 123456789.125 };
        var lines = string.Concat(sent.Select(p => $"relay.{method}.x {p.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} {p.Key}\n"))
                    + $"relay.{method}.tagged;dc=ams;app=shop 4 {t}\n";
        using (var c = new TcpClient())
        {
            await c.ConnectAsync(IPAddress.Loopback, relay.LinePort);
            await c.GetStream().WriteAsync(Encoding.ASCII.GetBytes(lines));
        }
        await AssertRendered(app, $"relay.{method}.x", sent, t - 10);
        var reader = app.App.Services.GetRequiredService<ISeriesReader>();
        await Poll.UntilAsync(() => reader.TaggedSeries().Contains($"relay.{method}.tagged;app=shop;dc=ams"), TimeSpan.FromSeconds(10), "the tagged series");
        Assert.True(app.Stats.Pickle!.FramesReceived >= 1);
        Assert.Equal(0, app.Stats.Pickle.FramesRejected.Values.Sum());
    }

    [Fact]
    public async Task Etsy_statsd_with_graphiteProtocol_pickle_sends_into_Observe()
    {
        Assert.True(File.Exists(Path.Combine(Repo.NodeModules, "statsd", "stats.js")), "run tests/peers/install.sh");
        await using var app = await ObserveApp.StartAsync();
        var dir = Repo.TempDir("etsy-pickle");
        Directory.CreateDirectory(dir);
        int port = FreePort.Get(), mgmt = FreePort.Get();
        var config = Path.Combine(dir, "config.js");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["port"] = port, ["address"] = "127.0.0.1", ["mgmt_address"] = "127.0.0.1", ["mgmt_port"] = mgmt, ["flushInterval"] = 1000,
            ["graphiteHost"] = "127.0.0.1", ["graphiteProtocol"] = "pickle", ["graphitePicklePort"] = PickleEndpoint(app).Port,
            ["graphitePort"] = FreePort.Get(), ["backends"] = new[] { "./backends/graphite" },
        }));
        await using var etsy = PeerProcess.Start("node", [Path.Combine(Repo.NodeModules, "statsd", "stats.js"), config], dir, Path.Combine(dir, "statsd.log"));
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var to = new IPEndPoint(IPAddress.Loopback, port);
        var reader = app.App.Services.GetRequiredService<ISeriesReader>();
        // Etsy flushes every second; the gauge repeats in each flush, so poll until one flush carried it into the store.
        await Poll.UntilAsync(() =>
        {
            Assert.False(etsy.HasExited, etsy.Log());
            udp.SendTo("etsy.pickle.queue:42.5|g\netsy.pickle.tagged:1|c|#env:prod,dc:ams"u8.ToArray(), to);
            return reader.Find("stats.gauges.etsy.pickle.queue").Count == 1 && reader.TaggedSeries().Contains("stats_counts.etsy.pickle.tagged;dc=ams;env=prod");
        }, TimeSpan.FromSeconds(30), "Etsy's pickled flush in the store");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var gauge = await Render(app, "stats.gauges.etsy.pickle.queue", now - 60);
        Assert.NotEmpty(gauge);
        Assert.All(gauge.Values, v => Assert.Equal(42.5, v));
        Assert.Equal(0, app.Stats.Pickle!.FramesRejected.Values.Sum());
        Assert.Equal(0, app.Stats.Pickle.BadPoints);
    }
}
