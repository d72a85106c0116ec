using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Collector;
using Observe.Collector.Logs;
using Observe.Storage;
using Observe.Storage.Logs;

namespace Observe.Bench;

/// <summary>
/// Log ingest: UDP JSON and GELF (gzip, Docker-style, whole datagrams and 3-chunk messages) sent as fast as one sender
/// thread can over loopback into the real listeners → pipeline → embedded FTS5 store, for --seconds each. Reports
/// datagrams sent, logs accepted and stored per second (the difference is kernel UDP drops under overload), and the
/// time from sending one marker log until a search finds it (--probes samples, idle and under load).
/// </summary>
internal static class LogsBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = int.Parse(Arg(args, "--seconds") ?? "10");
        var probes = int.Parse(Arg(args, "--probes") ?? "20");
        var dir = Path.Combine(Path.GetTempPath(), "observe-logs-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        Console.WriteLine($"logs bench: {seconds} s per case, {probes} search probes, {Environment.ProcessorCount} cores, load {Load()}");
        StoreOnly(dir);
        foreach (var kind in new[] { "udp-json", "gelf-gzip", "gelf-gzip-chunked" })
        {
            using var store = LogStore.Open(Path.Combine(dir, kind + ".db"), new LogStoreOptions(), startRetentionTimer: false);
            var options = new LogsOptions { MetricPrefix = "" };
            options.Udp.Port = 0;
            options.Gelf.Port = 0;
            options.Gelf.Tcp = false;
            var service = new LogIngestService(options, [store], null, 10_000, NullLoggerFactory.Instance, TimeProvider.System);
            await service.StartAsync(CancellationToken.None);
            var target = kind == "udp-json" ? service.Udp!.LocalEndPoint : service.GelfUdp!.LocalEndPoint;
            var datagrams = Datagrams(kind, 4096);

            var idle = await Probe(store, target, kind, probes);
            var load0 = Load();
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            var sw = Stopwatch.StartNew();
            var sender = Task.Run(() => Blast(target, datagrams, stop.Token));
            var underLoad = await Probe(store, target, kind, probes, stop.Token);
            var (sentDatagrams, sentLogs, sendSeconds) = await sender;
            // Everything accepted is stored once the pipeline has drained.
            // Everything the kernel still holds is read and stored: accepted stops growing and the store has it all.
            while (sw.Elapsed.TotalSeconds < sendSeconds + 60)
            {
                var a = service.Snapshot().Accepted;
                await Task.Delay(200);
                if (service.Snapshot().Accepted == a && store.Stats.Inserted >= a) break;
            }
            var storedSeconds = sw.Elapsed.TotalSeconds - 0.2; // less the last quiet poll
            var s = service.Snapshot();
            await service.StopAsync(CancellationToken.None);
            await service.DisposeAsync();
            var probeLogs = Interlocked.Exchange(ref _probeSends, 0);
            var ingested = s.Accepted - probeLogs;
            Console.WriteLine($"{kind}: sent {sentLogs:N0} logs ({sentDatagrams:N0} datagrams) in {sendSeconds:F1} s = {sentLogs / sendSeconds:N0} logs/s; " +
                              $"accepted {ingested:N0} = {ingested / sendSeconds:N0} logs/s ({100.0 * (sentLogs - ingested) / sentLogs:F1} % lost in the kernel); " +
                              $"all stored {storedSeconds:F1} s after the start = {store.Stats.Inserted / storedSeconds:N0} logs/s; rejected {s.Rejected.Values.Sum()}; load {load0} → {Load()}");
            Console.WriteLine($"  sent → searchable: idle median {Median(idle):F0} ms (max {idle.Max():F0}); under load median {Median(underLoad):F0} ms (max {(underLoad.Count > 0 ? underLoad.Max() : 0):F0}, {underLoad.Count} probes)");
        }
        Directory.Delete(dir, recursive: true);
        return 0;
    }

    /// <summary>The store alone: 200 batches of 1000 parsed events (as the pipeline hands them over), inserted in a row.</summary>
    private static void StoreOnly(string dir)
    {
        using var store = LogStore.Open(Path.Combine(dir, "store-only.db"), new LogStoreOptions(), startRetentionTimer: false);
        var now = DateTimeOffset.UtcNow;
        var events = Datagrams("udp-json", 1000).Select(d => { LogJsonParser.TryParse(d, now, out var e, out _, out _); return e!; }).ToList();
        var load0 = Load();
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < 200; i++) store.Insert(events);
        var seconds = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var hits = store.Search(new LogQuery("payment AND timeout", null, null, null, null, null, 100)).Count;
        var searchMs = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        var newest = store.Search(new LogQuery(null, "checkout", ["error"], null, null, null, 100)).Count;
        Console.WriteLine($"store only: 200 000 logs in 200 batches in {seconds:F1} s = {200_000 / seconds:N0} logs/s; search 'payment AND timeout' over 200 000 " +
                          $"(100 newest of many) {searchMs:F0} ms, service+level filter {sw.Elapsed.TotalMilliseconds:F0} ms ({hits}, {newest} rows); " +
                          $"{new FileInfo(store.DatabasePath).Length / 200_000.0:F0} bytes/log in logs.db (WAL not counted); load {load0} → {Load()}");
    }

    private static List<byte[]> Datagrams(string kind, int count)
    {
        var r = new Random(7);
        var list = new List<byte[]>(count);
        string[] services = ["checkout", "cart", "api", "search", "worker"];
        string[] words = ["payment", "order", "timeout", "retry", "user", "session", "cache", "miss", "db", "query", "slow", "ok"];
        for (var i = 0; i < count; i++)
        {
            var text = string.Join(' ', Enumerable.Range(0, 8).Select(_ => words[r.Next(words.Length)])) + $" id={r.Next():x}";
            if (kind == "udp-json")
            {
                list.Add(Encoding.UTF8.GetBytes($$"""{"timestamp":"{{DateTime.UtcNow:O}}","level":"{{(i % 10 == 0 ? "error" : "info")}}","service":"{{services[i % 5]}}","host":"web{{i % 4}}","message":"{{text}}","request_id":"{{r.Next():x8}}","duration_ms":{{r.Next(1, 900)}}}"""));
                continue;
            }
            // As Docker's gelf driver sends it; the chunked case pads the message with random hex so it needs 3 chunks.
            var pad = kind == "gelf-gzip-chunked" ? Convert.ToHexString(RandomBytes(r, 1700)) : "";
            var json = Encoding.UTF8.GetBytes($$"""{"version":"1.1","host":"docker-host","short_message":"{{text}}","timestamp":{{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0:F3}},"level":{{(i % 10 == 0 ? 3 : 6)}},"_container_name":"{{services[i % 5]}}","_container_id":"4e7f0c1a","_image_name":"shop/{{services[i % 5]}}","_command":"/app/run","_tag":"4e7f0c1a","_pad":"{{pad}}"}""");
            using var ms = new MemoryStream();
            using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(json);
            var payload = ms.ToArray();
            if (payload.Length <= 1420) { list.Add(payload); continue; }
            var id = RandomBytes(r, 8);
            var n = (payload.Length + 1407) / 1408;
            for (var c = 0; c < n; c++)
            {
                var data = payload.AsSpan(c * 1408, Math.Min(1408, payload.Length - c * 1408));
                var d = new byte[12 + data.Length];
                d[0] = 0x1e; d[1] = 0x0f; id.CopyTo(d, 2); d[10] = (byte)c; d[11] = (byte)n;
                data.CopyTo(d.AsSpan(12));
                list.Add(d);
            }
        }
        return list;
    }

    private static byte[] RandomBytes(Random r, int n) { var b = new byte[n]; r.NextBytes(b); return b; }

    /// <summary>Chunked messages are sent whole (all their chunks, in order); returns datagrams and logs sent.</summary>
    private static (long Datagrams, long Logs, double Seconds) Blast(IPEndPoint target, List<byte[]> datagrams, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Connect(target);
        long sent = 0, logs = 0, messageId = 0;
        var i = 0;
        while (!ct.IsCancellationRequested)
        {
            for (var k = 0; k < 64; k++)
            {
                var d = datagrams[i];
                // Each chunked message sent gets a fresh id, as a real sender's would (a repeated id within the chunk
                // timeout is taken for late duplicates of a message already complete).
                if (d.Length >= 12 && d[0] == 0x1e && d[1] == 0x0f)
                {
                    if (d[10] == 0) messageId++;
                    BitConverter.TryWriteBytes(d.AsSpan(2, 8), messageId);
                }
                s.Send(d);
                sent++;
                // A chunk counts as a log with its last chunk; a whole message at once.
                if (d.Length < 12 || d[0] != 0x1e || d[10] == d[11] - 1) logs++;
                i = (i + 1) % datagrams.Count;
            }
        }
        // Finish a message whose chunks were cut off.
        while (datagrams[i][0] == 0x1e && datagrams[i][10] != 0)
        {
            BitConverter.TryWriteBytes(datagrams[i].AsSpan(2, 8), messageId);
            s.Send(datagrams[i]);
            sent++;
            if (datagrams[i][10] == datagrams[i][11] - 1) logs++;
            i = (i + 1) % datagrams.Count;
        }
        return (sent, logs, sw.Elapsed.TotalSeconds);
    }

    /// <summary>Sends one log with a unique word and times until a full-text search finds it.</summary>
    private static async Task<List<double>> Probe(LogStore store, IPEndPoint target, string kind, int count, CancellationToken until = default)
    {
        var result = new List<double>();
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Connect(target);
        for (var i = 0; i < count && !until.IsCancellationRequested; i++)
        {
            var word = "probe" + Guid.NewGuid().ToString("N");
            var json = kind == "udp-json" ? $$"""{"message":"{{word}}","service":"bench"}""" : $$"""{"version":"1.1","host":"h","short_message":"{{word}}"}""";
            var sw = Stopwatch.StartNew();
            // A probe may be dropped by the kernel under overload: resend until found (counted from the first send).
            var lastSend = TimeSpan.Zero;
            while (true)
            {
                if (sw.Elapsed - lastSend > TimeSpan.FromSeconds(1) || lastSend == TimeSpan.Zero)
                {
                    s.Send(Encoding.UTF8.GetBytes(json));
                    Interlocked.Increment(ref _probeSends);
                    lastSend = sw.Elapsed + TimeSpan.FromTicks(1);
                }
                if (store.Search(new LogQuery(word, null, null, null, null, null, 1)).Count > 0) break;
                if (sw.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException("probe not searchable in 30 s");
                await Task.Delay(2);
            }
            result.Add(sw.Elapsed.TotalMilliseconds);
            await Task.Delay(50);
        }
        return result;
    }

    private static long _probeSends;

    private static double Median(List<double> xs) => xs.Count == 0 ? 0 : xs.Order().ElementAt(xs.Count / 2);
    private static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];
    private static string? Arg(string[] args, string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
}
