using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>
/// Finding 9 of issue 15, with the real binary: every store file damaged at once (truncated to half, or its header zeroed;
/// the silences file garbled). Observe starts, each file is moved aside as <c>&lt;name&gt;.corrupt-&lt;time&gt;</c> and named in one
/// log line without a stack, /stats lists it and /metrics counts it, and checks, alerting, deploys, logs and metrics work.
/// </summary>
public class DamagedStoresTests(ITestOutputHelper output)
{
    private const string Dummy = "/usr/lib/nagios/plugins/check_dummy";
    private static readonly string[] Databases = ["tsdb.db", "logs.db", "events.db", "deploys.db"];

    public enum Damage { Truncated, ZeroedHeader }

    private static string Yaml(int http, string data) => $$"""
        http: {port: {{http}}}
        collector:
          statsd: {enabled: false, flushInterval: 1000}
          graphite: {enabled: false}
        storage: {dataDir: {{data}}}
        logs: {enabled: true}
        logging: {level: warning}
        checks:
          defaults: {checkInterval: 200ms, retryInterval: 200ms, maxCheckAttempts: 1}
          hosts:
            - name: web1
              checks:
                - {name: disk, kind: command, command: [{{Dummy}}, "2", "disk full"]}
        """;

    [Theory]
    [InlineData(Damage.Truncated)]
    [InlineData(Damage.ZeroedHeader)]
    public async Task Every_damaged_store_is_moved_aside_named_and_counted_and_the_rest_runs(Damage damage)
    {
        var setup = new ObserveSetup(Repo.TempDir("damaged")) { Config = s => Yaml(s.HttpPort, Path.Combine(s.Dir, "data")) };
        var data = Path.Combine(setup.Dir, "data");
        using var client = setup.Client();

        // 1. A healthy run that writes something into every store.
        await using (var first = await ObserveProcess.StartAsync(setup, "observe-1.log"))
        {
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/deploys", new { service = "shop", env = "prod", version = "v1", by = "matt" })).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/silences", new { matchers = new[] { "host=db9" }, duration = "2h", comment = "swap", author = "alice" })).StatusCode);
            Assert.True((await client.PostAsync("/api/logs", new StringContent("{\"message\":\"before\",\"service\":\"shop\"}\n"))).IsSuccessStatusCode);
            await Poll.UntilAsync(async () => (await first.StatsAsync()).GetProperty("storage").GetProperty("lastPersistedBatchTimestamp").GetInt64() > 0,
                TimeSpan.FromSeconds(30), "a flush persisted");
            Assert.True(await first.Process.TerminateAsync(TimeSpan.FromSeconds(30)), "first run did not stop");
        }

        // 2. Damage every store file.
        foreach (var db in Databases) Spoil(Path.Combine(data, db), damage);
        var silences = Path.Combine(data, "alerting", "silences.json");
        Assert.True(File.Exists(silences));
        await File.WriteAllTextAsync(silences, "[{\"id\": \"trunc");

        // 3. It starts, says what it moved aside, and everything works.
        await using var observe = await ObserveProcess.StartAsync(setup, "observe-2.log"); // fails with the log if it exits instead
        Assert.False(observe.Process.HasExited, "observe exited:\n" + observe.Log());
        var stats = await observe.StatsAsync();
        var damaged = stats.GetProperty("damagedStores").EnumerateArray().ToList();
        var log = observe.Log();
        output.WriteLine(log);
        foreach (var file in Databases.Select(d => Path.Combine(data, d)).Append(silences))
        {
            var entry = Assert.Single(damaged, d => d.GetProperty("file").GetString() == file);
            var movedTo = entry.GetProperty("movedTo").GetString()!;
            Assert.StartsWith(file + ".corrupt-", movedTo);
            Assert.True(File.Exists(movedTo), movedTo);
            Assert.Single(log.Split('\n'), l => l.Contains($"store {file} is damaged") && l.Contains(movedTo));
            if (file.EndsWith("tsdb.db", StringComparison.Ordinal) && damage == Damage.Truncated)
                Assert.Contains("series", entry.GetProperty("lost").GetString());
        }
        Assert.DoesNotContain("   at ", log); // no stack anywhere
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Contains("\nobserve_store_quarantined_total 5\n", metrics);

        // Checks and alerting run; deploys, logs, silences and metrics are written to the fresh stores.
        await Poll.UntilAsync(async () => (await client.GetFromJsonAsync<JsonElement>("/api/alerts")).EnumerateArray()
            .Any(a => a.GetProperty("alert").GetProperty("key").GetString()!.Contains("disk")), TimeSpan.FromSeconds(30), "the check's alert fires");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/deploys", new { service = "shop", env = "prod", version = "v2", by = "matt" })).StatusCode);
        Assert.Equal("v2", Assert.Single((await client.GetFromJsonAsync<JsonElement>("/api/deploys")).EnumerateArray()).GetProperty("version").GetString());
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/silences", new { matchers = new[] { "host=db9" }, duration = "2h", comment = "again", author = "alice" })).StatusCode);
        Assert.True((await client.PostAsync("/api/logs", new StringContent("{\"message\":\"after\",\"service\":\"shop\"}\n"))).IsSuccessStatusCode);
        await Poll.UntilAsync(async () => (await client.GetFromJsonAsync<JsonElement>("/api/logs?q=after")).ToString().Contains("after"),
            TimeSpan.FromSeconds(15), "the log line is searchable");
        var before = (await observe.StatsAsync()).GetProperty("storage").GetProperty("lastPersistedBatchTimestamp").GetInt64();
        await Poll.UntilAsync(async () => (await observe.StatsAsync()).GetProperty("storage").GetProperty("lastPersistedBatchTimestamp").GetInt64() > before,
            TimeSpan.FromSeconds(15), "flushes persisted into the fresh tsdb.db");
    }

    /// <summary>Folds the WAL into the file (so the damage hits the data), then truncates it to half or zeroes its 100-byte header.</summary>
    private static void Spoil(string path, Damage damage)
    {
        Assert.True(File.Exists(path), path);
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            cmd.ExecuteNonQuery();
        }
        var bytes = File.ReadAllBytes(path);
        if (damage == Damage.Truncated) File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        else { Array.Clear(bytes, 0, 100); File.WriteAllBytes(path, bytes); }
    }
}
