using Microsoft.AspNetCore.Http;

namespace Observe.Common;

/// <summary>Who made a change through the HTTP API, decided one way for acks, downtimes, silences and deploys.</summary>
public static class RequestAuthor
{
    /// <summary>The name of the bearer token when the host authenticated one (a body cannot claim to be someone else),
    /// otherwise the author the body names, cleaned; null when neither says.</summary>
    public static string? Who(HttpContext ctx, string? claimed) =>
        ctx.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name } ? name
        : string.IsNullOrWhiteSpace(claimed) ? null : NullIfEmpty(Clean(claimed));

    /// <summary>Names and comments reach IRC, SMTP and logs: no CR/LF/NUL or other control characters (nor Unicode line
    /// separators), trimmed.</summary>
    public static string Clean(string s)
    {
        var kept = new System.Text.StringBuilder(s.Length);
        foreach (var c in s) if (!char.IsControl(c) && c is not ('\u2028' or '\u2029')) kept.Append(c);
        return kept.ToString().Trim();
    }

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
}
