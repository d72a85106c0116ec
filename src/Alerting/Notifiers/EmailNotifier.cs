using System.Net;
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using MimeKit;
using Observe.Alerting.Pipeline;
using Observe.Common;

namespace Observe.Alerting.Notifiers;

/// <summary>E-mail via MailKit: one mail per notification (a whole group), text and HTML bodies; header values are
/// sanitised to one line and every body value too, so nothing in an alert can add a header or an SMTP command.
/// Alerts with a graph target (metric checks) carry its last <see cref="EmailReceiverOptions.GraphWindow"/> as an inline
/// PNG (multipart/related, referenced by Content-ID from the HTML body).</summary>
internal sealed class EmailNotifier(SmtpOptions smtp, EmailReceiverOptions options, TemplateOptions templates,
    IAlertGraphs? graphs = null, ILogger? log = null) : INotifier
{
    /// <summary>Graphs in one mail at most: a group of many metric alerts stays a mail, not an album.</summary>
    internal const int MaxGraphs = 4;

    public string Kind => "email";

    public async Task SendAsync(Notification n, CancellationToken ct)
    {
        var message = Build(n);
        using var client = new SmtpClient();
        var security = smtp.Security.ToLowerInvariant() switch
        {
            "none" => SecureSocketOptions.None,
            "starttls" => SecureSocketOptions.StartTls,
            "tls" => SecureSocketOptions.SslOnConnect,
            _ => SecureSocketOptions.StartTlsWhenAvailable,
        };
        await client.ConnectAsync(smtp.Host, smtp.Port, security, ct).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(smtp.Username)) await client.AuthenticateAsync(smtp.Username, smtp.Password ?? "", ct).ConfigureAwait(false);
        await client.SendAsync(message, ct).ConfigureAwait(false);
        await client.DisconnectAsync(true, ct).ConfigureAwait(false);
    }

    internal MimeMessage Build(Notification n)
    {
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse(smtp.From));
        foreach (var to in options.To) m.To.Add(MailboxAddress.Parse(to));
        m.Subject = NotificationText.Render(templates.MailSubject, n);
        var text = new StringBuilder();
        var html = new StringBuilder("<html><body>");
        text.Append(NotificationText.OneLine(m.Subject)).Append("\n\n");
        html.Append("<h3>").Append(H(m.Subject)).Append("</h3>");
        if (n.Note != null) { text.Append(NotificationText.OneLine(n.Note)).Append("\n\n"); html.Append("<p>").Append(H(n.Note)).Append("</p>"); }
        html.Append("<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\"><tr><th>status</th><th>severity</th><th>summary</th><th>labels</th><th>since</th></tr>");
        foreach (var a in n.Alerts)
        {
            var labels = string.Join(" ", a.Labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
            text.Append("* ").Append(a.Status.ToUpperInvariant()).Append(' ').Append(NotificationText.OneLine(a.Summary)).Append('\n')
                .Append("  labels: ").Append(NotificationText.OneLine(labels)).Append('\n')
                .Append("  since: ").Append(a.StartsAt.ToString("u")).Append(a.EndsAt is { } e ? $", resolved {e:u}" : "").Append('\n');
            if (a.Details != null) text.Append("  details: ").Append(NotificationText.OneLine(a.Details)).Append('\n');
            html.Append("<tr><td>").Append(H(a.Status)).Append("</td><td>").Append(H(a.Severity)).Append("</td><td>").Append(H(a.Summary))
                .Append(a.Details != null ? "<br><small>" + H(a.Details) + "</small>" : "").Append("</td><td>").Append(H(labels))
                .Append("</td><td>").Append(H(a.StartsAt.ToString("u"))).Append("</td></tr>");
        }
        html.Append("</table>");
        var body = new BodyBuilder { TextBody = text.ToString() };
        AddGraphs(n, body, html);
        html.Append("</body></html>");
        body.HtmlBody = html.ToString();
        m.Body = body.ToMessageBody();
        return m;
    }

    private void AddGraphs(Notification n, BodyBuilder body, StringBuilder html)
    {
        if (graphs == null || !DurationSyntax.TryParse(options.GraphWindow, out var window) || window <= TimeSpan.Zero) return;
        var until = n.Time;
        var from = until - window;
        var targets = n.Alerts.Where(a => a.GraphTarget != null).Select(a => (a.GraphTarget!, a.Labels)).DistinctBy(t => t.Item1).Take(MaxGraphs);
        var i = 0;
        foreach (var (target, labels) in targets)
        {
            byte[] png;
            var title = labels.TryGetValue("check", out var check) ? $"{labels.GetValueOrDefault("host")}/{check}: last {options.GraphWindow}" : target;
            try { png = graphs.Png(target, from, until, NotificationText.OneLine(title)); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The mail matters more than its picture: it goes without one.
                log?.LogWarning("alert mail: no graph of {Target}: {Error}", target, e.Message);
                continue;
            }
            var image = body.LinkedResources.Add($"graph{i++}.png", png, ContentType.Parse("image/png"));
            image.ContentId = MimeKit.Utils.MimeUtils.GenerateMessageId();
            html.Append("<p><img alt=\"").Append(H(target)).Append("\" src=\"cid:").Append(H(image.ContentId)).Append("\"></p>");
        }
    }

    private static string H(string s) => WebUtility.HtmlEncode(NotificationText.OneLine(s));
}
