using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>
/// The configuration of a real `observe` process for a test: HTTP and StatsD on free 127.0.0.1 ports, Graphite
/// plaintext off, data under <see cref="Dir"/>. <see cref="Yaml"/> is what <see cref="ObserveProcess.StartAsync"/> writes.
/// </summary>
internal sealed class ObserveSetup(string dir)
{
    public string Dir { get; } = dir;
    public string ConfigPath => Path.Combine(Dir, "observe.yaml");
    public int HttpPort { get; } = FreePort.Get();
    public int StatsdPort { get; } = FreePort.Get();
    public int FlushIntervalMs { get; init; } = 10_000;
    /// <summary>One storage schema for every series (e.g. <c>1s:1d</c>: one slot per 1 s flush); null = the defaults.</summary>
    public string? Retentions { get; init; }
    /// <summary>YAML under <c>sinks:</c> (indented here; write it at any indent).</summary>
    public string? Sinks { get; init; }
    public string? LogLevel { get; init; } = "warning";
    /// <summary>The whole YAML instead of the generated one, for a test whose configuration is its subject (given this
    /// setup for <see cref="HttpPort"/> and <see cref="Dir"/>).</summary>
    public Func<ObserveSetup, string>? Config { get; init; }
    /// <summary>Extra environment variables for the process.</summary>
    public IDictionary<string, string>? Environment { get; init; }
    /// <summary>When set, the process runs with this descriptor limit (<see cref="ObserveBinary.Run"/>'s openFiles).</summary>
    public int? OpenFiles { get; init; }
    /// <summary>How long one request of <see cref="Client"/> may take.</summary>
    public TimeSpan ClientTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public string Yaml => Config?.Invoke(this) ?? Generated;

    private string Generated
    {
        get
        {
            var y = new StringBuilder();
            y.Append("http: {port: ").Append(HttpPort).Append("}\n");
            y.Append("collector:\n  statsd: {port: ").Append(StatsdPort).Append(", flushInterval: ").Append(FlushIntervalMs).Append("}\n");
            y.Append("  graphite: {enabled: false}\n");
            y.Append("storage:\n  dataDir: ").Append(Dir).Append("/data\n");
            if (Retentions != null) y.Append("  schemas:\n    - {name: all, pattern: \".*\", retentions: \"").Append(Retentions).Append("\"}\n");
            if (Sinks != null) y.Append("sinks:\n").Append(Indent(Sinks, 2));
            if (LogLevel != null) y.Append("logging: {level: ").Append(LogLevel).Append("}\n");
            return y.ToString();
        }
    }

    /// <summary>A client of this process's HTTP API (the port stays the same across restarts).</summary>
    public HttpClient Client() => new() { BaseAddress = new Uri($"http://127.0.0.1:{HttpPort}"), Timeout = ClientTimeout };

    private static string Indent(string yaml, int by) =>
        string.Concat(Dedent(yaml).Split('\n').Select(l => new string(' ', by) + l + "\n"));

    /// <summary>YAML lines without their common indent (and without blank lines).</summary>
    public static string Dedent(string yaml)
    {
        var lines = yaml.Replace("\r", "").Split('\n').Where(l => l.Trim().Length > 0).ToList();
        var common = lines.Min(l => l.Length - l.TrimStart().Length);
        return string.Join("\n", lines.Select(l => l[common..]));
    }
}

/// <summary>
/// The tests' one way to run the real `observe` binary: writes <see cref="ObserveSetup.Yaml"/>, starts the process
/// (<see cref="ObserveBinary.Run"/>), waits until /health answers, and reads /render and /stats.
/// </summary>
internal sealed class ObserveProcess : IAsyncDisposable
{
    private ObserveProcess(ObserveSetup setup, PeerProcess process)
    {
        Setup = setup;
        Process = process;
        Client = setup.Client();
    }

    public ObserveSetup Setup { get; }
    public PeerProcess Process { get; }
    public HttpClient Client { get; }

    /// <summary>Starts observe (output in <paramref name="logName"/> under the setup's directory) and waits until it is healthy.</summary>
    public static async Task<ObserveProcess> StartAsync(ObserveSetup setup, string logName = "observe.log", TimeSpan? healthy = null)
    {
        await File.WriteAllTextAsync(setup.ConfigPath, setup.Yaml);
        var p = new ObserveProcess(setup, ObserveBinary.Run(setup.ConfigPath, setup.Dir, Path.Combine(setup.Dir, logName), setup.Environment, setup.OpenFiles));
        try
        {
            await p.WaitHealthyAsync(healthy ?? TimeSpan.FromSeconds(30));
            return p;
        }
        catch
        {
            await p.DisposeAsync();
            throw;
        }
    }

    public async Task WaitHealthyAsync(TimeSpan within) =>
        await Poll.UntilAsync(async () => (await Client.GetAsync("/health")).IsSuccessStatusCode, within, "observe up");

    /// <summary>The non-null points of <paramref name="target"/> from <paramref name="from"/> until now, by timestamp.</summary>
    public Task<Dictionary<long, double>> RenderAsync(string target, long from) => RenderJson.PointsAsync(Client, target, from);

    public Task<JsonElement> StatsAsync() => Client.GetFromJsonAsync<JsonElement>("/stats");

    public string Log() => Process.Log();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Process.DisposeAsync();
    }
}

/// <summary>The tests' one reader of Graphite /render JSON (Observe's or graphite-web's).</summary>
internal static class RenderJson
{
    /// <summary>Every non-null (timestamp, value) of every series in a /render answer, in order.</summary>
    public static IEnumerable<(long Timestamp, double Value)> Points(JsonElement render) =>
        render.EnumerateArray().SelectMany(s => s.GetProperty("datapoints").EnumerateArray())
            .Where(p => p[0].ValueKind == JsonValueKind.Number).Select(p => (p[1].GetInt64(), p[0].GetDouble()));

    /// <summary>GETs <c>/render?target=…&amp;from=…&amp;until=…&amp;format=json</c> (relative to the client's base, or to
    /// <paramref name="baseUrl"/>) and returns its non-null points.</summary>
    public static async Task<List<(long Timestamp, double Value)>> GetAsync(HttpClient client, string target, string from, string until = "now", string? baseUrl = null)
    {
        var json = await client.GetFromJsonAsync<JsonElement>($"{baseUrl}/render?target={Uri.EscapeDataString(target)}&from={from}&until={until}&format=json");
        return Points(json).ToList();
    }

    /// <summary>The non-null points by timestamp (a later series' point wins on the same timestamp).</summary>
    public static async Task<Dictionary<long, double>> PointsAsync(HttpClient client, string target, long from)
    {
        var result = new Dictionary<long, double>();
        foreach (var (ts, v) in await GetAsync(client, target, from.ToString())) result[ts] = v;
        return result;
    }
}
