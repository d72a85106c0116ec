using System.Net.Http.Headers;
using System.Text;
using Observe.Storage.Sinks.Spool;

namespace Observe.Storage.Sinks.Prometheus;

/// <summary>
/// Posts one spooled <c>WriteRequest</c> (already snappy + protobuf) to a remote-write receiver.
/// The answer is classified by the shared <see cref="Observe.Common.EgressPolicy"/> (5xx, 429, 408 and the
/// operator-fixable 401/403/404 retried later; any other 4xx rejected: counted and kept in the dead-letter file).
/// </summary>
internal sealed class RemoteWriteTarget : ISpoolTarget, IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _url;
    private readonly AuthenticationHeaderValue? _auth;

    public RemoteWriteTarget(RemoteWriteSinkOptions options, HttpMessageHandler? handler = null)
    {
        Name = options.Name;
        _url = new Uri(options.Url);
        _http = handler == null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);
        if (!string.IsNullOrEmpty(options.BearerToken)) _auth = new AuthenticationHeaderValue("Bearer", options.BearerToken);
        else if (!string.IsNullOrEmpty(options.Username))
            _auth = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.Username}:{options.Password}")));
    }

    public string Name { get; }

    public async ValueTask<DeliveryOutcome> DeliverAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _url) { Content = new ReadOnlyMemoryContent(record) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        request.Content.Headers.ContentEncoding.Add("snappy");
        request.Headers.Add("X-Prometheus-Remote-Write-Version", "0.1.0");
        request.Headers.UserAgent.ParseAdd("Observe");
        request.Headers.Authorization = _auth;
        using var response = await _http.SendAsync(request, cancellationToken);
        return await DeliveryOutcome.FromHttpAsync(response, cancellationToken);
    }

    public void Dispose() => _http.Dispose();
}
