using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>One real observe node of a test cluster (<c>checks.cluster</c> on a throwaway PostgreSQL): started, killed with
/// SIGKILL and restarted on the same config; its API client. Stopped by PID on dispose.</summary>
internal sealed class ClusterNode(string name, string config, HttpClient client) : IAsyncDisposable
{
    private PeerProcess? _process;
    private int _starts;
    public string Name => name;
    public HttpClient Client => client;

    public void Start(string dir) => _process = ObserveBinary.Run(config, dir, Path.Combine(dir, $"{name}-{++_starts}.log"));

    public async Task UpAsync() =>
        await Poll.UntilAsync(async () => !_process!.HasExited && (await client.GetAsync("/health")).IsSuccessStatusCode, TimeSpan.FromSeconds(60),
            $"node {name} up; log: {_process!.Log()}");

    public void Kill() => _process!.Kill9();

    /// <summary>Nodes a and b of a test cluster, each with the config <paramref name="config"/>(name, HTTP port, data dir) written
    /// in <paramref name="dir"/>; not started.</summary>
    public static async Task<Dictionary<string, ClusterNode>> PairAsync(string dir, Func<string, int, string, string> config)
    {
        var nodes = new Dictionary<string, ClusterNode>();
        foreach (var name in new[] { "a", "b" })
        {
            var http = FreePort.Get();
            var path = Path.Combine(dir, $"{name}.yaml");
            await File.WriteAllTextAsync(path, config(name, http, Path.Combine(dir, name)));
            nodes[name] = new ClusterNode(name, path, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}"), Timeout = TimeSpan.FromSeconds(5) });
        }
        return nodes;
    }

    /// <summary>Starts every node, then waits until each answers.</summary>
    public static async Task StartAllAsync(IReadOnlyDictionary<string, ClusterNode> nodes, string dir)
    {
        foreach (var n in nodes.Values) n.Start(dir);
        foreach (var n in nodes.Values) await n.UpAsync();
    }

    /// <summary>A node's config: its listeners, data dir and <c>checks.cluster</c> (check-in 1 s, misfire 2 s: a failover in ~3 s)
    /// around the test's own <paramref name="alerting"/> section and the rest of <paramref name="checks"/> (both at their YAML indentation).</summary>
    public static string Config(string node, int http, string connectionString, string dataDir, string alerting, string checks) => $$"""
        http: {port: {{http}}}
        collector:
          statsd: {port: {{FreePort.Get()}}}
          graphite: {enabled: false}
        storage: {dataDir: {{dataDir}}}
        logging: {level: information}
        {{alerting}}
        checks:
          cluster:
            enabled: true
            connectionString: "{{connectionString}}"
            instanceId: node-{{node}}
            checkinInterval: 1s
            checkinMisfireThreshold: 2s
            createSchema: true
        {{checks}}
        """;

    public async ValueTask DisposeAsync()
    {
        client.Dispose();
        if (_process != null) await _process.DisposeAsync();
    }
}

