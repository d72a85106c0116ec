using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// One metric sink's outage, through the real `observe` binary: steady StatsD load (a counter over TCP, every line
/// counted), the server stopped for 60 s, Observe itself restarted twice while its spool holds the undelivered flushes
/// (SIGTERM, then SIGKILL), the server started again; then the sum the server stored must equal the lines sent.
/// Before each restart of Observe the load pauses until two more flushes are in the spool: what a StatsD server loses
/// on SIGKILL is its interval in progress, which no sink could keep, so the test counts only what was flushed.
/// Each sink's test is its own class, so xunit runs the three at the same time.
/// </summary>
public abstract class SinkOutageScenario(ITestOutputHelper output)
{
    protected static readonly TimeSpan Outage = TimeSpan.FromSeconds(60);
    protected const string Counter = "outage.hits";

    protected abstract Task StartServerAsync(string dir);
    protected abstract Task StopServerAsync();
    protected abstract Task RestartServerAsync();
    /// <summary>The YAML of the sink (under <c>sinks:</c>) pointing at the server.</summary>
    protected abstract string SinkYaml { get; }
    /// <summary>The sum of <c>stats_counts.outage.hits</c> the server has stored since <paramref name="from"/>.</summary>
    protected abstract Task<double> StoredSumAsync(long from);
    /// <summary>The stored points, for the failure message.</summary>
    protected virtual Task<string> DescribeStoredAsync(long from) => Task.FromResult("");

    protected async Task RunAsync()
    {
        var dir = Repo.TempDir("outage");
        await StartServerAsync(dir);
        var setup = new ObserveSetup(dir) { FlushIntervalMs = 1000, Sinks = "spool: {retryMaxSeconds: 2}\n" + ObserveSetup.Dedent(SinkYaml) };
        var statsd = setup.StatsdPort;
        using var client = setup.Client();
        var from = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 2;
        long sent = 0;
        var round = 0;
        var perSecond = new SortedDictionary<long, long>();
        var observe = await StartObserve();
        try
        {
            sent += await LoadAsync(TimeSpan.FromSeconds(4));
            await StopServerAsync();
            var outage = Stopwatch.StartNew();
            output.WriteLine($"server stopped after {sent} lines");

            sent += await LoadAsync(Outage / 3);
            await RestartObserve(sigkill: false);
            sent += await LoadAsync(Outage / 3);
            await RestartObserve(sigkill: true);
            var remaining = Outage - outage.Elapsed;
            if (remaining > TimeSpan.Zero) sent += await LoadAsync(remaining);
            var held = await SpoolAsync();
            output.WriteLine($"outage {outage.Elapsed.TotalSeconds:0} s, spool holds {held.GetProperty("records")} records, {sent} lines sent");
            Assert.True(held.GetProperty("records").GetInt64() > 10, "the spool holds the outage's flushes");

            await RestartServerAsync();
            sent += await LoadAsync(TimeSpan.FromSeconds(3));
            await PauseUntilFlushed();
            await Poll.UntilAsync(async () => (await SpoolAsync()).GetProperty("records").GetInt64() == 0,
                TimeSpan.FromSeconds(60), "spool drained after the server came back");
            double stored = 0;
            try
            {
                await Poll.UntilAsync(async () => (stored = await StoredSumAsync(from)) >= sent, TimeSpan.FromSeconds(30), "server to store every count");
            }
            catch (TimeoutException) { }
            var stats = await SpoolAsync();
            output.WriteLine($"sent {sent}, stored {stored}; spool: {stats}");
            if (stored != sent) output.WriteLine("sent per second: " + string.Join(" ", perSecond.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}:{kv.Value}"))
                + "\nstored: " + await DescribeStoredAsync(from));
            Assert.Equal(sent, stored);
            Assert.Equal(0, stats.GetProperty("droppedOldest").GetInt64());
            Assert.Equal(0, stats.GetProperty("rejected").GetInt64());
        }
        finally
        {
            await observe.DisposeAsync();
        }

        Task<ObserveProcess> StartObserve() => ObserveProcess.StartAsync(setup, $"observe-{++round}.log");

        async Task RestartObserve(bool sigkill)
        {
            await PauseUntilFlushed();
            var before = await SpoolAsync();
            if (sigkill) observe.Process.Kill9();
            else Assert.True(await observe.Process.TerminateAsync(TimeSpan.FromSeconds(30)), "observe stopped on SIGTERM");
            await observe.DisposeAsync();
            observe = await StartObserve();
            var after = await SpoolAsync();
            output.WriteLine($"{(sigkill ? "SIGKILL" : "SIGTERM")}: spool {before.GetProperty("records")} records before, {after.GetProperty("records")} after restart");
            Assert.True(after.GetProperty("records").GetInt64() >= before.GetProperty("records").GetInt64(), "restart kept every spooled record");
        }

        // Two more flushes appended after the load stopped: the last line's interval is in the spool.
        async Task PauseUntilFlushed()
        {
            var appended = (await SpoolAsync()).GetProperty("appended").GetInt64();
            await Poll.UntilAsync(async () => (await SpoolAsync()).GetProperty("appended").GetInt64() >= appended + 2,
                TimeSpan.FromSeconds(10), "two more flushes spooled");
        }

        async Task<JsonElement> SpoolAsync()
        {
            var s = await client.GetFromJsonAsync<JsonElement>("/stats");
            return s.GetProperty("spools")[0];
        }

        // Steady load: 10 counter increments every 50 ms over short TCP connections; a line counts once written.
        async Task<long> LoadAsync(TimeSpan duration)
        {
            var line = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(Counter + ":1|c\n", 10)));
            var sw = Stopwatch.StartNew();
            long n = 0;
            while (sw.Elapsed < duration)
            {
                using (var tcp = new TcpClient())
                {
                    await tcp.ConnectAsync("127.0.0.1", statsd);
                    await tcp.GetStream().WriteAsync(line);
                }
                n += 10;
                var sec = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                perSecond[sec] = perSecond.GetValueOrDefault(sec) + 10;
                await Task.Delay(50);
            }
            return n;
        }
    }
}

public sealed class InfluxOutageTests(ITestOutputHelper output) : SinkOutageScenario(output), IAsyncLifetime
{
    private InfluxServer? _influx;

    protected override string SinkYaml => $$"""
          influx:
            - {name: influx, url: "{{_influx!.Url}}", db: observe}
        """;

    protected override async Task StartServerAsync(string dir)
    {
        _influx = await InfluxServer.StartAsync(dir);
        await _influx.CommandAsync("CREATE DATABASE observe");
    }

    protected override Task StopServerAsync() => _influx!.StopProcessAsync();
    protected override Task RestartServerAsync() => _influx!.StartProcessAsync();

    protected override async Task<double> StoredSumAsync(long from)
    {
        var s = await _influx!.QueryAsync("observe", $"SELECT sum(\"value\") FROM \"stats_counts.{Counter}\" WHERE time >= {from}s");
        return s is { } series ? series[0].GetProperty("values")[0][1].GetDouble() : 0;
    }

    protected override async Task<string> DescribeStoredAsync(long from)
    {
        var s = await _influx!.QueryAsync("observe", $"SELECT \"value\" FROM \"stats_counts.{Counter}\" WHERE time >= {from}s");
        return s is { } series ? string.Join(" ", series[0].GetProperty("values").EnumerateArray().Select(v => $"{v[0]}:{v[1]}")) : "";
    }

    [Fact]
    public Task InfluxDB_v1_outage_of_60s_with_observe_restarted_by_SIGTERM_and_SIGKILL_loses_no_count() => RunAsync();

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() { if (_influx != null) await _influx.DisposeAsync(); }
}

public sealed class VictoriaMetricsOutageTests(ITestOutputHelper output) : SinkOutageScenario(output), IAsyncLifetime
{
    private VictoriaMetricsServer? _vm;

    protected override string SinkYaml => $$"""
          influx:
            - {name: vm, url: "{{_vm!.Url}}", version: 2, org: o, bucket: b}
        """;

    protected override async Task StartServerAsync(string dir) => _vm = await VictoriaMetricsServer.StartAsync(dir);
    protected override Task StopServerAsync() => _vm!.StopProcessAsync();
    protected override Task RestartServerAsync() => _vm!.StartProcessAsync();

    protected override async Task<double> StoredSumAsync(long from)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var r = await _vm!.QueryAsync($"sum_over_time({{__name__=\"stats_counts.{Counter}_value\"}}[{now - from + 1}s])", now);
        return r.Count == 0 ? 0 : r.Single().Value;
    }

    [Fact]
    public Task VictoriaMetrics_v2_outage_of_60s_with_observe_restarted_by_SIGTERM_and_SIGKILL_loses_no_count() => RunAsync();

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() { if (_vm != null) await _vm.DisposeAsync(); }
}

public sealed class CarbonOutageTests(ITestOutputHelper output) : SinkOutageScenario(output), IAsyncLifetime
{
    private GraphiteServer? _graphite;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(20) };

    protected override string SinkYaml => $$"""
          carbon:
            - {name: carbon, port: {{_graphite!.LinePort}}}
        """;

    // 1 s slots: every flush keeps its own point, so the sum over them is the count.
    protected override async Task StartServerAsync(string dir) => _graphite = await GraphiteServer.StartAsync(dir, [("all", ".*", "1s:1d")]);
    protected override Task StopServerAsync() => _graphite!.StopCarbonAsync();
    protected override Task RestartServerAsync() => _graphite!.StartCarbonAsync();

    protected override async Task<double> StoredSumAsync(long from)
    {
        return (await RenderJson.GetAsync(_http, $"stats_counts.{Counter}", from.ToString(), baseUrl: _graphite!.WebUrl)).Sum(p => p.Value);
    }

    protected override async Task<string> DescribeStoredAsync(long from)
    {
        return string.Join(" ", (await RenderJson.GetAsync(_http, $"stats_counts.{Counter}", from.ToString(), baseUrl: _graphite!.WebUrl)).Select(p => $"{p.Timestamp}:{p.Value}"));
    }

    [Fact]
    public Task Carbon_outage_of_60s_with_observe_restarted_by_SIGTERM_and_SIGKILL_loses_no_count() => RunAsync();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_graphite != null) await _graphite.DisposeAsync();
        _http.Dispose();
    }
}
