using System.Net;
using System.Net.Sockets;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>
/// Real carbon-relay 1.1.7 (graphite-carbon) on free loopback ports, relaying to one destination over carbon's pickle
/// protocol (carbon-relay's only wire protocol to a destination), with RELAY_METHOD <c>rules</c> or <c>consistent-hashing</c>.
/// </summary>
public sealed class CarbonRelay : IAsyncDisposable
{
    public int LinePort { get; }
    private readonly PeerProcess _process;

    private CarbonRelay(PeerProcess process, int linePort) { _process = process; LinePort = linePort; }

    public static async Task<CarbonRelay> StartAsync(string dir, string method, IPEndPoint destination)
    {
        foreach (var d in new[] { "log", "run", "storage" }) Directory.CreateDirectory(Path.Combine(dir, d));
        int line = FreePort.Get(), pickle = FreePort.Get();
        // carbon reads storage-schemas.conf at start even for a relay.
        File.WriteAllText(Path.Combine(dir, "storage-schemas.conf"), "[all]\npattern = .*\nretentions = 10s:1d\n");
        File.WriteAllText(Path.Combine(dir, "relay-rules.conf"), $"[default]\ndefault = true\ndestinations = {destination}:a\n");
        File.WriteAllText(Path.Combine(dir, "carbon.conf"), $"""
            [cache]
            STORAGE_DIR = {dir}/storage
            LOCAL_DATA_DIR = {dir}/storage/whisper
            CONF_DIR = {dir}
            LOG_DIR = {dir}/log
            PID_DIR = {dir}/run
            USER =

            [relay]
            LINE_RECEIVER_INTERFACE = 127.0.0.1
            LINE_RECEIVER_PORT = {line}
            PICKLE_RECEIVER_INTERFACE = 127.0.0.1
            PICKLE_RECEIVER_PORT = {pickle}
            RELAY_METHOD = {method}
            DESTINATIONS = {destination}:a
            USE_FLOW_CONTROL = False

            """);
        var process = PeerProcess.Start("/usr/bin/python3",
            ["/usr/bin/carbon-relay", $"--config={dir}/carbon.conf", $"--pidfile={dir}/run/relay.pid", $"--logdir={dir}/log", "--debug", "start"],
            dir, Path.Combine(dir, "relay.log"));
        try
        {
            await Poll.UntilAsync(async () =>
            {
                Assert.False(process.HasExited, process.Log());
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, line);
                return true;
            }, TimeSpan.FromSeconds(30), "carbon-relay's line receiver");
        }
        catch { await process.DisposeAsync(); throw; }
        return new CarbonRelay(process, line);
    }

    public string Log() => _process.Log();

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
