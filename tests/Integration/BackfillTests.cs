using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>
/// Finding 10 of issue 15, with the real binary: a lone plaintext point older than the finest archive's retention is
/// kept in the archive covering it (whisper's behaviour) and shows in /render; one older than every archive is dropped
/// and counted (<c>/stats</c> storage.pointsBeyondRetention, <c>observe_tsdb_points_beyond_retention_total</c>).
/// </summary>
public class BackfillTests
{
    [Fact]
    public async Task A_sparse_point_older_than_the_finest_archive_is_rendered_and_one_beyond_every_archive_is_counted()
    {
        var dir = Repo.TempDir("backfill");
        int graphite = FreePort.Get();
        await using var observe = await ObserveProcess.StartAsync(new ObserveSetup(dir)
        {
            Config = s => $$"""
            http: {port: {{s.HttpPort}}}
            collector:
              statsd: {enabled: false}
              graphite: {port: {{graphite}}, pickle: {port: 0} }
            storage:
              dataDir: {{dir}}/data
              schemas:
                - {name: bf, pattern: "^bf\\.", retentions: "10s:6h,1m:1d"}
            logging: {level: warning}
            """,
        });
        var client = observe.Client;

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        long eightHoursAgo = now - 8 * 3600, twoDaysAgo = now - 2 * 86400;
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync("127.0.0.1", graphite);
            await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"bf.single 77 {eightHoursAgo}\nbf.ancient 5 {twoDaysAgo}\n"));
        }
        await Poll.UntilAsync(async () =>
            (await RenderJson.PointsAsync(client, "bf.single", now - 9 * 3600)).ContainsValue(77),
            TimeSpan.FromSeconds(20), "bf.single 77 eight hours ago in /render");
        var points = await RenderJson.PointsAsync(client, "bf.single", now - 9 * 3600);
        Assert.Equal(eightHoursAgo - eightHoursAgo % 60, Assert.Single(points).Key); // the 1-minute archive's slot
        var stats = await client.GetFromJsonAsync<JsonElement>("/stats");
        Assert.Equal(1, stats.GetProperty("storage").GetProperty("pointsBeyondRetention").GetInt64());
        Assert.Contains("\nobserve_tsdb_points_beyond_retention_total 1\n", await client.GetStringAsync("/metrics"));
    }
}
