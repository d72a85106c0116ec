using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Text;
using Observe.Collector;
using Observe.Storage.Sinks.Prometheus;
using Observe.Storage.Sinks.Spool;

namespace Observe.Storage.Tests.Sinks;

/// <summary>A minimal protobuf reader for WriteRequest, independent of the writer, to check what was encoded.</summary>
internal static class WriteRequestReader
{
    public sealed record Series(List<(string Name, string Value)> Labels, List<(double Value, long Ms)> Samples);

    public static List<Series> Read(byte[] snappyBody)
    {
        var body = SnappyBlock.Decode(snappyBody);
        var result = new List<Series>();
        foreach (var (field, ts) in Fields(body))
        {
            Assert.Equal(1, field);
            var s = new Series([], []);
            foreach (var (f, inner) in Fields(ts))
            {
                if (f == 1)
                {
                    string n = "", v = "";
                    foreach (var (lf, lb) in Fields(inner)) { if (lf == 1) n = Encoding.UTF8.GetString(lb); else v = Encoding.UTF8.GetString(lb); }
                    s.Labels.Add((n, v));
                }
                else if (f == 2)
                {
                    // Sample: field 1 fixed64 double (tag 0x09), field 2 varint int64 (tag 0x10).
                    Assert.Equal(0x09, inner[0]);
                    var value = BinaryPrimitives.ReadDoubleLittleEndian(inner.AsSpan(1));
                    Assert.Equal(0x10, inner[9]);
                    var pos = 10;
                    s.Samples.Add((value, (long)Varint(inner, ref pos)));
                }
            }
            result.Add(s);
        }
        return result;
    }

    private static IEnumerable<(int Field, byte[] Payload)> Fields(byte[] msg)
    {
        var pos = 0;
        while (pos < msg.Length)
        {
            var tag = Varint(msg, ref pos);
            Assert.Equal(2UL, tag & 7); // every field at these levels is length-delimited
            var len = (int)Varint(msg, ref pos);
            yield return ((int)(tag >> 3), msg[pos..(pos + len)]);
            pos += len;
        }
    }

    private static ulong Varint(byte[] b, ref int pos)
    {
        ulong v = 0;
        for (var shift = 0; ; shift += 7)
        {
            var x = b[pos++];
            v |= (ulong)(x & 0x7f) << shift;
            if (x < 0x80) return v;
        }
    }
}

public class RemoteWriteTests
{
    private static byte[] Encode(MetricBatch batch, PrometheusNameMapper? mapper = null)
    {
        var w = new ArrayBufferWriter<byte>();
        new RemoteWriteEncoder(mapper ?? PrometheusNameMapper.Unmapped).Encode(batch, w);
        return w.WrittenSpan.ToArray();
    }

    [Fact]
    public void Encodes_one_time_series_per_series_with_sorted_labels_name_first_and_millisecond_samples()
    {
        var body = Encode(new MetricBatch(1_700_000_010,
        [
            new("stats.api.requests;zone=b;app=shop", 12.5, 1_700_000_010),
            new("stats_counts.api.requests", -3, 1_700_000_010),
            new("plain.series", 1, 1_700_000_001),
            new("plain.series", 2, 1_700_000_000), // out of order in the batch
            new("plain.series", 3, 1_700_000_001), // same second again: the later value wins
        ]));
        var series = WriteRequestReader.Read(body);
        Assert.Equal(3, series.Count);
        var api = series.Single(s => s.Labels[0].Value == "stats_api_requests");
        Assert.Equal([("__name__", "stats_api_requests"), ("app", "shop"), ("zone", "b")], api.Labels);
        Assert.Equal([(12.5, 1_700_000_010_000L)], api.Samples);
        Assert.Equal([(-3.0, 1_700_000_010_000L)], series.Single(s => s.Labels[0].Value == "stats_counts_api_requests").Samples);
        Assert.Equal([(2.0, 1_700_000_000_000L), (3.0, 1_700_000_001_000L)], series.Single(s => s.Labels[0].Value == "plain_series").Samples);
    }

    [Fact]
    public void Labels_are_in_byte_order_so_an_upper_case_label_sorts_before_the_name()
    {
        var s = WriteRequestReader.Read(Encode(new MetricBatch(1, [new("m;Zone=x;a=y", 1, 1)]))).Single();
        Assert.Equal(["Zone", "__name__", "a"], s.Labels.Select(l => l.Name));
    }

    [Fact]
    public void Dropped_series_are_left_out_and_mapping_applies()
    {
        var mapper = new PrometheusNameMapper([
            new PrometheusMappingOptions { Match = "stats.timers.*.mean", Name = "timer_mean", Labels = { ["service"] = "$1" } },
            new PrometheusMappingOptions { Match = "statsd.*", Action = "drop" },
        ]);
        var s = WriteRequestReader.Read(Encode(new MetricBatch(5, [new("stats.timers.cart.mean", 7, 5), new("statsd.numStats", 2, 5)]), mapper));
        Assert.Equal([("__name__", "timer_mean"), ("service", "cart")], s.Single().Labels);
    }

    private sealed class Recorder(HttpStatusCode status, string body = "") : HttpMessageHandler
    {
        public HttpRequestMessage? Request;
        public byte[]? Body;
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            Request = request;
            Body = await request.Content!.ReadAsByteArrayAsync(ct);
            return new HttpResponseMessage(status) { Content = new StringContent(body) };
        }
    }

    [Theory]
    [InlineData(HttpStatusCode.NoContent, "Delivered")]
    [InlineData(HttpStatusCode.OK, "Delivered")]
    [InlineData(HttpStatusCode.TooManyRequests, "RetryLater")]
    [InlineData(HttpStatusCode.InternalServerError, "RetryLater")]
    [InlineData(HttpStatusCode.ServiceUnavailable, "RetryLater")]
    [InlineData(HttpStatusCode.BadRequest, "Rejected")]
    [InlineData(HttpStatusCode.RequestEntityTooLarge, "Rejected")]
    [InlineData(HttpStatusCode.NotFound, "RetryLater")] // the shared EgressPolicy: a wrong URL or token is fixed by an operator, the data waits
    [InlineData(HttpStatusCode.Unauthorized, "RetryLater")]
    public async Task Status_codes_map_to_delivery_outcomes_and_the_request_carries_the_remote_write_headers(HttpStatusCode status, string expectedStatus)
    {
        var expected = Enum.Parse<DeliveryStatus>(expectedStatus);
        var handler = new Recorder(status, "out of order sample");
        using var target = new RemoteWriteTarget(new RemoteWriteSinkOptions { Url = "http://127.0.0.1:1/api/v1/write", Username = "u", Password = "p" }, handler);
        byte[] record = [1, 2, 3];
        var outcome = await target.DeliverAsync(record, default);
        Assert.Equal(expected, outcome.Status);
        if (expected != DeliveryStatus.Delivered) Assert.Contains("out of order sample", outcome.Error);
        var r = handler.Request!;
        Assert.Equal(HttpMethod.Post, r.Method);
        Assert.Equal("application/x-protobuf", r.Content!.Headers.ContentType!.MediaType);
        Assert.Equal(["snappy"], r.Content.Headers.ContentEncoding);
        Assert.Equal(["0.1.0"], r.Headers.GetValues("X-Prometheus-Remote-Write-Version"));
        Assert.Equal("Basic " + Convert.ToBase64String("u:p"u8), r.Headers.Authorization!.ToString());
        Assert.Equal(record, handler.Body);
    }
}
