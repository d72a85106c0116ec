using Microsoft.AspNetCore.Http;
using Observe.Storage.Graphite;
using Xunit.Abstractions;

namespace Observe.Storage.Tests.Graphite;

/// <summary>
/// Issue 21, render p95: a dashboard's <c>/render</c> of stored series copies no values. The series keep the pooled
/// windows they were fetched into and the JSON is written straight from them, so what a request allocates does not grow
/// with its points; a list of <c>double?</c> per series (16 bytes a point, 2.3 MB per 100 series × 24 h) cost the gen1
/// collections that made the p95 5–8× graphite-web's while the median was 13×. Runs alone: other tests renting from the
/// shared slot pool at the same time would make this one allocate fresh windows.
/// </summary>
[Collection(nameof(RenderAllocationTests))]
public class RenderAllocationTests(ITestOutputHelper output)
{
    private const long Now = 1_800_000_000;
    // 10 series × 1 440 points: under the 20 000 values from which the JSON is formatted on other cores, so every byte
    // of the request is allocated on this thread.
    private const int Series = 10, Points = 1440;

    [Fact]
    public void A_render_of_stored_series_allocates_nothing_per_point()
    {
        var reader = new SyntheticReader(Series);
        var allocated = new List<long>();
        string body = "";
        for (int i = 0; i < 5; i++)
        {
            var sink = new MemoryStream(1 << 20);
            long before = GC.GetAllocatedBytesForCurrentThread();
            RenderOnce(reader, i < 2 ? sink : Stream.Null);
            long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            if (i >= 2) allocated.Add(bytes); // the first two fill the pools and compile
            else body = System.Text.Encoding.UTF8.GetString(sink.ToArray());
        }
        // The answer is whole: every series, every point (the fifth one of each null).
        Assert.StartsWith("[{\"target\": \"stats.timers.svc0.endpoint0.mean\", \"tags\": {\"name\": \"stats.timers.svc0.endpoint0.mean\"}, \"datapoints\": [[null, ", body);
        Assert.Equal(Series * Points, body.Split("], [").Length + Series - 1);
        // Request, parse, context and per-series objects (name tags, the series) are a few KB; values as lists were 230 KB.
        long least = allocated.Min();
        output.WriteLine($"allocated per render of {Series} series x {Points} points: {string.Join(", ", allocated)} bytes");
        Assert.True(least < 64 * 1024 + Series * 1024, $"a render of {Series} series x {Points} points allocated {least:N0} bytes ({string.Join(", ", allocated)})");
    }

    [Fact]
    public void A_function_reading_fetched_series_sees_their_values_and_the_windows_go_back_to_the_pool()
    {
        var reader = new SyntheticReader(2);
        var data = RenderTargets(reader, "stats.timers.svc0.*.mean");
        var fetched = data[0].Fetched;
        Assert.NotNull(fetched);
        Assert.Equal(Points, data[0].ValueCount);
        // Materialised on first read: the same values as the window, which is then released.
        var values = data[0].Values;
        Assert.Null(data[0].Fetched);
        Assert.Equal(Points, values.Count);
        Assert.Null(values[0]);
        Assert.Equal(1 * 0.5 + 1, values[1]);
        // A function over the same fetch reads the same numbers.
        var scaled = RenderTargets(reader, "scale(stats.timers.svc0.endpoint1.mean, 2)");
        Assert.Equal(2 * (7 * 0.5 + 2), Assert.Single(scaled).Values[7]);
    }

    private static List<TimeSeries> RenderTargets(ISeriesReader reader, string target)
    {
        var req = new GraphiteApi.RenderRequest([target], Now - 86400, Now, Now, "json", null, false, 0, null);
        return GraphiteApi.Evaluate(req, reader, null, new RenderLimitOptions());
    }

    private static void RenderOnce(ISeriesReader reader, Stream body)
    {
        var data = RenderTargets(reader, "stats.timers.svc0.*.mean");
        var http = new DefaultHttpContext();
        http.Response.Body = body;
        var written = new GraphiteApi.RenderedJson(data).ExecuteAsync(http);
        Assert.True(written.IsCompletedSuccessfully, "a memory stream completes the write synchronously (so it ran on this thread)");
    }

    /// <summary>
    /// A store of <paramref name="series"/> series with a value every minute (every fifth slot empty), fetched into the
    /// caller's buffer without allocating, so what is measured is the query engine's own allocation.
    /// </summary>
    private sealed class SyntheticReader(int series) : ISeriesReader
    {
        private const long Step = 60;
        private readonly MetricNode[] _nodes = [.. Enumerable.Range(0, series).Select(i => new MetricNode($"stats.timers.svc0.endpoint{i}.mean", true))];

        public IReadOnlyList<MetricNode> Find(string pattern) =>
            pattern.Contains('*') ? _nodes : [.. _nodes.Where(n => n.Path == pattern)];

        public IReadOnlyList<string> TaggedSeries() => [];

        public SeriesWindow? Fetch(string name, long from, long until)
        {
            var buf = new SlotBuffer();
            if (!FetchInto(name, from, until, buf)) return null;
            var values = new double?[buf.Length];
            for (int i = 0; i < values.Length; i++) if (buf.Has(i)) values[i] = buf.Values[i];
            return new SeriesWindow(buf.Start, buf.End, buf.Step, values);
        }

        public bool FetchInto(string name, long from, long until, SlotBuffer buf)
        {
            int k = Array.FindIndex(_nodes, n => n.Path == name);
            if (k < 0) return false;
            long a = from - from % Step + Step, b = until - until % Step + Step;
            int n = (int)((b - a) / Step);
            buf.Reset(a, b, Step, n);
            for (int i = 0; i < n; i++) if (i % 5 != 0) buf.Set(i, i * 0.5 + k + 1);
            return true;
        }
    }
}

[CollectionDefinition(nameof(RenderAllocationTests), DisableParallelization = true)]
public class RenderAllocationTestsCollection;
