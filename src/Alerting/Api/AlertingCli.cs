using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Observe.Alerting.Api;

namespace Observe.Alerting;

/// <summary><c>observe ack</c>, <c>observe silence add|list|expire</c>, <c>observe alerts</c>: talk to a running Observe over HTTP,
/// with <c>Authorization: Bearer $OBSERVE_TOKEN</c> when that variable is set; the caller gives the author (the host's one default). Exit codes: 0 done, 1 refused, 3 unreachable.</summary>
public static class AlertingCli
{
    public static Task<int> AckAsync(Uri baseAddress, string key, string? comment, string author, TextWriter output, CancellationToken ct) =>
        SendAsync(baseAddress, HttpMethod.Post, "/api/alerts/ack", new { key, comment = comment ?? "", author }, output,
            j => $"acknowledged {key}", ct);

    public static Task<int> SilenceAddAsync(Uri baseAddress, IReadOnlyList<string> matchers, string duration, string reason, string author, TextWriter output, CancellationToken ct) =>
        SendAsync(baseAddress, HttpMethod.Post, "/api/silences", new { matchers, duration, comment = reason, author }, output,
            j => $"silence {j.GetProperty("id").GetString()} until {j.GetProperty("endsAt").GetDateTimeOffset():u}: {string.Join(",", matchers)}", ct);

    public static Task<int> SilenceExpireAsync(Uri baseAddress, string id, string author, TextWriter output, CancellationToken ct) =>
        SendAsync(baseAddress, HttpMethod.Delete, $"/api/silences/{Uri.EscapeDataString(id)}?author={Uri.EscapeDataString(author)}", null, output,
            _ => $"silence {id} expired", ct);

    public static Task<int> SilenceListAsync(Uri baseAddress, TextWriter output, CancellationToken ct) =>
        SendAsync(baseAddress, HttpMethod.Get, "/api/silences", null, output, j =>
        {
            var rows = new List<string[]> { new[] { "ID", "STATE", "MATCHERS", "ENDS", "BY", "REASON" } };
            foreach (var s in j.EnumerateArray())
                rows.Add([s.GetProperty("id").GetString()!, s.GetProperty("state").GetString()!, string.Join(",", s.GetProperty("matchers").EnumerateArray().Select(m => m.GetString())),
                    s.GetProperty("endsAt").GetDateTimeOffset().ToString("u"), s.GetProperty("createdBy").GetString()!, s.GetProperty("comment").GetString()!]);
            return Table(rows);
        }, ct);

    public static Task<int> AlertsAsync(Uri baseAddress, TextWriter output, CancellationToken ct) =>
        SendAsync(baseAddress, HttpMethod.Get, "/api/alerts", null, output, j =>
        {
            var rows = new List<string[]> { new[] { "KEY", "STATUS", "FLAGS", "SINCE", "SUMMARY" } };
            foreach (var a in j.EnumerateArray())
            {
                var alert = a.GetProperty("alert");
                var flags = string.Join(",", new[] { a.TryGetProperty("acknowledgement", out _) ? "ACK" : null, a.TryGetProperty("silencedBy", out _) ? "SILENCED" : null,
                    a.TryGetProperty("inhibitedBy", out _) ? "INHIBITED" : null }.OfType<string>());
                rows.Add([alert.GetProperty("key").GetString()!, alert.GetProperty("status").GetString()!, flags,
                    alert.GetProperty("startsAt").GetDateTimeOffset().ToString("u"), alert.GetProperty("summary").GetString()!]);
            }
            return Table(rows);
        }, ct);

    /// <summary>
    /// One call of a running Observe's API as the operator CLIs make it (also <c>observe checks ack|downtime</c>): bearer
    /// token from $OBSERVE_TOKEN, one line printed. Exit code 0 done, 1 refused, 3 unreachable.
    /// </summary>
    public static async Task<int> SendAsync(Uri baseAddress, HttpMethod method, string path, object? body, TextWriter output, Func<JsonElement, string> render, CancellationToken ct)
    {
        using var http = Observe.Durability.ApiClient.Create(baseAddress, TimeSpan.FromSeconds(10));
        using var req = new HttpRequestMessage(method, path);
        if (Environment.GetEnvironmentVariable("OBSERVE_TOKEN") is { Length: > 0 } token) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body != null) req.Content = JsonContent.Create(body, options: AlertingApi.Json);
        try
        {
            using var r = await http.SendAsync(req, ct).ConfigureAwait(false);
            var text = await r.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            JsonElement json = default;
            try { json = JsonDocument.Parse(text).RootElement; } catch (JsonException) { }
            if (!r.IsSuccessStatusCode)
            {
                var error = json.ValueKind == JsonValueKind.Object && json.TryGetProperty("error", out var e) ? e.GetString() : text;
                await output.WriteLineAsync($"refused ({(int)r.StatusCode}): {error}").ConfigureAwait(false);
                return 1;
            }
            await output.WriteLineAsync(render(json).TrimEnd('\n')).ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            await output.WriteLineAsync($"cannot reach {baseAddress}: {e.Message}").ConfigureAwait(false);
            return 3;
        }
    }

    private static string Table(List<string[]> rows)
    {
        var cols = rows[0].Length;
        var widths = Enumerable.Range(0, cols - 1).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var r in rows)
        {
            for (var i = 0; i < cols - 1; i++) sb.Append(r[i].PadRight(widths[i] + 2));
            sb.Append(r[^1]).Append('\n');
        }
        return sb.ToString();
    }
}
