using FsCheck.Xunit;
using Microsoft.Data.Sqlite;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

/// <summary>
/// Issue 21: compaction extends a series' tail chunk every compaction. Sealed in pieces (a compaction after random
/// flushes, partial rollups in between), the level-0 chunk holds the very bytes one encode of all its points gives,
/// for series that pick each value codec (rational or decimal, square root, XOR) and irregular gaps.
/// </summary>
public class TailExtensionTests
{
    private const long Start = 1_000_200; // a multiple of 600

    [Property(MaxTest = 20)]
    public void Extending_a_tail_in_pieces_stores_the_bytes_of_one_encode(int seed)
    {
        var rnd = new Random(seed);
        int family = Math.Abs(seed % 4), n = rnd.Next(1, 250);
        Func<double> value = family switch
        {
            0 => () => rnd.Next(0, 1000),                         // counts: rational
            1 => () => rnd.Next(0, 100_000) / 10.0,               // statsd rates: rational /10
            2 => () => Math.Sqrt(rnd.Next(1, 1_000_000) / 49.0),  // statsd std: square root
            _ => () => rnd.NextDouble() * 1e6,                    // full-entropy doubles: XOR
        };
        var time = ManualTimeProvider.AtUnixSeconds(Start);
        var o = TestStore.Options();
        var ts = new long[n]; var vs = new double[n];
        using (var s = TimeSeriesStore.Open(o, time))
        {
            long t = Start;
            for (int i = 0; i < n; i++)
            {
                t += rnd.Next(5) == 0 ? 10 * rnd.Next(2, 5) : 10;
                ts[i] = t; vs[i] = value();
                time.UnixSeconds = t + 10;
                TestStore.Write(s, t, ("p.x", vs[i], t));
                if (rnd.Next(6) == 0) s.Compact();
            }
            s.Compact(force: true);
        }
        var blobs = new List<byte[]>();
        using (var c = new SqliteConnection($"Data Source={Path.Combine(o.DataDir, "tsdb.db")};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT data FROM chunk WHERE (id >> 24 & 15) = 0";
            using var r = cmd.ExecuteReader();
            while (r.Read()) blobs.Add((byte[])r[0]);
        }
        var blob = Assert.Single(blobs);
        Assert.Equal(Gorilla.Encode(ts, vs), blob);
        if (n >= 50) // the codec the family is meant to exercise
            Assert.Contains(Gorilla.EncodingOf(blob), family switch
            {
                < 2 => new[] { Gorilla.EncRationalDelta, Gorilla.EncRationalRaw, Gorilla.EncDecimalRaw, Gorilla.EncDecimalDelta, Gorilla.EncDecimalZigzag },
                2 => [Gorilla.EncSqrt],
                _ => [Gorilla.EncXor],
            });
        Directory.Delete(o.DataDir, true);
    }
}
