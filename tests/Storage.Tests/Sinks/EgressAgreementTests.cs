using System.Net;
using Observe.Common;
using Observe.Storage.Sinks.Elasticsearch;
using Observe.Storage.Sinks.Influx;
using Observe.Storage.Sinks.Prometheus;
using Observe.Storage.Sinks.Spool;
using Observe.TestSupport;

namespace Observe.Storage.Tests.Sinks;

/// <summary>Issue 19: the HTTP sinks disagreed (remote-write dead-lettered 401/403/404, Influx and Elasticsearch retried
/// them); every one now answers a status as the shared <see cref="EgressPolicy"/> does.</summary>
public class EgressAgreementTests
{
    public static TheoryData<int> Statuses => [200, 204, 400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503];

    private sealed class Answer(int status) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct) =>
            Task.FromResult(request.Method == HttpMethod.Put // Elasticsearch's index template: accepted, the bulk request gets the status
                ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"acknowledged\":true}") }
                : new HttpResponseMessage((HttpStatusCode)status) { Content = new StringContent(status < 300 ? "{\"errors\":false,\"items\":[]}" : "why") });
    }

    private static DeliveryStatus Expected(int status) => EgressPolicy.Classify(status) switch
    {
        EgressOutcome.Delivered => DeliveryStatus.Delivered,
        EgressOutcome.Retry => DeliveryStatus.RetryLater,
        _ => DeliveryStatus.Rejected,
    };

    [Theory]
    [MemberData(nameof(Statuses))]
    public async Task Every_http_sink_classifies_a_status_as_the_egress_policy_does(int status)
    {
        var handler = new Answer(status);
        using var remoteWrite = new RemoteWriteTarget(new RemoteWriteSinkOptions { Url = "http://127.0.0.1:1/api/v1/write" }, handler);
        using var influx = new InfluxHttpTarget(new InfluxSinkOptions { Url = "http://127.0.0.1:1", Db = "d" }, handler);
        using var es = new ElasticsearchBulkTarget(new ElasticsearchSinkOptions { Enabled = true, Url = "http://127.0.0.1:1" },
            Path.Combine(Repo.TempDir("egress"), "dead-letter.ndjson"), handler);
        Assert.Equal(Expected(status), (await remoteWrite.DeliverAsync(new byte[] { 1 }, default)).Status);
        Assert.Equal(Expected(status), (await influx.DeliverAsync("m value=1 1\n"u8.ToArray(), default)).Status);
        Assert.Equal(Expected(status), (await es.DeliverAsync(""u8.ToArray(), default)).Status);
    }
}
