using System.Text;
using System.Text.RegularExpressions;
using Observe.Alerting.Pipeline;

namespace Observe.Alerting.Notifiers;

/// <summary>Sanitising and the default templates every notifier shares.</summary>
internal static partial class NotificationText
{
    /// <summary>One line of text safe for IRC, mail headers and JSON: every control character (CR, LF, NUL, IRC formatting
    /// bytes, …) and the Unicode line/paragraph separators become a space.</summary>
    public static string OneLine(string? s)
    {
        if (string.IsNullOrEmpty(s)) return "";
        var sb = new StringBuilder(s.Length);
        foreach (var c in s) sb.Append(char.IsControl(c) || c is '\u2028' or '\u2029' or '\u0085' ? ' ' : c);
        return sb.ToString();
    }

    public static string Status(Notification n) => n.Kind switch
    {
        NotificationKind.Firing => "FIRING",
        NotificationKind.Resolved => "RESOLVED",
        NotificationKind.Announcement => "ANNOUNCE",
        _ => "ACK",
    };

    /// <summary>Summaries of the alerts the notification is about (firing first, then resolved), joined by "; " and cut
    /// after about <paramref name="maxChars"/> characters with "… and N more", so a big group stays one IRC line.</summary>
    public static string Summaries(Notification n, int maxChars = 300)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < n.Alerts.Count; i++)
        {
            var s = OneLine(n.Alerts[i].Summary);
            if (i > 0 && sb.Length + s.Length > maxChars) { sb.Append($"; … and {n.Alerts.Count - i} more"); break; }
            if (i > 0) sb.Append("; ");
            sb.Append(s);
        }
        return sb.ToString();
    }

    public static string Group(Notification n)
    {
        var labels = n.GroupLabels.Count > 0 ? n.GroupLabels : n.CommonLabels();
        return labels.Count == 0 ? OneLine(n.Alerts.FirstOrDefault()?.Summary) : string.Join(" ", labels.Select(kv => $"{kv.Key}={OneLine(kv.Value)}"));
    }

    /// <summary>Fills a template's placeholders (see <see cref="TemplateOptions"/>); every value is sanitised to one line.</summary>
    public static string Render(string template, Notification n)
    {
        var common = n.CommonLabels();
        var resolvedNote = n.Kind == NotificationKind.Firing && n.Resolved.Any() ? $" ({n.Resolved.Count()} resolved)" : "";
        var count = n.Kind == NotificationKind.Resolved ? n.Alerts.Count : n.Firing.Count();
        var text = Placeholder().Replace(template, m => m.Groups[1].Value switch
        {
            "status" => Status(n),
            "count" => count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "countSuffix" => n.Alerts.Count > 1 ? $":{count}" : "",
            "group" => Group(n),
            "summary" => Summaries(n) + resolvedNote + (n.Note != null ? $" — {OneLine(n.Note)}" : ""),
            "receiver" => OneLine(n.Receiver),
            var k when k.StartsWith("labels.", StringComparison.Ordinal) => common.TryGetValue(k[7..], out var v) ? OneLine(v) : "",
            _ => m.Value,
        });
        return OneLine(text);
    }

    [GeneratedRegex(@"\{([A-Za-z_.][A-Za-z0-9_.\-]*)\}")]
    private static partial Regex Placeholder();

    /// <summary>Placeholders a template may use (config check rejects others).</summary>
    public static IEnumerable<string> UnknownPlaceholders(string template) =>
        Placeholder().Matches(template).Select(m => m.Groups[1].Value)
            .Where(k => k is not ("status" or "count" or "countSuffix" or "group" or "summary" or "receiver") && !k.StartsWith("labels.", StringComparison.Ordinal));
}
