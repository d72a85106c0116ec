using System.Net.Http.Json;
using System.Text.Json;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>The real `observe` program as built for these tests, run as its own process.</summary>
internal static class ObserveBinary
{
    public static string Dll()
    {
        var config = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
        var dll = Path.Combine(Repo.Root, "src", "Observe", "bin", config, "net10.0", "observe.dll");
        Assert.True(File.Exists(dll), $"{dll} not built");
        return dll;
    }

    /// <summary>
    /// Starts `observe run --config <paramref name="configPath"/>` with its output (stdout and stderr) in <paramref name="logPath"/>.
    /// The log listeners get free ports (their defaults, 5140 and 12201, would collide between tests running at once)
    /// unless <paramref name="env"/> sets <c>OBSERVE__Logs__…</c> itself.
    /// </summary>
    public static PeerProcess Run(string configPath, string workDir, string logPath, IDictionary<string, string>? env = null)
    {
        var merged = env != null && env.Keys.Any(k => k.StartsWith("OBSERVE__Logs__", StringComparison.OrdinalIgnoreCase))
            ? new Dictionary<string, string>()
            : new Dictionary<string, string> { ["OBSERVE__Logs__Udp__Port"] = "0", ["OBSERVE__Logs__Gelf__Port"] = "0" };
        if (env != null) foreach (var (k, v) in env) merged[k] = v;
        return PeerProcess.Start("dotnet", [Dll(), "run", "--config", configPath], workDir, logPath, merged);
    }

    /// <summary>Runs an `observe` command (a CLI verb, not `run`) to its end (at most 60 s): exit code and stdout + stderr.</summary>
    public static async Task<(int Exit, string Output)> RunToEndAsync(string[] args, IDictionary<string, string>? env = null)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll());
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout + await stderr);
    }

    /// <summary>The non-null points of <paramref name="target"/> from <paramref name="from"/> until now, by timestamp, read through /render.</summary>
    public static async Task<Dictionary<long, double>> RenderAsync(HttpClient client, string target, long from)
    {
        var json = await client.GetFromJsonAsync<JsonElement>($"/render?target={target}&from={from}&until=now&format=json");
        var result = new Dictionary<long, double>();
        foreach (var series in json.EnumerateArray())
            foreach (var p in series.GetProperty("datapoints").EnumerateArray())
                if (p[0].ValueKind == JsonValueKind.Number) result[p[1].GetInt64()] = p[0].GetDouble();
        return result;
    }
}
