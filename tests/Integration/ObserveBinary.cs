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

    /// <summary>Starts `observe run --config <paramref name="configPath"/>` with its output (stdout and stderr) in <paramref name="logPath"/>.</summary>
    public static PeerProcess Run(string configPath, string workDir, string logPath, IDictionary<string, string>? env = null) =>
        PeerProcess.Start("dotnet", [Dll(), "run", "--config", configPath], workDir, logPath, env);

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
