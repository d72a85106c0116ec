using System.Globalization;
using System.Net.Http.Json;
using System.Text;

namespace Observe.Checks;

/// <summary><c>observe checks [--problems]</c>: reads <c>GET /api/checks</c> from a running Observe and prints a table.</summary>
public static class ChecksCli
{
    /// <returns>Nagios-style exit code: the worst state shown (0 when all OK), or 3 when Observe cannot be reached.</returns>
    public static async Task<int> PrintAsync(Uri baseAddress, bool problemsOnly, TextWriter output, CancellationToken cancellationToken)
    {
        using var http = Observe.Durability.ApiClient.Create(baseAddress, TimeSpan.FromSeconds(10));
        List<CheckStatus>? list;
        try { list = await http.GetFromJsonAsync<List<CheckStatus>>($"/api/checks{(problemsOnly ? "?problems=true" : "")}", Api.ChecksApi.Json, cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            await output.WriteLineAsync($"cannot read {baseAddress}api/checks: {e.Message}").ConfigureAwait(false);
            return 3;
        }
        await output.WriteAsync(Render(list ?? [], DateTimeOffset.UtcNow)).ConfigureAwait(false);
        return ExitCode(list ?? []);
    }

    /// <summary>The worst state as a Nagios exit code; OK and PENDING are 0.</summary>
    public static int ExitCode(IEnumerable<CheckStatus> checks) =>
        checks.Select(s => s.State switch { CheckState.Critical => 2, CheckState.Unknown => 3, CheckState.Warning => 1, _ => 0 }).DefaultIfEmpty(0).Max();

    /// <summary>WARNING, CRITICAL or UNKNOWN (a check not run yet is PENDING, not a problem).</summary>
    public static bool IsProblem(CheckStatus s) => s.State is CheckState.Warning or CheckState.Critical or CheckState.Unknown;

    /// <summary><c>observe checks availability [--from -30d] [--until now] [--host h]</c>: the availability report as a table; 3 when Observe cannot be reached.</summary>
    public static async Task<int> PrintAvailabilityAsync(Uri baseAddress, string from, string until, string? host, TextWriter output, CancellationToken cancellationToken)
    {
        using var http = Observe.Durability.ApiClient.Create(baseAddress, TimeSpan.FromSeconds(30));
        var path = (host != null ? $"/api/checks/{Uri.EscapeDataString(host)}/availability" : "/api/checks/availability")
            + $"?from={Uri.EscapeDataString(from)}&until={Uri.EscapeDataString(until)}";
        try
        {
            using var r = await http.GetAsync(path, cancellationToken).ConfigureAwait(false);
            var body = await r.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!r.IsSuccessStatusCode) { await output.WriteLineAsync($"{(int)r.StatusCode}: {body}").ConfigureAwait(false); return 2; }
            var report = System.Text.Json.JsonSerializer.Deserialize<AvailabilityAnswer>(body, Api.ChecksApi.Json)!;
            await output.WriteAsync(RenderAvailability(report.Checks.Append(report.Total).ToList())).ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            await output.WriteLineAsync($"cannot read {baseAddress}{path.TrimStart('/')}: {e.Message}").ConfigureAwait(false);
            return 3;
        }
    }

    private sealed record AvailabilityAnswer(State.AvailabilityReport Total, List<State.AvailabilityReport> Checks);

    internal static string RenderAvailability(IReadOnlyList<State.AvailabilityReport> reports)
    {
        var rows = new List<string[]> { new[] { "HOST", "CHECK", "OK%", "WARNING%", "CRITICAL%", "UNKNOWN%", "DOWNTIME%", "UNMONITORED%", "PROBLEMS", "MTTR" } };
        foreach (var r in reports)
            rows.Add([r.Host, r.Check, P(r.OkPercent), P(r.WarningPercent), P(r.CriticalPercent), P(r.UnknownPercent), P(r.DowntimePercent), P(r.UnmonitoredPercent),
                r.Problems.ToString(CultureInfo.InvariantCulture), r.MttrSeconds is { } m ? Age(TimeSpan.FromSeconds(m)).Replace(" ago", "") : "-"]);
        var widths = Enumerable.Range(0, 10).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var r in rows) sb.Append(string.Concat(r.Select((c, i) => c.PadRight(widths[i] + 2))).TrimEnd()).Append('\n');
        return sb.ToString();

        static string P(double x) => x.ToString("0.000", CultureInfo.InvariantCulture);
    }

    /// <summary>HOST, CHECK, STATE (with SOFT n/m), FLAGS (ACK, DOWNTIME, FLAPPING), LAST CHECK age, OUTPUT.</summary>
    public static string Render(IReadOnlyList<CheckStatus> checks, DateTimeOffset now)
    {
        var rows = new List<string[]> { new[] { "HOST", "CHECK", "STATE", "FLAGS", "LAST", "OUTPUT" } };
        foreach (var s in checks.OrderBy(c => c.Host, StringComparer.Ordinal).ThenBy(c => c.Check, StringComparer.Ordinal))
        {
            var state = s.State.Upper() + (s.StateType == StateType.Soft ? $" (soft {s.Attempt}/{s.MaxAttempts})" : "");
            var flags = string.Join(",", new[] { s.Acknowledgement != null ? "ACK" : null, s.InDowntime ? "DOWNTIME" : null, s.IsFlapping ? "FLAPPING" : null }.OfType<string>());
            var last = s.LastCheck is { } l ? Age(now - l) : "never";
            var text = s.Output.Length > 80 ? s.Output[..77] + "..." : s.Output;
            rows.Add([s.Host, s.Check, state, flags, last, text]);
        }
        var widths = Enumerable.Range(0, 5).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var r in rows)
        {
            for (var i = 0; i < 5; i++) sb.Append(r[i].PadRight(widths[i] + 2));
            sb.Append(r[5]).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary><c>observe checks ack HOST/CHECK</c>: acknowledges the check's problem, and with it its alert.</summary>
    public static Task<int> AckAsync(Uri baseAddress, string hostCheck, string? comment, bool sticky, string? author, TextWriter output, CancellationToken ct) =>
        Send(baseAddress, HttpMethod.Post, hostCheck, "ack", new { author = author ?? Environment.UserName, comment = comment ?? "", sticky }, output, $"acknowledged {hostCheck}", ct);

    /// <summary><c>observe checks remove-ack HOST/CHECK</c>.</summary>
    public static Task<int> RemoveAckAsync(Uri baseAddress, string hostCheck, TextWriter output, CancellationToken ct) =>
        Send(baseAddress, HttpMethod.Delete, hostCheck, "ack", null, output, $"acknowledgement of {hostCheck} removed", ct);

    /// <summary><c>observe checks downtime HOST/CHECK --for 1h [--flexible]</c>: fixed from now for the duration, or flexible (starts at the first problem within it).</summary>
    public static Task<int> DowntimeAsync(Uri baseAddress, string hostCheck, string duration, bool flexible, string? comment, string? author, TextWriter output, CancellationToken ct) =>
        Send(baseAddress, HttpMethod.Post, hostCheck, "downtime", new { author = author ?? Environment.UserName, comment = comment ?? "", duration, @fixed = !flexible }, output,
            $"downtime for {hostCheck} scheduled", ct, j => $" (id {j.GetProperty("id").GetInt32()}; cancel with: observe checks cancel-downtime {hostCheck} {j.GetProperty("id").GetInt32()})");

    /// <summary><c>observe checks cancel-downtime HOST/CHECK ID</c>.</summary>
    public static Task<int> CancelDowntimeAsync(Uri baseAddress, string hostCheck, int id, TextWriter output, CancellationToken ct) =>
        Send(baseAddress, HttpMethod.Delete, hostCheck, $"downtime/{id}", null, output, $"downtime {id} of {hostCheck} cancelled", ct);

    private static async Task<int> Send(Uri baseAddress, HttpMethod method, string hostCheck, string action, object? body, TextWriter output, string done,
        CancellationToken ct, Func<System.Text.Json.JsonElement, string>? more = null)
    {
        var parts = hostCheck.Split('/');
        if (parts.Length != 2 || parts.Any(p => p.Length == 0))
        {
            await output.WriteLineAsync($"'{hostCheck}' is not HOST/CHECK (e.g. web1/http)").ConfigureAwait(false);
            return 2;
        }
        var path = $"/api/checks/{Uri.EscapeDataString(parts[0])}/{Uri.EscapeDataString(parts[1])}/{action}";
        return await Observe.Alerting.AlertingCli.SendAsync(baseAddress, method, path, body, output, j => done + (more != null && j.ValueKind == System.Text.Json.JsonValueKind.Object ? more(j) : ""), ct).ConfigureAwait(false);
    }

    private static string Age(TimeSpan t) =>
        t.TotalSeconds < 90 ? $"{Math.Max(0, t.TotalSeconds).ToString("0", CultureInfo.InvariantCulture)}s ago"
        : t.TotalMinutes < 90 ? $"{t.TotalMinutes.ToString("0", CultureInfo.InvariantCulture)}m ago"
        : $"{t.TotalHours.ToString("0", CultureInfo.InvariantCulture)}h ago";
}
