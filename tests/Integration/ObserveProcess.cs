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
    /// <summary>A free port unless set (a test of ports themselves gives one: busy, or 0 for any).</summary>
    public int HttpPort { get; init; } = FreePort.Get();
    public int StatsdPort { get; init; } = FreePort.Get();
    public int FlushIntervalMs { get; init; } = 10_000;
    /// <summary>One storage schema for every series (e.g. <c>1s:1d</c>: one slot per 1 s flush); null = the defaults.</summary>
    public string? Retentions { get; init; }
    /// <summary>YAML under <c>sinks:</c> (indented here; write it at any indent).</summary>
    public string? Sinks { get; init; }
    public string? LogLevel { get; init; } = "warning";
    /// <summary>More top-level YAML after the generated sections (checks, alerting, deploys, auth…; write it at any indent).</summary>
    public string? ExtraYaml { get; init; }
    /// <summary>The whole YAML instead of the generated one, for a test whose configuration is its subject (given this
    /// setup for <see cref="HttpPort"/> and <see cref="Dir"/>).</summary>
    public Func<ObserveSetup, string>? Config { get; init; }
    /// <summary>Extra environment variables for the process.</summary>
    public IDictionary<string, string>? Environment { get; init; }
    /// <summary>When set, the process runs with this descriptor limit (<see cref="ObserveBinary.Run"/>'s openFiles).</summary>
    public int? OpenFiles { get; init; }
    /// <summary>How long one request of <see cref="Client"/> may take.</summary>
    public TimeSpan ClientTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>The API is served over https (the test's own certificate, in <see cref="Yaml"/>): <see cref="Client"/> uses
    /// https and accepts any server certificate.</summary>
    public bool Https { get; init; }
    /// <summary>What runs observe instead of <c>dotnet observe.dll</c> (<see cref="ObserveBinary.Run"/>'s command): a
    /// published single file, or a launcher with it (e.g. <c>env -u DOTNET_ROOT … /path/observe</c>).</summary>
    public IReadOnlyList<string>? Command { get; init; }

    public string Yaml => Config?.Invoke(this) ?? Generated;

    /// <summary>Writes <see cref="Yaml"/> to <see cref="ConfigPath"/>, making <see cref="Dir"/> first (a node's own subdirectory).</summary>
    public Task WriteConfigAsync()
    {
        Directory.CreateDirectory(Dir);
        return File.WriteAllTextAsync(ConfigPath, Yaml);
    }

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
            if (ExtraYaml != null) y.Append(Indent(ExtraYaml, 0));
            return y.ToString();
        }
    }

    /// <summary>Where the API answers, e.g. <c>http://127.0.0.1:41234</c> (for a browser, or a CLI's <c>--url</c>).</summary>
    public string BaseUrl => $"{(Https ? "https" : "http")}://127.0.0.1:{HttpPort}";

    /// <summary>A client of this process's HTTP API (the port stays the same across restarts).</summary>
    public HttpClient Client()
    {
        var client = Https ? TestCertificate.InsecureClient(BaseUrl) : new HttpClient { BaseAddress = new Uri(BaseUrl) };
        client.Timeout = ClientTimeout;
        return client;
    }

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
/// (<see cref="ObserveBinary.Run"/>), waits until /health answers, and reads /render and /stats. A test of start-up
/// itself uses <see cref="LaunchAsync"/> (no wait) or <see cref="RunToEndAsync"/> (a start expected to end).
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
        var p = await LaunchAsync(setup, logName);
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

    /// <summary>Writes the config and starts observe without waiting for /health (for a test that watches start-up itself).</summary>
    public static async Task<ObserveProcess> LaunchAsync(ObserveSetup setup, string logName = "observe.log")
    {
        await setup.WriteConfigAsync();
        return new ObserveProcess(setup, ObserveBinary.Run(setup.ConfigPath, setup.Dir, Path.Combine(setup.Dir, logName), setup.Environment,
            setup.OpenFiles, setup.Command));
    }

    /// <summary>
    /// Writes the config and runs <c>observe run</c> to its end (for a start that must fail: a busy port, a missing file);
    /// output captured, not logged. Unlike <see cref="LaunchAsync"/> the log listeners keep the config's ports.
    /// </summary>
    public static async Task<(int Exit, string Stdout, string Stderr)> RunToEndAsync(ObserveSetup setup, TimeSpan? timeout = null)
    {
        await setup.WriteConfigAsync();
        var env = setup.Environment?.ToDictionary(e => e.Key, e => (string?)e.Value);
        return await ObserveBinary.RunToEndAsync(["run", "--config", setup.ConfigPath], env, setup.Dir, timeout);
    }

    /// <summary>Polls /health until it answers 2xx; fails at once, with the log, if the process ends first.</summary>
    public async Task WaitHealthyAsync(TimeSpan within)
    {
        try
        {
            await Poll.UntilAsync(async () => Process.HasExited || (await Client.GetAsync("/health")).IsSuccessStatusCode, within, "observe up");
        }
        catch (TimeoutException e) { throw new TimeoutException($"{e.Message}; log:\n{Log()}", e); }
        if (Process.HasExited) Assert.Fail($"observe exited with {Process.ExitCode} before it was healthy; log:\n{Log()}");
    }

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

    /// <summary>Each series of a /render answer by name, with its non-null points in order.</summary>
    public static IEnumerable<(string Target, List<(long Timestamp, double Value)> Points)> Series(JsonElement render) =>
        render.EnumerateArray().Select(s => (s.GetProperty("target").GetString()!, s.GetProperty("datapoints").EnumerateArray()
            .Where(p => p[0].ValueKind == JsonValueKind.Number).Select(p => (p[1].GetInt64(), p[0].GetDouble())).ToList()));

    /// <summary>A /render JSON answer as comparable text: series sorted by name, every point (null too) with its value as a
    /// double (graphite-web writes 1.0 where Observe writes 1).</summary>
    public static string Canonical(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var series = doc.RootElement.EnumerateArray()
            .Select(s => (Name: s.GetProperty("target").GetString()!, Points: string.Join(",", s.GetProperty("datapoints").EnumerateArray()
                .Select(p => $"[{(p[0].ValueKind == JsonValueKind.Number ? p[0].GetDouble().ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "null")},{p[1].GetInt64()}]"))))
            .OrderBy(s => s.Name, StringComparer.Ordinal);
        return string.Join("\n", series.Select(s => $"{s.Name}: {s.Points}"));
    }

    /// <summary>The non-null points by timestamp (a later series' point wins on the same timestamp).</summary>
    public static async Task<Dictionary<long, double>> PointsAsync(HttpClient client, string target, long from)
    {
        var result = new Dictionary<long, double>();
        foreach (var (ts, v) in await GetAsync(client, target, from.ToString())) result[ts] = v;
        return result;
    }
}
