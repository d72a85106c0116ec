using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// deploy/publish.sh's single file, copied alone into an empty directory and started with no DOTNET_ROOT and no
/// dotnet on PATH, serves /health, opens its store and stops cleanly on SIGTERM.
/// </summary>
public class PackagingTests(ITestOutputHelper output)
{
    // Publishing takes minutes on a busy 2-core machine: one publish per source state, kept under tests/Integration/bin
    // and reused while no source, project or the script changed.
    private static readonly string PublishDir = Path.Combine(Repo.Root, "tests", "Integration", "bin", "publish-single-file");

    private static bool PublishIsCurrent()
    {
        var exe = Path.Combine(PublishDir, "observe");
        if (!File.Exists(exe)) return false;
        var built = File.GetLastWriteTimeUtc(exe);
        var inputs = Directory.EnumerateFiles(Path.Combine(Repo.Root, "src"), "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/bin/") && !f.Contains("/obj/"))
            .Append(Path.Combine(Repo.Root, "Directory.Packages.props"))
            .Append(Path.Combine(Repo.Root, "deploy", "publish.sh"))
            .Where(File.Exists);
        return inputs.All(f => File.GetLastWriteTimeUtc(f) < built);
    }

    private async Task<string> PublishAsync()
    {
        if (PublishIsCurrent()) { output.WriteLine($"reusing {PublishDir}"); return Path.Combine(PublishDir, "observe"); }
        var psi = new ProcessStartInfo(Path.Combine(Repo.Root, "deploy", "publish.sh")) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(PublishDir);
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await p.WaitForExitAsync(cts.Token);
        Assert.True(p.ExitCode == 0, $"publish.sh failed:\n{await stdout}\n{await stderr}");
        output.WriteLine($"published in {sw.Elapsed.TotalSeconds:0} s");
        return Path.Combine(PublishDir, "observe");
    }

    [Fact]
    public async Task The_published_single_file_runs_alone_without_a_dotnet_install_and_serves_health()
    {
        var published = await PublishAsync();
        // One file and nothing beside it (the Web SDK's observe.staticwebassets.endpoints.json once was).
        Assert.Equal(["observe"], Directory.EnumerateFileSystemEntries(PublishDir).Select(Path.GetFileName));
        var dir = Repo.TempDir("packaged");
        var exe = Path.Combine(dir, "observe");
        File.Copy(published, exe); // keeps the executable mode
        Assert.Equal(["observe"], Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName));

        var setup = new ObserveSetup(dir)
        {
            Config = s => $$"""
                http: {port: {{s.HttpPort}}}
                collector:
                  statsd: {port: {{s.StatsdPort}}, flushOnStop: immediate}
                  graphite: {enabled: false}
                logs: {enabled: false}
                storage: {dataDir: {{dir}}/data}
                """,
            // The published file, not `dotnet observe.dll`: no DOTNET_ROOT, no dotnet on PATH (set by env, after the
            // launcher is found); the bundle's native libraries (SQLite) unpack below the temp dir.
            Command = ["env", "-u", "DOTNET_ROOT", "-u", "DOTNET_ROOT_X64", "-u", "DOTNET_HOST_PATH", "PATH=/nonexistent",
                       $"DOTNET_BUNDLE_EXTRACT_BASE_DIR={dir}/bundle", exe],
        };
        await using var started = await ObserveProcess.StartAsync(setup, healthy: TimeSpan.FromSeconds(60));
        var (observe, client) = (started.Process, started.Client);
        Assert.Equal("ok\n", await client.GetStringAsync("/health"));
        var stats = await client.GetFromJsonAsync<JsonElement>("/stats");
        Assert.StartsWith(Path.Combine(dir, "data"), stats.GetProperty("storage").GetProperty("databasePath").GetString());
        // the bundle's Skia natives (unpacked beside SQLite's) draw a graph image
        var png = await client.GetByteArrayAsync("/render?target=constantLine(5)&format=png&width=200&height=100&title=packaged");
        using (var bmp = SkiaSharp.SKBitmap.Decode(png))
        {
            Assert.NotNull(bmp);
            Assert.Equal((200, 100), (bmp.Width, bmp.Height));
        }
        Assert.True(await observe.TerminateAsync(TimeSpan.FromSeconds(25)), "no exit on SIGTERM");
        Assert.Equal(0, observe.ExitCode);
        output.WriteLine(observe.Log());
    }
}
