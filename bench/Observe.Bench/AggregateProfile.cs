// Where the time of a fleet-wide sum goes (issue 21), phase by phase on the store AggregateBench wrote: the chunk rows read
// from SQLite (ids only, then with their blobs copied), the blobs decoded (Gorilla.Decode, and Gorilla.DecodeInto where the
// build has it), the store's FetchInto of every series (cold: decoded-chunk cache emptied; warm: second run), and the fold
// of the windows into one accumulator. `--aggregate --profile` (single-threaded, one core; wall time and bytes allocated).
using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Observe.Storage;
using Observe.Storage.Tsdb;

namespace Observe.Bench;

static partial class AggregateProfile
{
    public static void Run(TimeSeriesStore store, string[] names, long from, long until, int runs)
    {
        using var conn = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = store.DatabasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        conn.Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT id, data FROM chunk WHERE max_ts >= $f AND min_ts < $u ORDER BY id";
        cmd.Parameters.AddWithValue("$f", from);
        cmd.Parameters.AddWithValue("$u", until);
        var blobs = new List<byte[]>();
        long points = 0;
        Phase("SQLite rows, ids only", runs, () =>
        {
            long n = 0;
            using var r = cmd.ExecuteReader();
            while (r.Read()) n += r.GetInt64(0);
            return n;
        });
        Phase("SQLite rows + blob copy (GetValue)", runs, () =>
        {
            blobs.Clear();
            using var r = cmd.ExecuteReader();
            while (r.Read()) blobs.Add((byte[])r.GetValue(1));
            return blobs.Count;
        });
        foreach (var b in blobs) points += Gorilla.Decode(b).Ts.Length;
        Console.WriteLine($"    {blobs.Count} chunk rows (every archive), {points} points, {blobs.Sum(b => (long)b.Length) / 1048576.0:F1} MB of blobs");
        Phase("Gorilla.Decode (arrays per chunk)", runs, () => { long n = 0; foreach (var b in blobs) n += Gorilla.Decode(b).Ts.Length; return n; });
        NewDecoderPhase(blobs, runs);
        var buf = new SlotBuffer();
        Phase("FetchInto every series, cache emptied", runs, () => { store.Relieve(); return FetchAll(store, names, from, until, buf, null); });
        FetchAll(store, names, from, until, buf, null);
        Phase("FetchInto every series, warm", runs, () => FetchAll(store, names, from, until, buf, null));
        var acc = new double[buf.Length + 1];
        Phase("FetchInto + fold into one accumulator, warm", runs, () => FetchAll(store, names, from, until, buf, acc));
    }

    /// <summary>AggregateProfileDecodeInto.cs, where the build has the new decoder (the bench also runs on main for the before numbers).</summary>
    static partial void NewDecoderPhase(List<byte[]> blobs, int runs);

    private static long FetchAll(TimeSeriesStore store, string[] names, long from, long until, SlotBuffer buf, double[]? acc)
    {
        long n = 0;
        foreach (var name in names)
        {
            store.FetchInto(name, from, until, buf);
            n += buf.Length;
            if (acc == null) continue;
            for (int i = 0; i < buf.Length; i++) if (buf.Has(i)) acc[i] += buf.Values[i];
        }
        return n;
    }

    internal static void Phase(string label, int runs, Func<long> body)
    {
        var ms = new List<double>();
        long allocated = 0, result = 0;
        for (int r = 0; r <= runs; r++)
        {
            GC.Collect(); GC.WaitForPendingFinalizers();
            long a0 = GC.GetTotalAllocatedBytes(true);
            var sw = Stopwatch.StartNew();
            result = body();
            sw.Stop();
            if (r == 0) continue; // warm-up
            ms.Add(sw.Elapsed.TotalMilliseconds);
            allocated = Math.Max(allocated, GC.GetTotalAllocatedBytes(true) - a0);
        }
        ms.Sort();
        Console.WriteLine($"    {label,-46} median {ms[ms.Count / 2],8:F1} ms (min {ms[0]:F1}, max {ms[^1]:F1}), allocated {allocated / 1048576.0,7:F1} MB [{result}]");
    }
}
