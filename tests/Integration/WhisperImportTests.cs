using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>
/// Issue 18, whisper import, against real peers: carbon-cache writes whisper files with three archives from plaintext
/// points hours, days and months old; the real observe binary imports them (its retention rules converted from carbon's
/// own conf files by <c>observe import carbon-conf</c>); /render answers as graphite-web answers over the same files;
/// an interrupted import resumes; a second import writes nothing. About 60 s (carbon and graphite-web start-up, 110k lines).
/// </summary>
public class WhisperImportTests
{
    private const string Token = "import-secret-0123456789";
    private const int BulkFiles = 120;

    [Fact]
    public async Task Carbon_written_whisper_files_import_resumably_and_render_as_graphite_web_does()
    {
        var dir = Repo.TempDir("whisper-import");
        var aggregation = "[counts]\npattern = \\.count$\nxFilesFactor = 0\naggregationMethod = sum\n\n"
            + "[default]\npattern = .*\nxFilesFactor = 0.3\naggregationMethod = average\n";
        await using var graphite = await GraphiteServer.StartAsync(Path.Combine(dir, "graphite"),
            [("bulk", @"^imp\.bulk\.", "10s:1h,1m:1d,10m:30d"), ("imp", @"^imp\.", "10s:6h,1m:7d,10m:5y")], aggregation);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await SendToCarbon(graphite.LinePort, Lines(now));
        // carbon-cache writes its cache out when stopped; first wait until it has read every line (the last one sent is visible).
        using (var web = new HttpClient { BaseAddress = new Uri(graphite.WebUrl), Timeout = TimeSpan.FromSeconds(30) })
            await Poll.UntilAsync(async () => (await web.GetStringAsync($"/render?target=imp.bulk.m{BulkFiles - 1:D3}&from=-2min&format=json")).Contains("7.25"),
                TimeSpan.FromSeconds(60), "carbon-cache to hold the last line sent");
        await graphite.StopCarbonAsync();
        var whisperDir = Path.Combine(graphite.Dir, "storage", "whisper");
        Assert.Equal(BulkFiles + 2, Directory.EnumerateFiles(whisperDir, "*.wsp", SearchOption.AllDirectories).Count());

        // carbon's rules, converted.
        var conf = await ObserveBinary.RunToEndAsync(["import", "carbon-conf", Path.Combine(graphite.Dir, "conf/storage-schemas.conf"), Path.Combine(graphite.Dir, "conf/storage-aggregation.conf")]);
        Assert.True(conf.Exit == 0, conf.Stdout + conf.Stderr);
        var setup = new ObserveSetup(dir)
        {
            ClientTimeout = TimeSpan.FromSeconds(30),
            Config = s => $$"""
                http: {port: {{s.HttpPort}}}
                collector:
                  statsd: {enabled: false}
                  graphite: {enabled: false}
                auth:
                  tokens:
                    - {name: importer, token: {{Token}}, scopes: [ingest]}
                logging: {level: warning}
                {{conf.Stdout.Replace("storage:\n", $"storage:\n  dataDir: {dir}/data\n")}}
                """,
        };
        int http = setup.HttpPort;
        using var client = setup.Client();
        Task<ObserveProcess> StartObserve() => ObserveProcess.StartAsync(setup);
        var observe = await StartObserve();
        try
        {
            string[] Args(params string[] more) => ["import", "whisper", whisperDir, "--url", $"127.0.0.1:{http}", "--progress", Path.Combine(dir, "import.progress"), "--batch-bytes", "8192", .. more];
            var refused = await ObserveBinary.RunToEndAsync(Args());
            Assert.True(refused.Exit != 0 && refused.Stdout.Contains("HTTP 401"), refused.Stdout + refused.Stderr);

            // Interrupted: the client killed once its first acknowledged request is on record.
            var first = await RunUntilFirstProgressLine(Args("--token", Token), p => p.Kill());
            var recorded = File.ReadAllLines(Path.Combine(dir, "import.progress")).Length - 1;
            Assert.True(recorded is > 0 and < BulkFiles + 2, $"{recorded} files recorded before the kill\n{first}");
            // Then the server killed (-9) in the middle of the resumed import: the client stops, a restarted Observe
            // opens the store and the next run resumes.
            var crashed = await RunUntilFirstProgressLine(Args("--token", Token), _ => observe.Process.Kill9(), waitForExit: true);
            Assert.Contains("import interrupted", crashed);
            await observe.DisposeAsync();
            observe = await StartObserve();
            var resumed = await ObserveBinary.RunToEndAsync(Args("--token", Token), timeout: TimeSpan.FromMinutes(3));
            Assert.True(resumed.Exit == 0, resumed.Stdout + resumed.Stderr);
            Assert.Contains("resuming: skipping ", resumed.Stdout);

            (string Target, string From, string Until)[] windows =
            [
                ("imp.diff.*.*", $"{now - 3 * 3600}", $"{now}"),            // hours: the 10 s archive
                ("imp.diff.*.*", $"{now - 5 * 86400}", $"{now - 4 * 86400}"), // days ago: the 1 min archive
                ("imp.diff.*.*", $"{now - 100 * 86400}", $"{now - 40 * 86400}"), // months ago: the 10 min archive
                ("imp.bulk.*", $"{now - 1800}", $"{now}"),
                ("imp.bulk.*", $"{now - 20 * 3600}", $"{now - 2 * 3600}"),
                ("imp.bulk.*", $"{now - 20 * 86400}", $"{now}"),
            ];
            var before = new List<string>();
            using (var web = new HttpClient { BaseAddress = new Uri(graphite.WebUrl), Timeout = TimeSpan.FromSeconds(60) })
                foreach (var (target, from, until) in windows)
                {
                    var q = $"/render?target={target}&from={from}&until={until}&format=json";
                    var expected = RenderJson.Canonical(await web.GetStringAsync(q));
                    var actual = RenderJson.Canonical(await client.GetStringAsync(q));
                    Assert.Matches(@"\[-?\d", expected); // graphite-web has values there
                    Assert.True(expected == actual, $"{q}\ngraphite-web: {Trunc(expected)}\nobserve:      {Trunc(actual)}");
                    before.Add(actual);
                }

            // A second, complete import writes nothing and changes nothing.
            var again = await ObserveBinary.RunToEndAsync(Args("--token", Token, "--restart"), timeout: TimeSpan.FromMinutes(3));
            Assert.True(again.Exit == 0, again.Stdout + again.Stderr);
            Assert.Contains(" 0 slots written", again.Stdout);
            for (int i = 0; i < windows.Length; i++)
                Assert.Equal(before[i], RenderJson.Canonical(await client.GetStringAsync($"/render?target={windows[i].Target}&from={windows[i].From}&until={windows[i].Until}&format=json")));
        }
        finally { await observe.DisposeAsync(); }
    }

    /// <summary>Points every 10 s for the last 6 h, every minute back to 7 days, every 10 minutes back to 120 days (imp.diff.*); the bulk files sparser.</summary>
    private static IEnumerable<string> Lines(long now)
    {
        foreach (var name in new[] { "imp.diff.requests.count", "imp.diff.latency.mean" })
        {
            int h = name.Length;
            for (long t = now - 6 * 3600 + 10; t <= now; t += 10) yield return $"{name} {(t / 10 * 7 + h) % 101 + 0.5} {t}";
            for (long t = now - 7 * 86400 + 60; t < now - 6 * 3600; t += 60) yield return $"{name} {(t / 60 * 13 + h) % 97} {t}";
            for (long t = now - 120 * 86400; t < now - 7 * 86400; t += 600) yield return $"{name} {(t / 600 * 3 + h) % 89 * 1.5} {t}";
        }
        for (int i = 0; i < BulkFiles; i++)
        {
            var name = $"imp.bulk.m{i:D3}";
            for (long t = now - 25 * 86400; t < now - 86400; t += 3 * 3600) yield return $"{name} {i + t / 3600 % 24} {t}";
            for (long t = now - 20 * 3600; t < now - 3600; t += 600) yield return $"{name} {i * 0.25 + t / 600 % 6} {t}";
            for (long t = now - 1800; t < now - 60; t += 10) yield return $"{name} {i % 7 + t / 10 % 3} {t}";
            yield return $"{name} 7.25 {now - 30}";
        }
    }

    private static async Task SendToCarbon(int port, IEnumerable<string> lines)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var stream = tcp.GetStream();
        var sb = new StringBuilder();
        foreach (var l in lines)
        {
            sb.Append(l).Append('\n');
            if (sb.Length > 64 * 1024) { await stream.WriteAsync(Encoding.ASCII.GetBytes(sb.ToString())); sb.Clear(); }
        }
        await stream.WriteAsync(Encoding.ASCII.GetBytes(sb.ToString()));
    }

    /// <summary>Starts the import and, when it prints its first progress line, calls <paramref name="interrupt"/> (a kill by PID); returns its output.</summary>
    private static async Task<string> RunUntilFirstProgressLine(string[] args, Action<Process> interrupt, bool waitForExit = false)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(ObserveBinary.Dll());
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("OBSERVE_TOKEN");
        using var p = Process.Start(psi)!;
        var output = new StringBuilder();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (await p.StandardOutput.ReadLineAsync(cts.Token) is { } line)
        {
            output.AppendLine(line);
            if (line.StartsWith("progress ", StringComparison.Ordinal)) break;
        }
        Assert.False(p.HasExited, "the import ended before it could be interrupted:\n" + output);
        interrupt(p);
        if (waitForExit) output.Append(await p.StandardOutput.ReadToEndAsync(cts.Token));
        await p.WaitForExitAsync(cts.Token);
        return output.ToString();
    }

    private static string Trunc(string s) => s.Length > 1500 ? s[..1500] + "…" : s;
}
