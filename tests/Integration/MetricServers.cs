using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>
/// Real carbon-cache 1.1.7 + graphite-web 1.1.8 on free loopback ports in <see cref="Dir"/> (see SERVERS.md).
/// carbon-cache can be stopped and started again on the same ports and whisper files (outage tests).
/// </summary>
public sealed class GraphiteServer : IAsyncDisposable
{
    public string Dir { get; }
    public int LinePort { get; } = FreePort.Get();
    public int PicklePort { get; } = FreePort.Get();
    public string WebUrl { get; }
    private readonly int _web = FreePort.Get();
    private readonly Dictionary<string, string> _env;
    private PeerProcess? _carbon, _webProcess;
    private int _carbonStarts;

    private GraphiteServer(string dir)
    {
        Dir = dir;
        WebUrl = $"http://127.0.0.1:{_web}";
        _env = new()
        {
            ["PYTHONPATH"] = Path.Combine(Dir, "web"),
            ["DJANGO_SETTINGS_MODULE"] = "graphite.settings",
            ["GRAPHITE_SETTINGS_MODULE"] = "observe_graphite_settings",
        };
    }

    /// <summary>Writes the configs (with <paramref name="schemas"/> as storage-schemas.conf), migrates graphite-web's DB, starts both.</summary>
    public static async Task<GraphiteServer> StartAsync(string dir, IEnumerable<(string Name, string Pattern, string Retentions)> schemas,
        string aggregation = "[default]\npattern = .*\nxFilesFactor = 0\naggregationMethod = average\n")
    {
        var g = new GraphiteServer(dir);
        int pickle = g.PicklePort, query = FreePort.Get();
        foreach (var d in new[] { "conf", "storage/whisper", "storage/lists", "log", "run", "web" }) Directory.CreateDirectory(Path.Combine(dir, d));
        File.WriteAllText(Path.Combine(dir, "conf/carbon.conf"), $"""
            [cache]
            STORAGE_DIR = {dir}/storage
            LOCAL_DATA_DIR = {dir}/storage/whisper
            WHITELISTS_DIR = {dir}/storage/lists
            CONF_DIR = {dir}/conf
            LOG_DIR = {dir}/log
            PID_DIR = {dir}/run
            USER =
            MAX_CACHE_SIZE = inf
            MAX_UPDATES_PER_SECOND = inf
            MAX_CREATES_PER_MINUTE = inf
            LINE_RECEIVER_INTERFACE = 127.0.0.1
            LINE_RECEIVER_PORT = {g.LinePort}
            ENABLE_UDP_LISTENER = False
            PICKLE_RECEIVER_INTERFACE = 127.0.0.1
            PICKLE_RECEIVER_PORT = {pickle}
            CACHE_QUERY_INTERFACE = 127.0.0.1
            CACHE_QUERY_PORT = {query}
            ENABLE_TAGS = True
            GRAPHITE_URL = http://127.0.0.1:{g._web}
            CARBON_METRIC_INTERVAL = 0
            LOG_UPDATES = False
            LOG_CREATES = False

            """);
        File.WriteAllText(Path.Combine(dir, "conf/storage-schemas.conf"),
            string.Concat(schemas.Select(s => $"[{s.Name}]\npattern = {s.Pattern}\nretentions = {s.Retentions}\n\n")));
        File.WriteAllText(Path.Combine(dir, "conf/storage-aggregation.conf"), aggregation);
        File.WriteAllText(Path.Combine(dir, "web/observe_graphite_settings.py"), $$"""
            import inspect
            # Python 3.11 removed these; graphite-web's /functions still calls them.
            if not hasattr(inspect, 'getargspec'):
                inspect.getargspec = lambda f: tuple(inspect.getfullargspec(f)[:4])
            if not hasattr(inspect, 'formatargspec'):
                def _fmt(args, varargs=None, varkw=None, defaults=None):
                    defaults = defaults or ()
                    first = len(args) - len(defaults)
                    parts = [a + ('=' + repr(defaults[i - first]) if i >= first else '') for i, a in enumerate(args)]
                    if varargs: parts.append('*' + varargs)
                    if varkw: parts.append('**' + varkw)
                    return '(' + ', '.join(parts) + ')'
                inspect.formatargspec = _fmt
            SECRET_KEY = 'observe-differential-test'
            ALLOWED_HOSTS = ['*']
            TIME_ZONE = 'UTC'
            GRAPHITE_ROOT = '/usr/share/graphite-web'
            STORAGE_DIR = '{{dir}}/storage'
            WHISPER_DIR = '{{dir}}/storage/whisper'
            LOG_DIR = '{{dir}}/log'
            INDEX_FILE = '{{dir}}/storage/index'
            CARBONLINK_HOSTS = ['127.0.0.1:{{query}}']
            DEFAULT_XFILES_FACTOR = 0
            DEFAULT_CACHE_DURATION = 0
            DATABASES = dict(default=dict(NAME='{{dir}}/graphite.db', ENGINE='django.db.backends.sqlite3', USER='', PASSWORD='', HOST='', PORT=''))

            """);
        var migrate = new ProcessStartInfo("/usr/bin/python3") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "/usr/bin/graphite-manage", "migrate", "--run-syncdb", "--noinput" }) migrate.ArgumentList.Add(a);
        foreach (var (k, v) in g._env) migrate.Environment[k] = v;
        using (var p = Process.Start(migrate)!)
        {
            var err = p.StandardError.ReadToEndAsync();
            await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            if (p.ExitCode != 0) throw new InvalidOperationException("graphite-manage migrate failed: " + await err);
        }
        await g.StartCarbonAsync();
        g._webProcess = PeerProcess.Start("/usr/bin/python3", ["/usr/bin/graphite-manage", "runserver", $"127.0.0.1:{g._web}", "--noreload"],
            dir, Path.Combine(dir, "web.log"), g._env);
        using var http = new HttpClient();
        await Poll.UntilAsync(async () => (await http.GetAsync($"{g.WebUrl}/metrics/find?query=*")).IsSuccessStatusCode,
            TimeSpan.FromSeconds(40), "graphite-web to answer");
        return g;
    }

    /// <summary>Starts carbon-cache (again) and waits for its line receiver.</summary>
    public async Task StartCarbonAsync()
    {
        var n = ++_carbonStarts;
        _carbon = PeerProcess.Start("/usr/bin/python3",
            ["/usr/bin/carbon-cache", $"--config={Dir}/conf/carbon.conf", $"--pidfile={Dir}/run/carbon.pid", "--debug", "start"],
            Dir, Path.Combine(Dir, $"carbon-{n}.log"), _env);
        await Poll.UntilAsync(async () =>
        {
            using var c = new TcpClient();
            await c.ConnectAsync(IPAddress.Loopback, LinePort);
            return true;
        }, TimeSpan.FromSeconds(30), "carbon-cache line receiver");
    }

    /// <summary>Stops carbon-cache by PID (SIGTERM: it writes its cache out first).</summary>
    public async Task StopCarbonAsync()
    {
        if (_carbon == null) return;
        await _carbon.DisposeAsync();
        Assert.True(_carbon.HasExited, "carbon-cache still running");
        _carbon = null;
    }

    public bool Stopped => _carbon?.HasExited != false && _webProcess?.HasExited != false;

    public async ValueTask DisposeAsync()
    {
        if (_webProcess != null) await _webProcess.DisposeAsync();
        if (_carbon != null) await _carbon.DisposeAsync();
    }
}

/// <summary>A real InfluxDB 1.6 (<c>influxd</c>) on free loopback ports; stoppable and restartable on the same data.</summary>
public sealed class InfluxServer : IAsyncDisposable
{
    public string Dir { get; }
    public int Port { get; } = FreePort.Get();
    public string Url => $"http://127.0.0.1:{Port}";
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private PeerProcess? _process;
    private int _starts;

    private InfluxServer(string dir) => Dir = dir;

    public static async Task<InfluxServer> StartAsync(string dir)
    {
        var s = new InfluxServer(dir);
        File.WriteAllText(Path.Combine(dir, "influxdb.conf"), $"""
            reporting-enabled = false
            bind-address = "127.0.0.1:{FreePort.Get()}"
            [meta]
              dir = "{dir}/meta"
            [data]
              dir = "{dir}/data"
              wal-dir = "{dir}/wal"
              query-log-enabled = false
            [monitor]
              store-enabled = false
            [http]
              bind-address = "127.0.0.1:{s.Port}"
              log-enabled = false
            [ifql]
              enabled = false
            """);
        await s.StartProcessAsync();
        return s;
    }

    public async Task StartProcessAsync()
    {
        _process = PeerProcess.Start("influxd", ["-config", Path.Combine(Dir, "influxdb.conf")], Dir, Path.Combine(Dir, $"influxd-{++_starts}.log"));
        await Poll.UntilAsync(async () => (await _http.GetAsync($"{Url}/ping")).StatusCode == HttpStatusCode.NoContent,
            TimeSpan.FromSeconds(30), "influxd /ping");
    }

    public async Task StopProcessAsync()
    {
        if (_process == null) return;
        await _process.DisposeAsync();
        Assert.True(_process.HasExited, "influxd still running");
        _process = null;
    }

    public async Task CommandAsync(string q)
    {
        var r = await _http.PostAsync($"{Url}/query", new FormUrlEncodedContent([new("q", q)]));
        r.EnsureSuccessStatusCode();
    }

    /// <summary>Runs an InfluxQL query; the first series of the first result (null when there is none).</summary>
    public async Task<JsonElement?> QueryAsync(string db, string q)
    {
        var json = await _http.GetStringAsync($"{Url}/query?db={Uri.EscapeDataString(db)}&epoch=s&q={Uri.EscapeDataString(q)}");
        var doc = JsonDocument.Parse(json).RootElement.GetProperty("results")[0];
        if (doc.TryGetProperty("error", out var e)) throw new InvalidOperationException(e.GetString());
        return doc.TryGetProperty("series", out var series) ? series : null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopProcessAsync();
        _http.Dispose();
    }
}

/// <summary>A real VictoriaMetrics 1.79 single-node on free loopback ports (HTTP and Graphite plaintext); restartable.</summary>
public sealed class VictoriaMetricsServer : IAsyncDisposable
{
    public string Dir { get; }
    public int Port { get; } = FreePort.Get();
    public int GraphitePort { get; } = FreePort.Get();
    public string Url => $"http://127.0.0.1:{Port}";
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private PeerProcess? _process;
    private int _starts;

    private VictoriaMetricsServer(string dir) => Dir = dir;

    public static async Task<VictoriaMetricsServer> StartAsync(string dir)
    {
        var s = new VictoriaMetricsServer(dir);
        await s.StartProcessAsync();
        return s;
    }

    public async Task StartProcessAsync()
    {
        // dedup at 1 ms: a record delivered twice (at-least-once) is the same sample, stored once.
        _process = PeerProcess.Start("victoria-metrics",
            [$"-storageDataPath={Dir}/data", $"-httpListenAddr=127.0.0.1:{Port}", $"-graphiteListenAddr=127.0.0.1:{GraphitePort}",
             "-retentionPeriod=100y", "-search.disableCache", "-search.latencyOffset=0s", "-dedup.minScrapeInterval=1ms"],
            Dir, Path.Combine(Dir, $"vm-{++_starts}.log"));
        await Poll.UntilAsync(async () => (await _http.GetAsync($"{Url}/health")).IsSuccessStatusCode, TimeSpan.FromSeconds(30), "victoria-metrics /health");
    }

    public async Task StopProcessAsync()
    {
        if (_process == null) return;
        await _process.DisposeAsync();
        Assert.True(_process.HasExited, "victoria-metrics still running");
        _process = null;
    }

    /// <summary>An instant PromQL query; each result's metric labels and value.</summary>
    public async Task<List<(Dictionary<string, string> Labels, double Value)>> QueryAsync(string promql, long? time = null)
    {
        await _http.GetAsync($"{Url}/internal/force_flush");
        var url = $"{Url}/api/v1/query?query={Uri.EscapeDataString(promql)}" + (time is { } t ? $"&time={t}" : "");
        var root = JsonDocument.Parse(await _http.GetStringAsync(url)).RootElement;
        var list = new List<(Dictionary<string, string>, double)>();
        foreach (var r in root.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
            list.Add((labels, double.Parse(r.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture)));
        }
        return list;
    }

    public async ValueTask DisposeAsync()
    {
        await StopProcessAsync();
        _http.Dispose();
    }
}
