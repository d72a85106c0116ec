using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>One real observe node of a test cluster (<c>checks.cluster</c> on a throwaway PostgreSQL), run through
/// <see cref="ObserveProcess"/>: started, killed with SIGKILL and restarted on the same setup (ports, data); its API client
/// stays across restarts. Stopped by PID on dispose.</summary>
internal sealed class ClusterNode(string name, ObserveSetup setup) : IAsyncDisposable
{
    private readonly ObserveSetup _setup = setup;
    private ObserveProcess? _process;
    private int _starts;

    /// <summary>Every node's <c>checkinInterval</c> and <c>checkinMisfireThreshold</c>: a failover in ~3 s.</summary>
    public static readonly TimeSpan Checkin = TimeSpan.FromSeconds(1), CheckinMisfire = TimeSpan.FromSeconds(2);

    public string Name => name;
    public HttpClient Client { get; } = setup.Client();

    /// <summary>Launches the node (log <c>{name}-{n}.log</c>), not waiting for it: <see cref="UpAsync"/> does.</summary>
    public async Task StartAsync()
    {
        if (_process != null) await _process.DisposeAsync();
        _process = await ObserveProcess.LaunchAsync(_setup, $"{name}-{++_starts}.log");
    }

    public Task UpAsync() => _process!.WaitHealthyAsync(TimeSpan.FromSeconds(60));

    public void Kill() => _process!.Process.Kill9();

    /// <summary>Nodes a and b of a test cluster, each in its own directory under <paramref name="dir"/> with the config
    /// <paramref name="config"/>(name, setup); not started.</summary>
    public static Dictionary<string, ClusterNode> Pair(string dir, Func<string, ObserveSetup, string> config) =>
        new[] { "a", "b" }.ToDictionary(n => n, n => new ClusterNode(n, new ObserveSetup(Path.Combine(dir, n))
        {
            ClientTimeout = TimeSpan.FromSeconds(5),
            Config = s => config(n, s),
        }));

    /// <summary>Starts every node, then waits until each answers.</summary>
    public static async Task StartAllAsync(IReadOnlyDictionary<string, ClusterNode> nodes)
    {
        foreach (var n in nodes.Values) await n.StartAsync();
        foreach (var n in nodes.Values) await n.UpAsync();
    }

    /// <summary>A node's config: its listeners, data dir and <c>checks.cluster</c> (<see cref="Checkin"/>, <see cref="CheckinMisfire"/>)
    /// around the test's own <paramref name="alerting"/> section and the rest of <paramref name="checks"/> (both at their YAML indentation).</summary>
    public static string Config(string node, ObserveSetup s, string connectionString, string alerting, string checks) => $$"""
        http: {port: {{s.HttpPort}}}
        collector:
          statsd: {port: {{s.StatsdPort}}}
          graphite: {enabled: false}
        storage: {dataDir: {{s.Dir}}/data}
        logging: {level: information}
        {{alerting}}
        checks:
          cluster:
            enabled: true
            connectionString: "{{connectionString}}"
            instanceId: node-{{node}}
            checkinInterval: {{Checkin.TotalSeconds}}s
            checkinMisfireThreshold: {{CheckinMisfire.TotalSeconds}}s
            createSchema: true
        {{checks}}
        """;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (_process != null) await _process.DisposeAsync();
    }
}
