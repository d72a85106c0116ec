using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Observe.Alerting.Pipeline;
using Observe.Common;

namespace Observe.Alerting.Notifiers;

internal static class HttpOutcome
{
    /// <summary>Classified by the shared <see cref="EgressPolicy"/>, as the sinks are: retry throws, reject throws
    /// <see cref="EgressRejectedException"/> (the delivery gives up on it).</summary>
    public static async Task EnsureDeliveredAsync(HttpResponseMessage r, string what, CancellationToken ct)
    {
        var outcome = EgressPolicy.Classify(r.StatusCode);
        if (outcome == EgressOutcome.Delivered) return;
        var body = await r.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        var text = $"{what} answered {(int)r.StatusCode} {NotificationText.OneLine(EgressPolicy.Snippet(body, 200))}";
        if (outcome == EgressOutcome.Retry) throw new HttpRequestException(text);
        throw new EgressRejectedException(text);
    }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
}

/// <summary>Generic JSON webhook, shaped like Alertmanager's (version 4): one POST per notification; every string sanitised to one line.</summary>
internal sealed class WebhookNotifier(HttpClient http, WebhookReceiverOptions options) : INotifier
{
    public string Kind => "webhook";

    public async Task SendAsync(Notification n, CancellationToken ct)
    {
        var body = new
        {
            version = "4",
            receiver = NotificationText.OneLine(n.Receiver),
            status = n.Kind.ToString().ToLowerInvariant(),
            groupKey = NotificationText.OneLine(n.GroupKey),
            groupLabels = Clean(n.GroupLabels),
            commonLabels = Clean(n.CommonLabels()),
            note = n.Note is { } note ? NotificationText.OneLine(note) : null,
            alerts = n.Alerts.Select(a => new
            {
                key = NotificationText.OneLine(a.Key),
                source = NotificationText.OneLine(a.Source),
                status = a.Status,
                severity = NotificationText.OneLine(a.Severity),
                summary = NotificationText.OneLine(a.Summary),
                details = a.Details is { } d ? NotificationText.OneLine(d) : null,
                labels = Clean(a.Labels),
                startsAt = a.StartsAt,
                endsAt = a.EndsAt,
            }),
        };
        using var r = await http.PostAsJsonAsync(options.Url, body, HttpOutcome.Json, ct).ConfigureAwait(false);
        await HttpOutcome.EnsureDeliveredAsync(r, "webhook", ct).ConfigureAwait(false);
    }

    internal static Dictionary<string, string> Clean(IReadOnlyDictionary<string, string> labels) =>
        labels.ToDictionary(kv => NotificationText.OneLine(kv.Key), kv => NotificationText.OneLine(kv.Value));
}

/// <summary>PagerDuty Events API v2: firing → trigger, all resolved → resolve, acknowledged → acknowledge, with a
/// dedup_key derived from the group key (stable, so the three refer to one incident). Announcements are not pages.</summary>
internal sealed class PagerDutyNotifier(HttpClient http, PagerDutyReceiverOptions options) : INotifier
{
    public string Kind => "pagerduty";

    public static string DedupKey(string groupKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(groupKey)));

    public async Task SendAsync(Notification n, CancellationToken ct)
    {
        var action = n.Kind switch
        {
            NotificationKind.Firing => "trigger",
            NotificationKind.Resolved => "resolve",
            NotificationKind.Acknowledged => "acknowledge",
            _ => null,
        };
        if (action == null) return;
        var first = n.Firing.FirstOrDefault() ?? n.Alerts.FirstOrDefault();
        var summary = NotificationText.Render("[{status}{countSuffix}] {summary}", n);
        if (summary.Length > 1024) summary = summary[..1021] + "...";
        var body = new Dictionary<string, object?>
        {
            ["routing_key"] = options.RoutingKey,
            ["event_action"] = action,
            ["dedup_key"] = DedupKey(n.GroupKey),
        };
        if (action == "trigger")
        {
            body["payload"] = new Dictionary<string, object?>
            {
                ["summary"] = summary,
                ["source"] = NotificationText.OneLine(first?.Labels.GetValueOrDefault("host") ?? first?.Source ?? "observe"),
                ["severity"] = n.Firing.Select(a => a.Severity).Contains("critical") ? "critical"
                    : (first?.Severity) is "warning" or "info" or "error" ? first!.Severity : "error",
                ["group"] = NotificationText.Group(n),
                ["custom_details"] = new Dictionary<string, object?>
                {
                    ["alerts"] = n.Alerts.Select(a => new
                    {
                        key = NotificationText.OneLine(a.Key), status = a.Status, summary = NotificationText.OneLine(a.Summary),
                        details = a.Details is { } d ? NotificationText.OneLine(d) : null, labels = WebhookNotifier.Clean(a.Labels)
                    }).ToList(),
                    ["note"] = n.Note is { } note ? NotificationText.OneLine(note) : null,
                },
            };
        }
        using var r = await http.PostAsJsonAsync(options.Url, body, HttpOutcome.Json, ct).ConfigureAwait(false);
        await HttpOutcome.EnsureDeliveredAsync(r, "PagerDuty", ct).ConfigureAwait(false);
    }
}
