using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>
/// Finding 11 of issue 15, with the real binary on a small tmpfs that is then filled: a deploy or silence that cannot be
/// written is answered 503 and is not listed, before or after a restart; what was acknowledged survives. Needs root (mount).
/// </summary>
public class FullDiskTests
{
    [Fact]
    public async Task On_a_full_disk_a_deploy_or_silence_that_cannot_be_written_is_refused_and_not_kept()
    {
        var dir = Repo.TempDir("fulldisk");
        var data = Path.Combine(dir, "data");
        Directory.CreateDirectory(data);
        Mount("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", data);
        try
        {
            var setup = new ObserveSetup(dir)
            {
                Config = s => $$"""
                    http: {port: {{s.HttpPort}}}
                    collector:
                      statsd: {enabled: false}
                      graphite: {enabled: false}
                    storage: {dataDir: {{data}}}
                    logging: {level: warning}
                    """,
            };
            using var client = setup.Client();
            await using (var observe = await ObserveProcess.StartAsync(setup, "observe-1.log"))
            {
                Assert.Equal(HttpStatusCode.Created, (await Deploy(client, "v1")).StatusCode);
                Assert.Equal(HttpStatusCode.Created, (await Silence(client, "db1")).StatusCode);

                var filler = Path.Combine(data, "filler");
                Fill(filler);
                // A first deploy of another service, and one that would supersede v1: neither is kept, v1 is untouched.
                var refused = await Deploy(client, "c1", "cart");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.Contains("deploys.db", await refused.Content.ReadAsStringAsync());
                Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Deploy(client, "v2")).StatusCode);
                Assert.Equal(["v1"], await Versions(client));
                var v1 = (await client.GetFromJsonAsync<JsonElement>("/api/deploys")).EnumerateArray().Single();
                Assert.False(v1.TryGetProperty("supersededBy", out var by) && by.ValueKind == JsonValueKind.String, $"v1 superseded by {by}");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Silence(client, "db2")).StatusCode);
                Assert.Equal(["host=db1"], await SilenceMatchers(client));

                File.Delete(filler);
                Assert.Equal(HttpStatusCode.Created, (await Deploy(client, "v3")).StatusCode);
                Assert.True(await observe.Process.TerminateAsync(TimeSpan.FromSeconds(30)), "did not stop");
            }
            await using (var again = await ObserveProcess.StartAsync(setup, "observe-2.log"))
            {
                Assert.Equal(["v1", "v3"], (await Versions(client)).Order());
                Assert.Equal(["host=db1"], await SilenceMatchers(client));
            }
        }
        finally { Mount("umount", "-l", data); }
    }

    private static void Mount(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool} {string.Join(' ', args)} failed (this test needs root to mount a tmpfs): {err}");
    }

    /// <summary>Writes until the file system has no byte left.</summary>
    private static void Fill(string path)
    {
        var chunk = new byte[64 * 1024];
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        try
        {
            while (true) f.Write(chunk);
        }
        catch (IOException) { }
        for (var size = 4096; size >= 1; size /= 2)
        {
            try { while (true) f.Write(chunk, 0, size); }
            catch (IOException) { }
        }
    }

    private static Task<HttpResponseMessage> Deploy(HttpClient client, string version, string service = "shop") =>
        client.PostAsJsonAsync("/api/deploys", new { service, env = "prod", version, by = "matt" });

    private static Task<HttpResponseMessage> Silence(HttpClient client, string host) =>
        client.PostAsJsonAsync("/api/silences", new { matchers = new[] { $"host={host}" }, duration = "2h", comment = "maintenance", author = "alice" });

    private static async Task<List<string>> Versions(HttpClient client) =>
        [.. (await client.GetFromJsonAsync<JsonElement>("/api/deploys")).EnumerateArray().Select(d => d.GetProperty("version").GetString()!)];

    private static async Task<List<string>> SilenceMatchers(HttpClient client) =>
        [.. (await client.GetFromJsonAsync<JsonElement>("/api/silences")).EnumerateArray().Select(s => string.Join(",", s.GetProperty("matchers").EnumerateArray().Select(m => m.GetString())))];
}
