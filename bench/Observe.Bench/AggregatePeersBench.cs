// Fleet-wide aggregation over HTTP, Observe vs VictoriaMetrics on the same points (issue 21): --aggregate --peers.
// Observe: /render?target=sumSeries(fleet.*.requests) served by MapGraphiteApi in a minimal Kestrel app over the store
// AggregateBench wrote. VictoriaMetrics 1.79 (Debian package, started as tests/Integration's VictoriaMetricsServer starts
// it, rollup result cache off): the same points imported through /api/v1/import as fleet_requests{host="hostNNNNN"},
// queried through its Prometheus API (query_range, step 10 s, same window). Each request timed until the whole body
// has arrived; 1 warm-up each, then alternating requests.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Observe.Storage;
using Observe.Storage.Graphite;
using Observe.Storage.Tsdb;

namespace Observe.Bench;

static class AggregatePeersBench
{
    public static async Task RunAsync(TimeSeriesStore store, string dir, string[] names, double[][] values, long start, long now, int runs)
    {
        int n = names.Length;
        int vmPort = RenderBench.FreePort();
        var vmDir = Directory.CreateDirectory(Path.Combine(dir, "vm")).FullName;
        var psi = new ProcessStartInfo("/usr/bin/victoria-metrics") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { $"-storageDataPath={vmDir}/data", $"-httpListenAddr=127.0.0.1:{vmPort}", "-retentionPeriod=100y",
                                  "-search.disableCache", "-search.latencyOffset=0s" }) psi.ArgumentList.Add(a);
        using var vm = Process.Start(psi)!;
        _ = vm.StandardOutput.ReadToEndAsync(); _ = vm.StandardError.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(300) };
            string vmUrl = $"http://127.0.0.1:{vmPort}";
            await Until(async () => (await http.GetAsync($"{vmUrl}/health")).IsSuccessStatusCode, "victoria-metrics /health");
            var sw = Stopwatch.StartNew();
            var sb = new StringBuilder();
            for (int i = 0; i < n; i++)
            {
                sb.Append("{\"metric\":{\"__name__\":\"fleet_requests\",\"host\":\"").Append(names[i].Split('.')[1]).Append("\"},\"values\":[");
                for (int j = 0; j < values[i].Length; j++) sb.Append(j == 0 ? "" : ",").Append(values[i][j].ToString("R", CultureInfo.InvariantCulture));
                sb.Append("],\"timestamps\":[");
                for (int j = 0; j < values[i].Length; j++) sb.Append(j == 0 ? "" : ",").Append((start + 10L * j) * 1000);
                sb.Append("]}\n");
                if (sb.Length > 8 << 20 || i == n - 1)
                {
                    (await http.PostAsync($"{vmUrl}/api/v1/import", new StringContent(sb.ToString()))).EnsureSuccessStatusCode();
                    sb.Clear();
                }
            }
            await http.GetAsync($"{vmUrl}/internal/force_flush");
            await Until(async () =>
            {
                var doc = JsonDocument.Parse(await http.GetStringAsync($"{vmUrl}/api/v1/query?query=count(fleet_requests)&time={now}"));
                var r = doc.RootElement.GetProperty("data").GetProperty("result");
                return r.GetArrayLength() == 1 && r[0].GetProperty("value")[1].GetString() == n.ToString(CultureInfo.InvariantCulture);
            }, "victoria-metrics sees every series");
            Console.WriteLine($"  VictoriaMetrics: {n} series imported and searchable in {sw.Elapsed.TotalSeconds:F1} s");
            // Its background merges of the freshly imported parts would otherwise take CPU from the timed requests of both.
            await Until(async () => (await http.GetStringAsync($"{vmUrl}/metrics")).Split('\n')
                .Where(l => l.StartsWith("vm_active_merges", StringComparison.Ordinal))
                .All(l => l.EndsWith(" 0", StringComparison.Ordinal)), "victoria-metrics merges done");
            Console.WriteLine($"  VictoriaMetrics: background merges done after {sw.Elapsed.TotalSeconds:F1} s");

            using var events = GraphiteEventStore.Open(dir);
            int port = RenderBench.FreePort();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
            await using var app = builder.Build();
            // Default limits, except storage.render.maxPoints: the raw fetch of 1 000 series x 6 h holds 2.16 M points (default 2 M).
            app.MapGraphiteApi(store, events, new RenderLimitOptions { MaxPoints = 4_000_000 });
            await app.StartAsync();

            long from = now - 6 * 3600 + 120; // just inside the 10 s archive (10s:6h)
            string oBase = $"http://127.0.0.1:{port}/render?format=json&from={from}&until={now}&target=";
            string vBase = $"{vmUrl}/api/v1/query_range?start={from}&end={now}&step=10s&query=";
            var cases = new List<(string What, string ObserveUrl, string VmUrl)>
            {
                ($"sum over {n,6} series", oBase + Uri.EscapeDataString("sumSeries(fleet.*.requests)"), vBase + Uri.EscapeDataString("sum(fleet_requests)")),
            };
            if (n <= 1000) cases.Add(($"raw fetch of {n} series", oBase + Uri.EscapeDataString("fleet.*.requests"), vBase + "fleet_requests"));
            var buffer = new byte[64 << 20];
            foreach (var (what, oUrl, vUrl) in cases)
            {
                var (oMs, vMs) = (new List<double>(), new List<double>());
                long oBytes = 0, vBytes = 0;
                for (int r = 0; r <= runs; r++)
                {
                    var t = Stopwatch.StartNew();
                    oBytes = await Get(http, oUrl, buffer);
                    if (r > 0) oMs.Add(t.Elapsed.TotalMilliseconds);
                    t.Restart();
                    vBytes = await Get(http, vUrl, buffer);
                    if (r > 0) vMs.Add(t.Elapsed.TotalMilliseconds);
                }
                oMs.Sort(); vMs.Sort();
                Console.WriteLine($"  {what}: Observe median {oMs[oMs.Count / 2],7:F1} ms (min {oMs[0]:F1}, max {oMs[^1]:F1}, {oBytes:N0} bytes)"
                                  + $" | VictoriaMetrics median {vMs[vMs.Count / 2],7:F1} ms (min {vMs[0]:F1}, max {vMs[^1]:F1}, {vBytes:N0} bytes)"
                                  + $" | ratio {oMs[oMs.Count / 2] / vMs[vMs.Count / 2]:F2}");
            }
            // Sanity: both sums cover the same points (VictoriaMetrics' query_range takes the last sample at or before each step).
            var oSum = JsonDocument.Parse(await http.GetStringAsync(cases[0].ObserveUrl)).RootElement[0].GetProperty("datapoints").EnumerateArray()
                .Where(p => p[0].ValueKind == JsonValueKind.Number).Select(p => p[0].GetDouble()).ToList();
            var vSum = JsonDocument.Parse(await http.GetStringAsync(cases[0].VmUrl)).RootElement.GetProperty("data").GetProperty("result")[0]
                .GetProperty("values").EnumerateArray().Select(p => double.Parse(p[1].GetString()!, CultureInfo.InvariantCulture)).ToList();
            Console.WriteLine($"  check: Observe {oSum.Count} sums, mean {oSum.Average():F1}; VictoriaMetrics {vSum.Count} sums, mean {vSum.Average():F1}");
        }
        finally
        {
            vm.Kill(true);
            await vm.WaitForExitAsync();
        }
    }

    private static async Task<long> Get(HttpClient http, string url, byte[] buffer)
    {
        using var resp = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        if (!resp.IsSuccessStatusCode) throw new InvalidOperationException($"{url}: {(int)resp.StatusCode} {await resp.Content.ReadAsStringAsync()}");
        await using var s = await resp.Content.ReadAsStreamAsync();
        long total = 0;
        int k;
        while ((k = await s.ReadAsync(buffer)) > 0) total += k;
        return total;
    }

    private static async Task Until(Func<Task<bool>> ok, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            try { if (await ok()) return; }
            catch (HttpRequestException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException(what);
            await Task.Delay(100);
        }
    }
}
