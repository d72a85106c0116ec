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
    /// <param name="openFiles">when set, the process runs under <c>prlimit --nofile=N:N</c> (a small descriptor limit to exhaust).</param>
    public static PeerProcess Run(string configPath, string workDir, string logPath, IDictionary<string, string>? env = null, int? openFiles = null)
    {
        var merged = env != null && env.Keys.Any(k => k.StartsWith("OBSERVE__Logs__", StringComparison.OrdinalIgnoreCase))
            ? new Dictionary<string, string>()
            : new Dictionary<string, string> { ["OBSERVE__Logs__Udp__Port"] = "0", ["OBSERVE__Logs__Gelf__Port"] = "0" };
        if (env != null) foreach (var (k, v) in env) merged[k] = v;
        string[] run = ["dotnet", Dll(), "run", "--config", configPath];
        return openFiles is { } n
            ? PeerProcess.Start("prlimit", [$"--nofile={n}:{n}", .. run], workDir, logPath, merged)
            : PeerProcess.Start(run[0], run[1..], workDir, logPath, merged);
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
