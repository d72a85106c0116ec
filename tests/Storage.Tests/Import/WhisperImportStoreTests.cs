using System.Buffers.Binary;
using Observe.Storage.Import;
using Observe.Storage.Tsdb;
using Observe.TestSupport;

namespace Observe.Storage.Tests.Import;

/// <summary>Issue 18, whisper import into the store: each archive at its own resolution, sealed, idempotent, durable.</summary>
public class WhisperImportStoreTests
{
    private const long Now = 1_800_000_000;
    private static readonly long[] Steps = [10, 60, 600];

    /// <summary>A whisper-like file's archives: 10 s for the last hour, 1 min back 3 days, 10 min back 200 days.</summary>
    private static ImportArchive[] Archives()
    {
        ImportArchive Make(long step, long back, Func<long, double> f)
        {
            var ts = new List<long>(); var vs = new List<double>();
            for (long t = Now - Now % step - back; t <= Now; t += step) { ts.Add(t); vs.Add(f(t)); }
            return new ImportArchive(step, [.. ts], [.. vs]);
        }
        return [Make(10, 3600, t => t % 7), Make(60, 3 * 86400, t => t % 11 + 0.5), Make(600, 200 * 86400, t => t % 13 * 1.25)];
    }

    private static double?[] Read(TimeSeriesStore s, string name, long from, long until) => s.Fetch(name, from, until)!.Values.ToArray();

    [Fact]
    public void Each_archive_is_read_back_at_its_own_resolution_and_a_second_import_writes_nothing_also_after_a_restart()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        var o = TestStore.Options();
        var archives = Archives();
        double?[] hours, days, months;
        using (var s = TimeSeriesStore.Open(o, time))
        {
            var first = s.Import([new ImportSeries("w.a", Steps, archives)]);
            Assert.Equal(archives.Sum(a => a.Ts.Length), first.Points);
            Assert.True(first.Written > 0 && first.Unchanged == 0, $"{first}");
            hours = Read(s, "w.a", Now - 1800, Now);
            days = Read(s, "w.a", Now - 2 * 86400, Now - 86400);
            months = Read(s, "w.a", Now - 150 * 86400, Now - 100 * 86400);
            Assert.Equal(10, s.Fetch("w.a", Now - 1800, Now)!.Step);
            Assert.Equal(Now - Now % 10 - 1800 + 10, s.Fetch("w.a", Now - 1800, Now)!.Start);
            Assert.Equal((double)((Now - Now % 10 - 1800 + 10) % 7), hours[0]);
            long d0 = s.Fetch("w.a", Now - 2 * 86400, Now - 86400)!.Start;
            Assert.Equal(d0 % 11 + 0.5, days[0]);
            long m0 = s.Fetch("w.a", Now - 150 * 86400, Now - 100 * 86400)!.Start;
            Assert.Equal(m0 % 13 * 1.25, months[0]);
            Assert.Equal(0, s.HeadPointCount);
        }
        using (var s = TimeSeriesStore.Open(o, time))
        {
            Assert.Equal(hours, Read(s, "w.a", Now - 1800, Now));
            Assert.Equal(months, Read(s, "w.a", Now - 150 * 86400, Now - 100 * 86400));
            var again = s.Import([new ImportSeries("w.a", Steps, archives)]);
            Assert.Equal(0, again.Written);
            Assert.Equal(again.Points - again.Skipped, again.Unchanged);
            Assert.Equal(days, Read(s, "w.a", Now - 2 * 86400, Now - 86400));
        }
    }

    [Fact]
    public void Live_data_written_and_compacted_after_an_import_extends_it_and_the_head_wins_over_an_import()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using var s = TimeSeriesStore.Open(TestStore.Options(), time);
        TestStore.Write(s, Now, ("w.live", 42, Now - 20));
        s.Import([new ImportSeries("w.live", Steps, Archives())]);
        Assert.Equal(42, s.Fetch("w.live", Now - 30, Now - 20)!.Values[0]);
        time.UnixSeconds = Now + 3600;
        for (long t = Now + 10; t < Now + 1200; t += 10) TestStore.Write(s, t, ("w.live", 5, t));
        s.Compact(force: true);
        Assert.Equal(42, s.Fetch("w.live", Now - 30, Now - 20)!.Values[0]);
        Assert.Equal(5, s.Fetch("w.live", Now + 600, Now + 610)!.Values[0]);
        var before = s.Fetch("w.live", Now - 3000, Now - 2990)!.Values[0];
        Assert.NotNull(before);
        // Rollups of the new data went to the coarser archives beside the imported slots.
        Assert.Equal(5, s.Fetch("w.live", Now + 600 - 2 * 86400, Now + 1200)!.Values.Last(v => v != null));
    }

    [Fact]
    public void A_level_no_archive_matches_is_aggregated_from_the_archives_whose_step_divides_it()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        var o = TestStore.Options(retentions: "10s:6h,5m:30d");
        o.Aggregation = [new() { Name = "sum", Pattern = ".*", XFilesFactor = 0, AggregationMethod = "sum" }];
        using var s = TimeSeriesStore.Open(o, time);
        var a = Archives();
        s.Import([new ImportSeries("w.agg", [10, 60], [a[0], a[1]])]);
        var w = s.Fetch("w.agg", Now - 2 * 86400, Now - 86400)!;
        Assert.Equal(300, w.Step);
        long slot = w.Start;
        double expected = 0;
        for (long t = slot; t < slot + 300; t += 60) expected += t % 11 + 0.5;
        Assert.Equal(expected, w.Values[0]);
    }

    [Fact]
    public void Points_beyond_observes_retention_or_in_the_future_are_not_taken()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using var s = TimeSeriesStore.Open(TestStore.Options(retentions: "10s:1h,1m:1d"), time);
        var o = s.Import([new ImportSeries("w.short", [10, 60], [new ImportArchive(60, [Now - 2 * 86400, Now - 600, Now + 600], [1, 2, 3])])]);
        Assert.Equal((3L, 1L, 2L), (o.Points, o.Written, o.Skipped));
    }

    [Fact]
    public void An_archive_whose_step_fits_no_observe_archive_is_not_taken_and_says_so()
    {
        var time = ManualTimeProvider.AtUnixSeconds(Now);
        using var s = TimeSeriesStore.Open(TestStore.Options(), time); // 10s, 1m, 10m
        long hour = Now - Now % 3600 - 30 * 86400;
        var o = s.Import([new ImportSeries("w.hourly", [3600], [new ImportArchive(3600, [hour, hour + 3600], [1, 2])])]);
        Assert.Equal((2L, 0L, 2L), (o.Points, o.Written, o.Skipped));
    }

    [Fact]
    public void The_wire_format_round_trips_and_refuses_truncated_and_oversized_bodies()
    {
        using var body = new MemoryStream();
        body.Write(ImportWire.Magic);
        ImportWire.Write(body, "a.b", [10, 60], [(60, new long[] { 120, 180 }, new double[] { 1.5, -2 })]);
        var read = Assert.Single(ImportWire.Read(body.ToArray()));
        Assert.Equal("a.b", read.Name);
        Assert.Equal([10L, 60L], read.FileSteps);
        Assert.Equal([120L, 180L], read.Archives[0].Ts);
        Assert.Equal([1.5, -2], read.Archives[0].Values);
        Assert.Throws<FormatException>(() => ImportWire.Read(body.ToArray()[..^3]));
        Assert.Throws<FormatException>(() => ImportWire.Read("XXXX"u8.ToArray()));
        using var many = new MemoryStream();
        many.Write(ImportWire.Magic);
        for (int i = 0; i <= ImportWire.MaxSeriesPerRequest; i++) ImportWire.Write(many, "m" + i, [10], []);
        Assert.Throws<ImportLimitException>(() => ImportWire.Read(many.ToArray()));
        using var spaced = new MemoryStream();
        spaced.Write(ImportWire.Magic);
        ImportWire.Write(spaced, "a b", [10], []);
        Assert.Throws<FormatException>(() => ImportWire.Read(spaced.ToArray()));
    }

    [Fact]
    public void The_whisper_reader_leaves_out_empty_unaligned_and_stale_slots()
    {
        // One archive of 60 s × 4 slots: a live point, an empty slot, a stale one from an earlier turn of the ring, an unaligned one.
        var file = new byte[16 + 12 + 4 * 12];
        BinaryPrimitives.WriteUInt32BigEndian(file, 1);
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(4), 240);
        BinaryPrimitives.WriteSingleBigEndian(file.AsSpan(8), 0.5f);
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(12), 1);
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(16), 28);
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(20), 60);
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(24), 4);
        void Point(int i, uint t, double v)
        {
            BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(28 + i * 12), t);
            BinaryPrimitives.WriteDoubleBigEndian(file.AsSpan(32 + i * 12), v);
        }
        Point(0, 6000, 1.5);
        Point(2, 6000 - 4 * 60 - 120, 9); // older than the newest point minus the ring's span: stale
        Point(3, 5941, 3);
        var h = WhisperHeader.Read(file);
        Assert.Equal(("average", 240L, 0.5f), (h.AggregationMethod, h.MaxRetention, h.XFilesFactor));
        var ts = new long[4]; var vs = new double[4];
        Assert.Equal(1, WhisperHeader.ReadPoints(file, h.Archives[0], ts, vs));
        Assert.Equal((6000L, 1.5), (ts[0], vs[0]));
        Assert.Throws<InvalidDataException>(() => WhisperHeader.Read(file.AsSpan(0, 60)));
    }
}
