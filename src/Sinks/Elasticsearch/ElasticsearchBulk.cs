using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Observe.Collector;
using Observe.Storage.Sinks.Spool;

namespace Observe.Storage.Sinks.Elasticsearch;

/// <summary>
/// A batch of log events → one <c>_bulk</c> body: per event a <c>create</c> action line (daily index
/// from the event's UTC timestamp, an id fixed at encode time) and the document line. The id makes a
/// replay idempotent: when a response was lost and the record is sent again, Elasticsearch answers
/// 409 for the documents it already has, which counts as delivered.
/// </summary>
internal sealed class ElasticsearchBulkEncoder(IndexNamePattern index) : ILogRecordEncoder
{
    public void Encode(IReadOnlyList<LogEvent> events, IBufferWriter<byte> output)
    {
        using var json = new Utf8JsonWriter(output);
        foreach (var e in events)
        {
            json.WriteStartObject();
            json.WriteStartObject("create");
            json.WriteString("_index", index.For(e.Timestamp));
            json.WriteString("_id", Guid.CreateVersion7(e.Timestamp).ToString("N"));
            json.WriteEndObject();
            json.WriteEndObject();
            json.Flush();
            NewLine(output);
            json.Reset(output);

            json.WriteStartObject();
            json.WriteString("@timestamp", e.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("level", e.Level);
            if (e.Host != null) json.WriteString("host", e.Host);
            if (e.Service != null) json.WriteString("service", e.Service);
            json.WriteString("message", e.Message);
            if (e.Fields.Count > 0)
            {
                // Arbitrary keys go under one `flattened` field (see the template): no mapping explosion, no clash with the fixed ones.
                json.WriteStartObject("fields");
                foreach (var (k, v) in e.Fields) json.WriteString(k, v);
                json.WriteEndObject();
            }
            json.WriteEndObject();
            json.Flush();
            NewLine(output);
            json.Reset(output);
        }
    }

    private static void NewLine(IBufferWriter<byte> output)
    {
        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }
}

/// <summary><c>observe-logs-{yyyy.MM.dd}</c>: literal text with one date format in braces, applied in UTC.</summary>
internal sealed class IndexNamePattern
{
    private static readonly Regex DatePart = new(@"\{([^{}]+)\}", RegexOptions.CultureInvariant);
    private readonly string _prefix, _format, _suffix;
    private string? _lastName;
    private DateOnly _lastDay;

    public IndexNamePattern(string pattern)
    {
        var m = DatePart.Match(pattern);
        if (!m.Success) { _prefix = pattern; _format = ""; _suffix = ""; return; }
        _prefix = pattern[..m.Index];
        _format = m.Groups[1].Value;
        _suffix = pattern[(m.Index + m.Length)..];
    }

    /// <summary>The template's <c>index_patterns</c> entry: the date part as <c>*</c>.</summary>
    public string Wildcard => _format.Length == 0 ? _prefix : _prefix + "*" + _suffix;

    public string For(DateTimeOffset timestamp)
    {
        if (_format.Length == 0) return _prefix;
        var utc = timestamp.UtcDateTime;
        var day = DateOnly.FromDateTime(utc);
        // Events of one batch nearly always share a day; the format allows finer parts (hours), so cache only day-level formats.
        if (_lastName != null && day == _lastDay && !_format.Contains('H') && !_format.Contains('h')) return _lastName;
        var name = _prefix + utc.ToString(_format, CultureInfo.InvariantCulture) + _suffix;
        _lastName = name;
        _lastDay = day;
        return name;
    }

    /// <summary>Why <paramref name="pattern"/> cannot name Elasticsearch indices, or null.</summary>
    public static string? Problem(string pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern)) return "required";
        var sample = new IndexNamePattern(pattern);
        string name;
        try { name = sample.For(new DateTimeOffset(2026, 11, 23, 13, 0, 0, TimeSpan.Zero)); }
        catch (FormatException e) { return $"bad date format: {e.Message}"; }
        if (name != name.ToLowerInvariant()) return $"'{name}': Elasticsearch index names must be lowercase";
        if (name.StartsWith('-') || name.StartsWith('_') || name.StartsWith('+')) return $"'{name}' may not start with -, _ or +";
        if (name.IndexOfAny(['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':']) >= 0) return $"'{name}' contains a character Elasticsearch forbids in index names";
        return null;
    }
}
