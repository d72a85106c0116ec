using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Observe.Collector.Logs;

/// <summary>Why an input was rejected; each reason is counted separately (<c>/stats</c> → <c>logs.rejected</c>).</summary>
internal enum LogRejectReason
{
    InvalidJson, NotAnObject, MissingMessage, TooLarge, BadCompression, BadChunk, ChunkTimeout, ChunkOverflow, InvalidUtf8,
}

/// <summary>
/// Turns one JSON object (UDP JSON line, GELF payload, HTTP line) into a normalised <see cref="LogEvent"/>,
/// reading the UTF-8 bytes in place with <see cref="Utf8JsonReader"/> (no DOM). Recognised keys (case-insensitive):
/// message: <c>short_message</c>, <c>message</c>, <c>msg</c>, <c>@m</c>, <c>full_message</c>, <c>@mt</c> (first present wins,
/// the others are kept as fields); level: <c>level</c>, <c>severity</c>, <c>@l</c>, <c>lvl</c>, <c>loglevel</c>;
/// timestamp: <c>timestamp</c>, <c>time</c>, <c>@t</c>, <c>@timestamp</c>, <c>ts</c>; host: <c>host</c>, <c>hostname</c>;
/// service: <c>service</c>, <c>_service</c>, <c>app</c>, <c>_app</c>, <c>application</c>, <c>_application</c>,
/// <c>container_name</c>, <c>_container_name</c> (first in that order; app and container names also stay fields).
/// Every other key is a field, its GELF <c>_</c> (or CLEF <c>@</c>) prefix removed; GELF's <c>version</c> is dropped.
/// </summary>
internal static class LogJsonParser
{
    private enum Role : byte
    {
        Field, Drop, ShortMessage, Message, Msg, RenderedMessage, FullMessage, Template,
        Level, Timestamp, Host, Service, App, Application, ContainerName,
    }

    // Message candidates in priority order.
    private static readonly Role[] MessageRoles = [Role.ShortMessage, Role.Message, Role.Msg, Role.RenderedMessage, Role.FullMessage, Role.Template];
    private static readonly Role[] ServiceRoles = [Role.Service, Role.App, Role.Application, Role.ContainerName];

    private static readonly FrozenDictionary<string, Role> Roles = new Dictionary<string, Role>(StringComparer.OrdinalIgnoreCase)
    {
        ["short_message"] = Role.ShortMessage, ["message"] = Role.Message, ["msg"] = Role.Msg, ["@m"] = Role.RenderedMessage,
        ["full_message"] = Role.FullMessage, ["@mt"] = Role.Template,
        ["level"] = Role.Level, ["severity"] = Role.Level, ["@l"] = Role.Level, ["lvl"] = Role.Level, ["loglevel"] = Role.Level,
        ["timestamp"] = Role.Timestamp, ["time"] = Role.Timestamp, ["@t"] = Role.Timestamp, ["@timestamp"] = Role.Timestamp, ["ts"] = Role.Timestamp,
        ["host"] = Role.Host, ["hostname"] = Role.Host,
        ["service"] = Role.Service, ["_service"] = Role.Service,
        ["app"] = Role.App, ["_app"] = Role.App, ["application"] = Role.Application, ["_application"] = Role.Application,
        ["container_name"] = Role.ContainerName, ["_container_name"] = Role.ContainerName,
        ["version"] = Role.Drop,
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenDictionary<string, Role>.AlternateLookup<ReadOnlySpan<char>> RoleLookup = Roles.GetAlternateLookup<ReadOnlySpan<char>>();

    internal static readonly IReadOnlyDictionary<string, string> NoFields = FrozenDictionary<string, string>.Empty;

    /// <summary>Parses one JSON object. On failure <paramref name="error"/> says what is wrong, for an HTTP answer.</summary>
    public static bool TryParse(ReadOnlySpan<byte> json, DateTimeOffset receivedAt, out LogEvent? logEvent, out LogRejectReason reason, out string? error)
    {
        logEvent = null;
        reason = default;
        error = null;
        // Utf8JsonReader does not check the bytes of a string until it is read as one, and then throws
        // InvalidOperationException: check the whole input first (one vectorised pass) so bad bytes are a counted rejection.
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            reason = LogRejectReason.InvalidUtf8;
            error = $"invalid UTF-8 at byte {FirstInvalidUtf8(json)}";
            return false;
        }
        try
        {
            return Parse(json, receivedAt, out logEvent, out reason, out error);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) // the latter: an escaped lone surrogate ("\ud800")
        {
            reason = LogRejectReason.InvalidJson;
            error = "invalid JSON: " + e.Message;
            return false;
        }
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        var offset = 0;
        while (offset < bytes.Length && System.Text.Rune.DecodeFromUtf8(bytes[offset..], out _, out var consumed) == System.Buffers.OperationStatus.Done)
            offset += consumed;
        return offset;
    }

    private static bool Parse(ReadOnlySpan<byte> json, DateTimeOffset receivedAt, out LogEvent? logEvent, out LogRejectReason reason, out string? error)
    {
        logEvent = null;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read()) { reason = LogRejectReason.InvalidJson; error = "empty input"; return false; }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reason = LogRejectReason.NotAnObject;
            error = $"expected a JSON object, got {reader.TokenType}";
            return false;
        }
        // Role values, indexed by Role; each recognised key keeps its last value.
        var values = new string?[16];
        Dictionary<string, string>? fields = null;
        double? numericTimestamp = null;
        long? numericLevel = null;
        Span<char> nameBuffer = stackalloc char[64];
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject) break;
            // PropertyName
            var nameLength = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length;
            string? name = null;
            Role role;
            if (nameLength <= nameBuffer.Length && !reader.ValueIsEscaped)
            {
                var n = Encoding.UTF8.GetChars(reader.ValueSpan, nameBuffer);
                if (!RoleLookup.TryGetValue(nameBuffer[..n], out role)) { role = Role.Field; name = new string(nameBuffer[..n]); }
            }
            else
            {
                name = reader.GetString()!;
                if (!Roles.TryGetValue(name, out role)) role = Role.Field;
            }
            if (!reader.Read()) break;
            if (role == Role.Timestamp && reader.TokenType == JsonTokenType.Number) { numericTimestamp = reader.GetDouble(); continue; }
            if (role == Role.Level && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var lv)) { numericLevel = lv; continue; }
            var value = ValueText(ref reader, json);
            if (role == Role.Drop) continue;
            if (role == Role.Field)
            {
                if (value == null) continue; // null carries nothing worth keeping
                (fields ??= new Dictionary<string, string>(StringComparer.Ordinal))[FieldName(name!)] = value;
                continue;
            }
            values[(int)role] = value;
        }
        if (reader.TokenType != JsonTokenType.EndObject) { reason = LogRejectReason.InvalidJson; error = "invalid JSON: unterminated object"; return false; }
        if (reader.Read()) { reason = LogRejectReason.InvalidJson; error = "invalid JSON: more after the object"; return false; }

        string? message = null;
        foreach (var r in MessageRoles)
        {
            var v = values[(int)r];
            if (v == null) continue;
            if (message == null) message = v;
            else (fields ??= new(StringComparer.Ordinal))[RoleFieldName(r)] = v;
        }
        if (message == null)
        {
            reason = LogRejectReason.MissingMessage;
            error = "no message: give one of short_message, message, msg, full_message";
            return false;
        }

        string? service = null;
        foreach (var r in ServiceRoles)
        {
            var v = values[(int)r];
            if (v == null) continue;
            if (r == Role.ContainerName) v = v.TrimStart('/'); // Docker names carry a leading '/' in some APIs
            service ??= v;
            if (r != Role.Service) (fields ??= new(StringComparer.Ordinal))[RoleFieldName(r)] = v;
        }

        string level;
        if (numericLevel is { } nl) level = LogLevels.FromSyslog(nl);
        else if (values[(int)Role.Level] is { } ls)
        {
            var mapped = LogLevels.FromName(ls);
            if (mapped == null) (fields ??= new(StringComparer.Ordinal))["level_raw"] = ls; // unknown: kept, counted as info
            level = mapped ?? LogLevels.Info;
        }
        else level = LogLevels.Info;

        DateTimeOffset timestamp;
        if (numericTimestamp is { } nt) timestamp = FromEpochNumber(nt) ?? receivedAt;
        else if (values[(int)Role.Timestamp] is { } ts)
        {
            var parsed = ParseTimestamp(ts);
            if (parsed == null) (fields ??= new(StringComparer.Ordinal))["timestamp_raw"] = ts;
            timestamp = parsed ?? receivedAt;
        }
        else timestamp = receivedAt;

        logEvent = new LogEvent(timestamp, level, values[(int)Role.Host], service, message, fields ?? NoFields);
        reason = default;
        error = null;
        return true;
    }

    /// <summary>A value as text: strings as they are, numbers and booleans as written, objects and arrays as their JSON; null for JSON null.</summary>
    private static string? ValueText(ref Utf8JsonReader reader, ReadOnlySpan<byte> json)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String: return reader.GetString();
            case JsonTokenType.Number: return Encoding.UTF8.GetString(reader.ValueSpan);
            case JsonTokenType.True: return "true";
            case JsonTokenType.False: return "false";
            case JsonTokenType.Null: return null;
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                return Encoding.UTF8.GetString(json[start..(int)reader.BytesConsumed]);
            default: throw new JsonException($"unexpected {reader.TokenType}");
        }
    }

    private static string FieldName(string key)
    {
        if (key.Length > 1 && (key[0] == '_' || key[0] == '@')) return key[1..];
        return key;
    }

    private static string RoleFieldName(Role r) => r switch
    {
        Role.ShortMessage => "short_message",
        Role.Message => "message",
        Role.Msg => "msg",
        Role.RenderedMessage => "rendered_message",
        Role.FullMessage => "full_message",
        Role.Template => "message_template",
        Role.App => "app",
        Role.Application => "application",
        Role.ContainerName => "container_name",
        _ => r.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// Epoch numbers by magnitude: seconds (GELF's float seconds, <c>1700000000.123</c>), milliseconds, microseconds or
    /// nanoseconds; the ranges cannot overlap for any date between 1973 and 5138.
    /// </summary>
    internal static DateTimeOffset? FromEpochNumber(double v)
    {
        if (!double.IsFinite(v) || v < 0) return null;
        double ms = v switch
        {
            < 1e11 => v * 1000,
            < 1e14 => v,
            < 1e17 => v / 1000,
            _ => v / 1e6,
        };
        if (ms > 253402300799999) return null; // after 9999-12-31
        return DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(ms));
    }

    /// <summary>ISO-8601 / RFC 3339 (no offset = UTC), or an epoch number as a string.</summary>
    internal static DateTimeOffset? ParseTimestamp(string s)
    {
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return FromEpochNumber(d);
        if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
            return t.ToUniversalTime();
        return null;
    }
}
