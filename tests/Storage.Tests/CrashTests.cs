using System.Globalization;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>SIGKILLs a writer process (tests/StorageCrashHarness) at random moments and checks acknowledged batches.</summary>
[Trait("Category", "Slow")] // kills a child process repeatedly: not in ./test.sh --fast
public class CrashTests
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
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        long baseTs = now - now % 10 - 5 * 3600; // inside the 6h 10s archive
        var acked = new SortedSet<long>();
        var rnd = new Random();
        for (int round = 0; round < 5; round++)
        {
            var log = Path.Combine(dir, $"harness-{round}.log");
            var p = PeerProcess.Start("dotnet", [HarnessDll(), Path.Combine(dir, "data"), baseTs.ToString(CultureInfo.InvariantCulture), Series.ToString(CultureInfo.InvariantCulture)], dir, log);
            int before = acked.Count;
            // Wait until this run acknowledged something, then kill at a random moment.
            await Poll.UntilAsync(() => File.Exists(log) && File.ReadAllText(log).Contains("ACK "), TimeSpan.FromSeconds(60), "first ACK");
            await Task.Delay(rnd.Next(20, 700));
            int pid = p.Pid;
            // PeerProcess.Kill9 runs `kill -9 -<pgid>`, which procps' /usr/bin/kill does not deliver (reported);
            // Process.Kill sends SIGKILL on Unix.
            using (var victim = System.Diagnostics.Process.GetProcessById(pid)) { victim.Kill(entireProcessTree: true); victim.WaitForExit(10_000); }
            p.Kill9();
            Assert.True(p.HasExited, $"pid {pid} still running: " + (File.Exists($"/proc/{pid}/status") ? File.ReadAllText($"/proc/{pid}/status")[..300] : "no /proc entry"));
            foreach (var line in File.ReadAllLines(log))
            {
                if (line.StartsWith("ACK ", StringComparison.Ordinal)) acked.Add(long.Parse(line[4..], CultureInfo.InvariantCulture));
                else if (line.Contains("Exception")) Assert.Fail(File.ReadAllText(log));
            }
            Assert.True(acked.Count > before, $"round {round} acknowledged nothing:\n{File.ReadAllText(log)}");
            await p.DisposeAsync();
        }

        using var store = TimeSeriesStore.Open(new StorageOptions { DataDir = Path.Combine(dir, "data"), CompactionIntervalSeconds = 0 });
        Assert.True(store.WaitUntilValidated(TimeSpan.FromSeconds(60)), "chunks checked after open");
        Assert.Equal(0, store.CorruptHeadRows + store.CorruptChunks);
        Assert.True(store.LastPersistedBatchTimestamp >= baseTs + acked.Max * 10);
        long until = baseTs + (acked.Max + 50) * 10;
        for (int j = 0; j < Series; j++)
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
