using System.Buffers;
using System.Net;
using System.Text;
using Observe.Collector;
using Observe.Storage.Sinks.Influx;
using Observe.Storage.Sinks.Spool;

namespace Observe.Storage.Tests;

public class InfluxSinkTests
{
    private static string Encode(InfluxLineEncoder e, params MetricPoint[] points)
    {
        var w = new ArrayBufferWriter<byte>();
        e.Encode(new MetricBatch(points.Length > 0 ? points[0].Timestamp : 0, points), w);
        return Encoding.UTF8.GetString(w.WrittenSpan);
    }

    [Fact]
    public void Whole_path_is_the_measurement_and_graphite_tags_become_sorted_influx_tags()
    {
        var e = new InfluxLineEncoder();
        Assert.Equal("stats.timers.api.mean,dc=ams,role=web value=12.5 1700000000\n",
            Encode(e, new MetricPoint("stats.timers.api.mean;role=web;dc=ams", 12.5, 1700000000)));
        Assert.Equal("c value=-3E-05 1700000000000\n", Encode(new InfluxLineEncoder(precision: "ms"), new MetricPoint("c", -3e-5, 1700000000)));
    }

    [Fact]
    public void Escapes_per_the_line_protocol_spec()
    {
        var e = new InfluxLineEncoder(measurementNodes: 1);
        // Measurement: comma and space escaped (not '='); tag keys/values and field keys: comma, space and '='.
        Assert.Equal(@"we\ b\,x=1,k\ \,=v\=a\,b\ c my\ field\=z=1 10" + "\n",
            Encode(e, new MetricPoint("we b,x=1.my field=z;k ,=v=a,b c", 1, 10)));
    }

    [Fact]
    public void Non_finite_values_are_skipped_and_counted()
    {
        var e = new InfluxLineEncoder();
        Assert.Equal("ok value=1 5\n", Encode(e, new MetricPoint("nan", double.NaN, 5), new MetricPoint("ok", 1, 5), new MetricPoint("inf", double.PositiveInfinity, 5)));
        Assert.Equal(2, e.SkippedNonFinite);
    }

    [Fact]
    public void Measurement_nodes_split_the_path_and_templates_name_each_node()
    {
        Assert.Equal("stats.timers.api mean=2 1\n", Encode(new InfluxLineEncoder(measurementNodes: 3), new MetricPoint("stats.timers.api.mean", 2, 1)));
        Assert.Equal("short value=2 1\n", Encode(new InfluxLineEncoder(measurementNodes: 3), new MetricPoint("short", 2, 1)));
        var t = new InfluxLineEncoder(templates: ["stats.timers.* ..service.measurement.field*", "servers.* .host.measurement*"]);
        Assert.Equal("latency,service=api upper_90=7 1\n", Encode(t, new MetricPoint("stats.timers.api.latency.upper_90", 7, 1)));
        Assert.Equal("cpu.user,dc=ams,host=web1 value=3 1\n", Encode(t, new MetricPoint("servers.web1.cpu.user;dc=ams", 3, 1)));
        Assert.Equal("other.path value=4 1\n", Encode(t, new MetricPoint("other.path", 4, 1)));
        Assert.Throws<FormatException>(() => GraphiteTemplate.Parse("host.field"));
    }

    [Fact]
    public void Write_uris_follow_V1_and_V2()
    {
        Assert.Equal("http://h:8086/write?db=my%20db&rp=week&precision=u",
            InfluxHttpTarget.WriteUri(new InfluxSinkOptions { Url = "http://h:8086/", Db = "my db", Rp = "week", Precision = "us" }).AbsoluteUri);
        Assert.Equal("http://h:8428/api/v2/write?org=o&bucket=b&precision=ns",
            InfluxHttpTarget.WriteUri(new InfluxSinkOptions { Url = "http://h:8428", Version = 2, Org = "o", Bucket = "b", Precision = "ns" }).AbsoluteUri);
    }

    [Theory]
    [InlineData(204, nameof(DeliveryStatus.Delivered))]
    [InlineData(400, nameof(DeliveryStatus.Rejected))]
    [InlineData(413, nameof(DeliveryStatus.Rejected))]
    [InlineData(401, nameof(DeliveryStatus.RetryLater))]
    [InlineData(404, nameof(DeliveryStatus.RetryLater))]
    [InlineData(429, nameof(DeliveryStatus.RetryLater))]
    [InlineData(500, nameof(DeliveryStatus.RetryLater))]
    [InlineData(503, nameof(DeliveryStatus.RetryLater))]
    public async Task StatusCodesMapToOutcomes(int status, string expected)
    {
        var handler = new Answer((HttpStatusCode)status);
        using var target = new InfluxHttpTarget(new InfluxSinkOptions { Version = 2, Bucket = "b", Token = "sekrit-token" }, handler);
        var outcome = await target.DeliverAsync("m value=1 1\n"u8.ToArray(), CancellationToken.None);
        Assert.Equal(expected, outcome.Status.ToString());
        Assert.Equal("Token sekrit-token", handler.Authorization);
        Assert.Equal("m value=1 1\n", handler.Body);
    }

    [Fact]
    public async Task V1_sends_basic_auth_when_a_user_is_given()
    {
        var handler = new Answer(HttpStatusCode.NoContent);
        using var target = new InfluxHttpTarget(new InfluxSinkOptions { Db = "d", Username = "u", Password = "p" }, handler);
        await target.DeliverAsync("m value=1 1\n"u8.ToArray(), CancellationToken.None);
        Assert.Equal("Basic " + Convert.ToBase64String("u:p"u8.ToArray()), handler.Authorization);
    }

    private sealed class Answer(HttpStatusCode status) : HttpMessageHandler
    {
        public string? Authorization, Body;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Authorization = request.Headers.Authorization?.ToString();
            Body = await request.Content!.ReadAsStringAsync(cancellationToken);
            return new HttpResponseMessage(status) { Content = new StringContent("{\"error\":\"x\"}") };
        }
    }
}
