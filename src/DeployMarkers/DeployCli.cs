using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Observe.DeployMarkers;

/// <summary>A marker as <c>observe deploy start|finish|fail</c> sends it.</summary>
public sealed record DeployCliMarker(
    string Event, string? Id, string? Service, string? Env, string? Version, string? Branch, string? Revision,
    string? By, string? Description, string? Reason, bool Force, string? RollbackOf, string? IdFile = null);

/// <summary>
/// <c>observe deploy …</c>: talks HTTP to a running Observe and prints one line. Exit codes for deploy scripts:
/// 0 accepted (with --wait: verified, inconclusive or not verified), 1 the deploy failed verification, was rolled back
/// or failed, 2 refused (bad marker, environment locked, not allowed), 3 Observe unreachable or no verdict in time.
/// </summary>
public static class DeployCli
{
    public const int Ok = 0, DeployBad = 1, Refused = 2, Unreachable = 3;

    public static async Task<int> MarkAsync(Uri baseUrl, string? token, DeployCliMarker m, TimeSpan? wait, TextWriter output, CancellationToken ct)
    {
        using var http = Client(baseUrl, token);
        // The id travels from start to finish in a file, so finish and fail mark this deploy and never guess another.
        if (m.Id == null && m.Event != "start" && m.IdFile != null && File.Exists(m.IdFile) && ReadId(m.IdFile) is { Length: > 0 } saved)
            m = m with { Id = saved };
        var body = new MarkerRequest(m.Id, m.Event, m.Service, m.Env, m.Version, m.Revision, m.Branch, m.By, m.Description, m.Force, m.RollbackOf, m.Reason);
        var (status, json, error) = await SendAsync(http, () => new HttpRequestMessage(HttpMethod.Post, "api/deploys") { Content = JsonContent.Create(body, options: DeployJson.Options) }, ct).ConfigureAwait(false);
        if (error != null) { await output.WriteLineAsync(error).ConfigureAwait(false); return Unreachable; }
        if (status >= 400) { await output.WriteLineAsync(Refusal(status, json)).ConfigureAwait(false); return status >= 500 ? Unreachable : Refused; }
        var d = json.Deserialize<Deploy>(DeployJson.Options)!;
        if (m.Event == "start" && m.IdFile != null) await File.WriteAllTextAsync(m.IdFile, d.Id + "\n", ct).ConfigureAwait(false);
        if (wait is { } limit && m.Event == "finish")
        {
            var until = DateTime.UtcNow + limit;
            while (!Settled(d))
            {
                if (DateTime.UtcNow > until) { await output.WriteLineAsync($"{Line(d)}: no verdict within {limit.TotalSeconds:0} s").ConfigureAwait(false); return Unreachable; }
                await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
                var (s2, j2, e2) = await SendAsync(http, () => new HttpRequestMessage(HttpMethod.Get, $"api/deploys/{Uri.EscapeDataString(d.Id)}"), ct).ConfigureAwait(false);
                if (e2 == null && s2 == 200) d = j2.Deserialize<Deploy>(DeployJson.Options)!;
            }
        }
        await output.WriteLineAsync(Line(d)).ConfigureAwait(false);
        return d.State is DeployState.RolledBack or DeployState.Failed || d.Verification?.Verdict == "fail" ? DeployBad : Ok;
    }

    /// <summary><c>observe deploy resolve ID</c>: the deploy's alert (failed verification, rolled back) is dealt with.</summary>
    public static async Task<int> ResolveAsync(Uri baseUrl, string? token, string id, string? by, TextWriter output, CancellationToken ct)
    {
        using var http = Client(baseUrl, token);
        var (status, json, error) = await SendAsync(http, () => new HttpRequestMessage(HttpMethod.Post,
            $"api/deploys/{Uri.EscapeDataString(id)}/resolve?by={Uri.EscapeDataString(by ?? "")}"), ct).ConfigureAwait(false);
        if (error != null) { await output.WriteLineAsync(error).ConfigureAwait(false); return Unreachable; }
        if (status >= 400) { await output.WriteLineAsync(Refusal(status, json)).ConfigureAwait(false); return status >= 500 ? Unreachable : Refused; }
        await output.WriteLineAsync($"{Line(json.Deserialize<Deploy>(DeployJson.Options)!)}; alert resolved").ConfigureAwait(false);
        return Ok;
    }

    public static async Task<int> LockAsync(Uri baseUrl, string? token, string env, string? by, string? reason, bool force, TextWriter output, CancellationToken ct)
    {
        using var http = Client(baseUrl, token);
        var (status, json, error) = await SendAsync(http, () => new HttpRequestMessage(HttpMethod.Post, "api/locks")
        { Content = JsonContent.Create(new { env, by, reason, force }) }, ct).ConfigureAwait(false);
        return await LockAnswer(status, json, error, output, l => $"{l.Env} locked by {l.By}" + (l.Reason.Length > 0 ? $": {l.Reason}" : "")).ConfigureAwait(false);
    }

    public static async Task<int> UnlockAsync(Uri baseUrl, string? token, string env, string? by, bool force, TextWriter output, CancellationToken ct)
    {
        using var http = Client(baseUrl, token);
        var q = $"api/locks/{Uri.EscapeDataString(env)}?by={Uri.EscapeDataString(by ?? "")}{(force ? "&force=true" : "")}";
        var (status, json, error) = await SendAsync(http, () => new HttpRequestMessage(HttpMethod.Delete, q), ct).ConfigureAwait(false);
        return await LockAnswer(status, json, error, output, l => $"{l.Env} unlocked (was held by {l.By})").ConfigureAwait(false);
    }

    private static async Task<int> LockAnswer(int status, JsonElement json, string? error, TextWriter output, Func<EnvLock, string> line)
    {
        if (error != null) { await output.WriteLineAsync(error).ConfigureAwait(false); return Unreachable; }
        if (status >= 400) { await output.WriteLineAsync(Refusal(status, json)).ConfigureAwait(false); return status >= 500 ? Unreachable : Refused; }
        await output.WriteLineAsync(line(json.Deserialize<EnvLock>(DeployJson.Options)!)).ConfigureAwait(false);
        return Ok;
    }

    /// <summary>Done waiting: an end state, or a final verdict with no rollback still running.</summary>
    private static bool Settled(Deploy d) =>
        d.State is DeployState.Verified or DeployState.RolledBack or DeployState.Failed
        || d.State == DeployState.Finished && d.Verification?.Verdict is "fail" or "inconclusive" or "not_verified" or "superseded" && d.Rollback is not { EndedAt: null };

    private static string Line(Deploy d)
    {
        var s = $"deploy {d.Id}: {d.Service}{(d.Branch != null ? "/" + d.Branch : "")} ({d.Version}) to {d.Env}: {JsonNamingPolicy.SnakeCaseLower.ConvertName(d.State.ToString())}";
        if (d.Verification is { Verdict: not "pending" } v) s += $"; verdict {v.Verdict}: {v.Reason}";
        if (d.Rollback is { } r) s += $"; rollback {r.Action} {(r.Succeeded ? "succeeded" : "failed")}{(r.ExitCode is { } c ? $" (exit {c})" : "")}{(r.GoodVersion != null ? $" to {r.GoodVersion}" : "")}";
        if (d.ForcedPastLock is { } l) s += $"; forced past lock by {l.By}";
        return s;
    }

    /// <summary>The first line of an id file, at most 256 characters read (an id is at most 128; the server checks it).</summary>
    private static string ReadId(string path)
    {
        using var r = new StreamReader(path);
        var buf = new char[256];
        var n = r.ReadBlock(buf, 0, buf.Length);
        return new string(buf, 0, n).Split('\n')[0].Trim();
    }

    private static string Refusal(int status, JsonElement json)
    {
        var msg = json.ValueKind == JsonValueKind.Object && json.TryGetProperty("error", out var e) ? e.GetString() : null;
        return $"refused ({status}): {msg ?? "no reason given"}";
    }

    private static HttpClient Client(Uri baseUrl, string? token)
    {
        var http = Observe.Durability.ApiClient.Create(baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/"), TimeSpan.FromSeconds(30));
        if (!string.IsNullOrEmpty(token)) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private static async Task<(int Status, JsonElement Json, string? Error)> SendAsync(HttpClient http, Func<HttpRequestMessage> request, CancellationToken ct)
    {
        try
        {
            using var msg = request();
            using var resp = await http.SendAsync(msg, ct).ConfigureAwait(false);
            var text = await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            JsonElement json = default;
            try { if (text.Length > 0) json = JsonDocument.Parse(text).RootElement; } catch (JsonException) { }
            return ((int)resp.StatusCode, json, resp.StatusCode == HttpStatusCode.NotFound && json.ValueKind != JsonValueKind.Object ? $"{http.BaseAddress} has no deploy API (is deploys.enabled on?)" : null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return (0, default, $"cannot reach Observe at {http.BaseAddress}: {e.Message}");
        }
    }
}
