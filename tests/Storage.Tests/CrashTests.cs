using System.Globalization;
using Observe.Storage.Tsdb;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Storage.Tests;

/// <summary>SIGKILLs a writer process (tests/StorageCrashHarness) at random moments and checks acknowledged batches.</summary>
[Trait("Category", "Slow")] // kills a child process repeatedly: not in ./test.sh --fast
public class CrashTests(ITestOutputHelper output)
{
    private const int Series = 50;

    private static string HarnessDll()
    {
        var local = Path.Combine(AppContext.BaseDirectory, "StorageCrashHarness.dll");
        if (File.Exists(local)) return local;
        var config = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
        return Path.Combine(Repo.Root, "tests", "StorageCrashHarness", "bin", config, "net10.0", "StorageCrashHarness.dll");
    }

    [Fact]
    public async Task Acknowledged_batches_survive_kill9()
    {
        var dir = TestStore.TempDir();
        long baseTs = BaseTs();
        var acked = new SortedSet<long>();
        var rnd = new Random();
        for (int round = 0; round < 5; round++)
            await RunAndKillAsync(dir, baseTs, Series, [], "ACK ", () => rnd.Next(20, 700), acked, round);
        AssertAcknowledgedReadBack(dir, baseTs, Series, acked);
    }

    /// <summary>
    /// Issue 21: the head checkpoint. The harness writes the checkpoint after every batch (and compacts every 5th, forced every
    /// 10th, so the checkpoint read at the next open is often older than the newest head rows, or covers rows compacted and
    /// deleted since); it is SIGKILLed at random moments, many of them inside a checkpoint's transaction. After each kill the
    /// store opens with exactly the points of its head rows (nothing lost, nothing doubled: the head holds one point per series
    /// per head row in the file) and the checkpoint is never ignored as damaged; at the end every acknowledged batch reads back.
    /// </summary>
    [Fact]
    public async Task A_kill9_while_the_head_checkpoint_is_written_loses_nothing_and_doubles_nothing()
    {
        const int series = 3000; // a checkpoint of tens of thousands of points: tens of ms to write, so kills land inside it
        var dir = TestStore.TempDir();
        long baseTs = BaseTs();
        var acked = new SortedSet<long>();
        var rnd = new Random();
        int loaded = 0;
        for (int round = 0; round < 4; round++)
        {
            await RunAndKillAsync(dir, baseTs, series, ["checkpoint"], "ACK ", () => rnd.Next(0, 1500), acked, round);
            var options = new StorageOptions { DataDir = Path.Combine(dir, "data"), CompactionIntervalSeconds = 0 };
            long rowPoints = HeadRowPoints(options.DataDir);
            using var store = TimeSeriesStore.Open(options);
            output.WriteLine($"round {round}: {store.CheckpointRows} head rows ({store.CheckpointPoints} points) from the checkpoint, {store.ReplayedHeadPoints} points replayed, {rowPoints} in head rows");
            Assert.Null(store.CheckpointIgnored);
            Assert.Equal(0, store.CorruptHeadRows);
            Assert.Equal(rowPoints, store.HeadPointCount);
            Assert.Equal(rowPoints, store.CheckpointPoints + store.ReplayedHeadPoints);
            if (store.CheckpointRows > 0) loaded++;
        }
        Assert.True(loaded > 0, "no round's open loaded the checkpoint");
        AssertAcknowledgedReadBack(dir, baseTs, series, acked);
    }

    /// <summary>The points the head rows in the file hold (each row blob's count), read on a connection of its own.</summary>
    private static long HeadRowPoints(string dataDir)
    {
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dataDir, "tsdb.db")};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT data FROM head";
        using var r = cmd.ExecuteReader();
        long points = 0;
        while (r.Read()) points += BitConverter.ToUInt32((byte[])r.GetValue(0), 4);
        return points;
    }

    private static long BaseTs()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return now - now % 10 - 5 * 3600; // inside the 6h 10s archive
    }

    /// <summary>Runs the harness until it prints <paramref name="waitFor"/>, kills it after a random delay and collects its ACKs.</summary>
    private static async Task RunAndKillAsync(string dir, long baseTs, int series, string[] mode, string waitFor, Func<int> delayMs, SortedSet<long> acked, int round)
    {
        var log = Path.Combine(dir, $"harness-{round}.log");
        var p = PeerProcess.Start("dotnet", [HarnessDll(), Path.Combine(dir, "data"), baseTs.ToString(CultureInfo.InvariantCulture), series.ToString(CultureInfo.InvariantCulture), .. mode], dir, log);
        int before = acked.Count;
        // Wait until this run got there, then kill at a random moment.
        await Poll.UntilAsync(() => File.Exists(log) && File.ReadAllText(log).Contains(waitFor), TimeSpan.FromSeconds(120), waitFor);
        await Task.Delay(delayMs());
        int pid = p.Pid;
        // PeerProcess.Kill9 runs `kill -9 -<pgid>`, which procps' /usr/bin/kill does not deliver (reported);
        // Process.Kill sends SIGKILL on Unix.
        try
        {
            using var victim = System.Diagnostics.Process.GetProcessById(pid);
            victim.Kill(entireProcessTree: true);
            victim.WaitForExit(10_000);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException) { } // it had ended by itself (an exception: reported below)
        p.Kill9();
        Assert.True(p.HasExited, $"pid {pid} still running: " + (File.Exists($"/proc/{pid}/status") ? File.ReadAllText($"/proc/{pid}/status")[..300] : "no /proc entry"));
        var text = File.ReadAllText(log);
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("ACK ", StringComparison.Ordinal)) acked.Add(long.Parse(line[4..].Trim(), CultureInfo.InvariantCulture));
            else if (line.Contains("Exception")) Assert.Fail(text);
        }
        Assert.True(acked.Count > before, $"round {round} acknowledged nothing:\n{text}");
        await p.DisposeAsync();
    }

    private static void AssertAcknowledgedReadBack(string dir, long baseTs, int series, SortedSet<long> acked)
    {
        var options = new StorageOptions { DataDir = Path.Combine(dir, "data"), CompactionIntervalSeconds = 0 };
        using var store = TimeSeriesStore.Open(options);
        Assert.True(store.WaitUntilValidated(TimeSpan.FromSeconds(60)), "chunks checked after open");
        Assert.Equal(0, store.CorruptHeadRows + store.CorruptChunks);
        Assert.True(store.LastPersistedBatchTimestamp >= baseTs + acked.Max * 10);
        long until = baseTs + (acked.Max + 50) * 10;
        for (int j = 0; j < series; j++)
        {
            var name = j % 5 == 4 ? $"crash.tagged;host=h{j}" : $"crash.s{j}.count";
            var w = store.Fetch(name, baseTs - 1, until)!;
            Assert.Equal(10, w.Step);
            Assert.Equal(baseTs, w.Start);
            for (int slot = 0; slot < w.Values.Length; slot++)
            {
                long i = slot;
                double expected = i * 1000 + j + 0.25;
                if (acked.Contains(i)) Assert.True(w.Values[slot] == expected, $"{name} batch {i}: {w.Values[slot]} != {expected}");
                else if (w.Values[slot] is double v) Assert.Equal(expected, v); // committed but killed before ACK: fine, but exact
                // Each run resumes after the last persisted batch, so no slot up to the newest ACK is empty.
                if (i <= acked.Max) Assert.NotNull(w.Values[slot]);
            }
        }
    }
}
