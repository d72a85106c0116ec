using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>
/// A real Prometheus 2.42 on 127.0.0.1 (tests/peers/install.sh), with the remote-write receiver on and, when given, a
/// 1 s scrape of one target. The TSDB directory survives <see cref="StopAsync"/>/<see cref="StartAsync"/> so an outage
/// test can restart the same server.
/// </summary>
internal sealed class PrometheusPeer : IAsyncDisposable
{
    private readonly string _dir;
    private readonly string? _scrapeTarget;
    private PeerProcess? _process;
    private int _starts;

    public int Port { get; } = FreePort.Get();
    public HttpClient Client { get; }
    public string RemoteWriteUrl => $"http://127.0.0.1:{Port}/api/v1/write";

    private PrometheusPeer(string dir, string? scrapeTarget)
    {
        _dir = dir;
        _scrapeTarget = scrapeTarget;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public static string Binary()
    {
        foreach (var p in new[] { "/usr/bin/prometheus", Path.Combine(Repo.Root, "tests", "peers", "prometheus", "usr", "bin", "prometheus") })
            if (File.Exists(p)) return p;
        Assert.Fail("Prometheus is not installed: run tests/peers/install.sh");
        return "";
    }

    /// <summary>Starts Prometheus; <paramref name="scrapeTarget"/> (host:port) is scraped every second at /metrics as job "observe".</summary>
    public static async Task<PrometheusPeer> StartAsync(string name, string? scrapeTarget = null)
    {
        var peer = new PrometheusPeer(Repo.TempDir(name), scrapeTarget);
        await peer.StartAsync();
        return peer;
    }

    public async Task StartAsync()
    {
        var config = Path.Combine(_dir, "prometheus.yml");
        await File.WriteAllTextAsync(config, _scrapeTarget == null
            ? "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            : $"global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nscrape_configs:\n  - job_name: observe\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['{_scrapeTarget}']\n");
        _process = PeerProcess.Start(Binary(),
        [
            $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(_dir, "data")}", $"--web.listen-address=127.0.0.1:{Port}",
            "--web.enable-remote-write-receiver", "--web.enable-lifecycle",
        ], _dir, Path.Combine(_dir, $"prometheus-{++_starts}.log"));
        await Poll.UntilAsync(async () => (await Client.GetAsync("/-/ready")).IsSuccessStatusCode, TimeSpan.FromSeconds(60),
            "Prometheus ready");
    }

    /// <summary>SIGTERM (Prometheus writes its head to disk), and waits for the process to end.</summary>
    public async Task StopAsync()
    {
        if (_process == null) return;
        Assert.True(await _process.TerminateAsync(TimeSpan.FromSeconds(30)), "Prometheus did not stop");
        await _process.DisposeAsync();
        _process = null;
    }

    public string Log() => string.Join("\n", Directory.GetFiles(_dir, "prometheus-*.log").Select(File.ReadAllText));

    /// <summary>An instant query: each series' labels and value.</summary>
    public async Task<List<(Dictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        var json = await Client.GetFromJsonAsync<JsonElement>($"/api/v1/query?query={Uri.EscapeDataString(promql)}");
        Assert.Equal("success", json.GetProperty("status").GetString());
        return json.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(r => (Labels(r), ParseValue(r.GetProperty("value")[1]))).ToList();
    }

    /// <summary>A range query: each series' labels and its (unix seconds, value) points.</summary>
    public async Task<List<(Dictionary<string, string> Labels, List<(double Time, double Value)> Points)>> QueryRangeAsync(string promql, long start, long end, double step)
    {
        var url = $"/api/v1/query_range?query={Uri.EscapeDataString(promql)}&start={start}&end={end}&step={step.ToString(CultureInfo.InvariantCulture)}";
        var json = await Client.GetFromJsonAsync<JsonElement>(url);
        Assert.Equal("success", json.GetProperty("status").GetString());
        return json.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(r => (Labels(r), r.GetProperty("values").EnumerateArray().Select(v => (v[0].GetDouble(), ParseValue(v[1]))).ToList())).ToList();
    }

    private static Dictionary<string, string> Labels(JsonElement r) =>
        r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);

    private static double ParseValue(JsonElement v) => double.Parse(v.GetString()!, CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        if (_process != null) await _process.DisposeAsync();
        Client.Dispose();
    }
}
