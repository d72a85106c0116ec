using System.Net;
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Observe.Alerting.Pipeline;

namespace Observe.Alerting.Notifiers;

/// <summary>E-mail via MailKit: one mail per notification (a whole group), text and HTML bodies; header values are
/// sanitised to one line and every body value too, so nothing in an alert can add a header or an SMTP command.</summary>
internal sealed class EmailNotifier(SmtpOptions smtp, EmailReceiverOptions options, TemplateOptions templates) : INotifier
{
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
        html.Append("</table></body></html>");
        m.Body = new BodyBuilder { TextBody = text.ToString(), HtmlBody = html.ToString() }.ToMessageBody();
        return m;
    }

    private static string H(string s) => WebUtility.HtmlEncode(NotificationText.OneLine(s));
}
