using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Observe.Storage.Sinks.Spool;

namespace Observe.Storage.Sinks.Prometheus;

/// <summary>
/// Posts one spooled <c>WriteRequest</c> (already snappy + protobuf) to a remote-write receiver.
/// As Prometheus' own client does: 5xx and 429 are retried later, any other 4xx will never succeed
/// and is rejected (the spool counts it and keeps it in the dead-letter file).
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
        if (response.IsSuccessStatusCode) return DeliveryOutcome.Ok;
        var status = (int)response.StatusCode;
        var error = $"{status} {await ReadSnippetAsync(response, cancellationToken)}";
        return status == (int)HttpStatusCode.TooManyRequests || status >= 500 ? DeliveryOutcome.Retry(error) : DeliveryOutcome.Reject(error);
    }

    /// <summary>The start of an error body: enough to say why, never a whole page in a log line.</summary>
    internal static async Task<string> ReadSnippetAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        text = text.ReplaceLineEndings(" ").Trim();
        return text.Length > 300 ? text[..300] + "…" : text;
    }

    public void Dispose() => _http.Dispose();
}
