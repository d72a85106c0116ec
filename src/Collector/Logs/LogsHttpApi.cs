using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Observe.Collector.Logs;

/// <summary>
/// <c>POST /api/logs</c> (scope <c>ingest</c>): a JSON array of objects, or NDJSON (one object per line). Every good
/// event is accepted even when others are bad; the answer says how many of each and names every bad line (or array
/// item, with its line): 202 when all were accepted, 400 when any was not. The body is bounded by the host's
/// <c>http.maxRequestBodyBytes</c> (413 beyond it).
/// </summary>
internal static class LogsHttpApi
{
    private const int MaxErrorsListed = 100;

    internal sealed record LineError(int Line, string Error);

    /// <param name="pipeline">Resolved at each request: the log stage is built with the stages, after HTTP listens.</param>
    public static void Map(IEndpointRouteBuilder app, Func<LogPipeline> pipeline)
    {
        app.MapPost("/api/logs", async (HttpContext ctx) =>
        {
            using var body = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(body, ctx.RequestAborted);
            var (accepted, rejected, errors) = Ingest(body.GetBuffer().AsSpan(0, (int)body.Length), pipeline());
            if (accepted == 0 && rejected == 0)
                return Results.Json(new { error = "empty body: send a JSON array of log objects or NDJSON", accepted, rejected }, statusCode: 400);
            if (rejected == 0) return Results.Json(new { accepted, rejected }, statusCode: 202);
            var first = errors[0];
            return Results.Json(new
            {
                error = $"line {first.Line}: {first.Error}" + (rejected > 1 ? $" (and {rejected - 1} more bad)" : "") + $"; {accepted} accepted",
                accepted, rejected, errors,
            }, statusCode: 400);
        }).RequireAuthorization("ingest");
    }

    internal static (int Accepted, int Rejected, List<LineError> Errors) Ingest(ReadOnlySpan<byte> body, LogPipeline pipeline)
    {
        var errors = new List<LineError>();
        int accepted = 0, rejected = 0;
        void Bad(int line, string error)
        {
            rejected++;
            if (errors.Count < MaxErrorsListed) errors.Add(new LineError(line, error));
        }
        var trimmed = body.TrimStart(" \t\r\n"u8);
        if (trimmed.IsEmpty) return (0, 0, errors);
        if (trimmed[0] == (byte)'[')
        {
            var reader = new Utf8JsonReader(body);
            try
            {
                reader.Read(); // [
                var item = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    item++;
                    var start = (int)reader.TokenStartIndex;
                    var line = LineOf(body, start);
                    if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) reader.Skip();
                    if (reader.TokenType != JsonTokenType.EndObject) { Bad(line, $"item {item}: expected a JSON object"); pipeline.Reject(LogRejectReason.NotAnObject); continue; }
                    if (pipeline.HandleJson(body[start..(int)reader.BytesConsumed], 3, out var error)) accepted++;
                    else Bad(line, $"item {item}: {error}");
                }
                if (reader.Read()) throw new JsonException("more after the array");
            }
            catch (JsonException e)
            {
                // The array itself is broken: what was before the break is accepted, the rest cannot be read.
                pipeline.Reject(LogRejectReason.InvalidJson);
                Bad((int)(e.LineNumber ?? 0) + 1, "invalid JSON: " + e.Message);
            }
            return (accepted, rejected, errors);
        }
        var lineNumber = 0;
        foreach (var range in body.Split((byte)'\n'))
        {
            lineNumber++;
            var text = body[range].Trim(" \t\r"u8);
            if (text.IsEmpty) continue;
            if (pipeline.HandleJson(text, 3, out var error)) accepted++;
            else Bad(lineNumber, error!);
        }
        return (accepted, rejected, errors);
    }

    private static int LineOf(ReadOnlySpan<byte> body, int offset) => body[..offset].Count((byte)'\n') + 1;
}
