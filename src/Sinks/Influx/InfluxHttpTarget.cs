using System.Net.Http.Headers;
using System.Text;
using Observe.Storage.Sinks.Spool;

namespace Observe.Storage.Sinks.Influx;

/// <summary>
/// POSTs one spool record (line protocol) to InfluxDB's v1 <c>/write</c> or v2 <c>/api/v2/write</c> (which
/// VictoriaMetrics also serves). The answer is classified by the shared <see cref="Observe.Common.EgressPolicy"/>:
/// 400 (a bad line; Influx names it), 413, 422 → rejected, kept in the dead-letter file; 401/403/404 (configuration the
/// operator can fix), 408, 429, 5xx, connection errors, timeouts → retried, so nothing is lost meanwhile.
/// </summary>
internal sealed class InfluxHttpTarget : ISpoolTarget, IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _writeUri;
    private readonly AuthenticationHeaderValue? _auth;

    public InfluxHttpTarget(InfluxSinkOptions options, HttpMessageHandler? handler = null)
    {
        Name = options.Name;
        _http = handler == null ? new HttpClient() : new HttpClient(handler);
        _http.Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);
        _writeUri = WriteUri(options);
        if (options.Version == 2 && !string.IsNullOrEmpty(options.Token))
            _auth = new AuthenticationHeaderValue("Token", options.Token);
        else if (!string.IsNullOrEmpty(options.Username))
            _auth = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.Username}:{options.Password}")));
    }

    public string Name { get; }

    internal static Uri WriteUri(InfluxSinkOptions o)
    {
        var baseUrl = o.Url.TrimEnd('/');
        var q = new StringBuilder();
        void Add(string key, string? value)
        {
            if (string.IsNullOrEmpty(value)) return;
            q.Append(q.Length == 0 ? '?' : '&').Append(key).Append('=').Append(Uri.EscapeDataString(value));
        }
        if (o.Version == 2)
        {
            Add("org", o.Org);
            Add("bucket", o.Bucket);
            Add("precision", o.Precision);
            return new Uri(baseUrl + "/api/v2/write" + q);
        }
        Add("db", o.Db);
        Add("rp", o.Rp);
        Add("precision", o.Precision switch { "us" => "u", "ns" => "n", var p => p });
        return new Uri(baseUrl + "/write" + q);
    }

    public async ValueTask<DeliveryOutcome> DeliverAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _writeUri) { Content = new ReadOnlyMemoryContent(record) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
        if (_auth != null) request.Headers.Authorization = _auth;
        using var response = await _http.SendAsync(request, cancellationToken);
        return await DeliveryOutcome.FromHttpAsync(response, cancellationToken);
    }

    public void Dispose() => _http.Dispose();
}
