using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Observe.Common;
using Observe.Storage.Sinks.Spool;

namespace Observe.Storage.Sinks.Elasticsearch;

/// <summary>
/// Delivers one spooled <c>_bulk</c> body and reads the per-item results (in request order). Items
/// answered 429, 5xx (…) are retried later — the record is replaced by just those action/document
/// pairs (<see cref="DeliveryStatus.RetryRemaining"/>); other failed items will never succeed and are
/// counted and appended to a dead-letter file with their error; a 409 on <c>create</c> means the
/// document is already there (a replay) and counts as delivered. The whole request's status and each item's are
/// classified by the shared <see cref="EgressPolicy"/> (429, 5xx and the fixable 401/403/404 retry; other 4xx reject). The index template is PUT before the first
/// bulk request, so no daily index is created with dynamic mappings.
/// </summary>
internal sealed class ElasticsearchBulkTarget : ISpoolTarget, IDisposable
{
    private readonly HttpClient _http;
    private readonly ElasticsearchSinkOptions _options;
    private readonly IndexNamePattern _index;
    private readonly string _deadLetterPath;
    private readonly Uri _bulkUrl;
    private readonly SemaphoreSlim _templateGate = new(1, 1);
    private volatile bool _templateInstalled;
    private long _itemsDelivered, _itemsRetried, _itemsRejected;

    public ElasticsearchBulkTarget(ElasticsearchSinkOptions options, string deadLetterPath, HttpMessageHandler? handler = null)
    {
        _options = options;
        _index = new IndexNamePattern(options.Index);
        _deadLetterPath = deadLetterPath;
        _templateInstalled = !options.InstallTemplate;
        var baseUrl = options.Url.TrimEnd('/') + "/";
        _http = handler == null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = new Uri(baseUrl);
        _http.Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("Observe");
        if (!string.IsNullOrEmpty(options.ApiKey)) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", options.ApiKey);
        else if (!string.IsNullOrEmpty(options.Username))
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.Username}:{options.Password}")));
        // Only what the result reading needs: keeps a 10 000-item response small.
        _bulkUrl = new Uri(_http.BaseAddress, "_bulk?filter_path=errors,items.*.status,items.*.error");
    }

    public string Name => _options.Name;
    public long ItemsDelivered => Interlocked.Read(ref _itemsDelivered);
    public long ItemsRetried => Interlocked.Read(ref _itemsRetried);
    public long ItemsRejected => Interlocked.Read(ref _itemsRejected);
    public bool TemplateInstalled => _templateInstalled;

    /// <summary>PUTs the composable index template once; false (with the reason) while Elasticsearch does not take it.</summary>
    public async Task<(bool Ok, string? Error)> EnsureTemplateAsync(CancellationToken ct)
    {
        if (_templateInstalled) return (true, null);
        await _templateGate.WaitAsync(ct);
        try
        {
            if (_templateInstalled) return (true, null);
            using var content = new StringContent(TemplateBody(), Encoding.UTF8, "application/json");
            using var response = await _http.PutAsync($"_index_template/{Uri.EscapeDataString(_options.TemplateName)}", content, ct);
            if (!response.IsSuccessStatusCode)
                return (false, $"index template: {(await DeliveryOutcome.FromHttpAsync(response, ct)).Error}");
            _templateInstalled = true;
            return (true, null);
        }
        finally { _templateGate.Release(); }
    }

    /// <summary>Priority 200 beats the built-in <c>logs-*-*</c> (100); <c>fields</c> is <c>flattened</c> so any key is searchable without a mapping each.</summary>
    internal string TemplateBody()
    {
        var body = new
        {
            index_patterns = new[] { _index.Wildcard },
            priority = 200,
            template = new
            {
                mappings = new
                {
                    dynamic = false,
                    properties = new Dictionary<string, object>
                    {
                        ["@timestamp"] = new { type = "date" },
                        ["level"] = new { type = "keyword" },
                        ["host"] = new { type = "keyword" },
                        ["service"] = new { type = "keyword" },
                        ["message"] = new { type = "text" },
                        ["fields"] = new { type = "flattened" },
                    },
                },
            },
            _meta = new { created_by = "observe" },
        };
        return JsonSerializer.Serialize(body);
    }

    public async ValueTask<DeliveryOutcome> DeliverAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken)
    {
        var (templateOk, templateError) = await EnsureTemplateAsync(cancellationToken);
        if (!templateOk) return DeliveryOutcome.Retry(templateError!);

        using var request = new HttpRequestMessage(HttpMethod.Post, _bulkUrl) { Content = new ReadOnlyMemoryContent(record) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        using var response = await _http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode) return await DeliveryOutcome.FromHttpAsync(response, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return await ReadItemsAsync(record, body, cancellationToken);
    }

    /// <summary>Splits the outcome per item: retryable pairs go back to the spool, the rest of the failures to the dead-letter file.</summary>
    internal async ValueTask<DeliveryOutcome> ReadItemsAsync(ReadOnlyMemory<byte> record, byte[] responseBody, CancellationToken ct)
    {
        using var doc = JsonDocument.Parse(responseBody);
        var root = doc.RootElement;
        var pairs = SplitPairs(record);
        if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.False)
        {
            Interlocked.Add(ref _itemsDelivered, pairs.Count);
            return DeliveryOutcome.Ok;
        }
        if (!root.TryGetProperty("items", out var items) || items.GetArrayLength() != pairs.Count)
            return DeliveryOutcome.Retry($"bulk response has {(items.ValueKind == JsonValueKind.Array ? items.GetArrayLength() : 0)} items for {pairs.Count} documents");

        var retry = new ArrayBufferWriter<byte>();
        var retried = 0;
        StringBuilder? deadLetters = null;
        string? firstError = null;
        var i = 0;
        foreach (var item in items.EnumerateArray())
        {
            var pair = pairs[i++];
            var result = item.EnumerateObject().First().Value; // {"create": {...}}
            var itemStatus = result.TryGetProperty("status", out var s) ? s.GetInt32() : 0;
            if (itemStatus is >= 200 and < 300 or 409) { Interlocked.Increment(ref _itemsDelivered); continue; }
            var error = result.TryGetProperty("error", out var e) ? e.GetRawText() : "null";
            firstError ??= $"{itemStatus} {error}";
            if (EgressPolicy.Classify(itemStatus) == EgressOutcome.Retry)
            {
                retry.Write(pair.Span);
                retried++;
                continue;
            }
            Interlocked.Increment(ref _itemsRejected);
            deadLetters ??= new StringBuilder();
            deadLetters.Append("{\"time\":\"").Append(DateTimeOffset.UtcNow.ToString("O")).Append("\",\"status\":").Append(itemStatus)
                .Append(",\"error\":").Append(error).Append(",\"request\":")
                .Append(JsonSerializer.Serialize(Encoding.UTF8.GetString(pair.Span).TrimEnd('\n'))).Append("}\n");
        }
        if (deadLetters != null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_deadLetterPath)!);
            await File.AppendAllTextAsync(_deadLetterPath, deadLetters.ToString(), ct);
        }
        if (retried == 0) return DeliveryOutcome.Ok;
        Interlocked.Add(ref _itemsRetried, retried);
        return new DeliveryOutcome(DeliveryStatus.RetryRemaining, retry.WrittenMemory.ToArray(), $"{retried} of {pairs.Count} items to retry; first error: {firstError}");
    }

    /// <summary>The record's action/document line pairs (each pair with its two newlines), in order.</summary>
    internal static List<ReadOnlyMemory<byte>> SplitPairs(ReadOnlyMemory<byte> record)
    {
        var pairs = new List<ReadOnlyMemory<byte>>();
        var span = record.Span;
        var start = 0;
        var lines = 0;
        for (var i = 0; i < span.Length; i++)
        {
            if (span[i] != (byte)'\n' || ++lines % 2 != 0) continue;
            pairs.Add(record[start..(i + 1)]);
            start = i + 1;
        }
        return pairs;
    }

    public void Dispose() => _http.Dispose();
}
