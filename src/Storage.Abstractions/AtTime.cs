using System.Globalization;

namespace Observe.Storage.Graphite;

/// <summary>Thrown for bad user input (HTTP 400), as graphite-web's InputParameterError.</summary>
public class GraphiteInputException(string message) : Exception(message);

/// <summary>
/// graphite-web 1.1.8 render/attime.py: parseATTime / parseTimeReference / parseTimeOffset, in UTC
/// (the Observe API always runs with TIME_ZONE = UTC). Times are unix seconds.
/// </summary>
public static class AtTime
{
    private static readonly string[] Months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    private static readonly string[] Weekdays = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    public static long Parse(string input, long now)
    {
        var s = input.Trim().ToLowerInvariant().Replace("_", "").Replace(",", "").Replace(" ", "");
        if (s.Length > 0 && s.All(char.IsAsciiDigit))
        {
            if (!(s.Length == 8 && int.Parse(s[..4], CultureInfo.InvariantCulture) > 1900
                  && int.Parse(s.Substring(4, 2), CultureInfo.InvariantCulture) < 13
                  && int.Parse(s[6..], CultureInfo.InvariantCulture) < 32))
                return long.Parse(s, CultureInfo.InvariantCulture);
        }
        string reference, offset;
        var plus = s.IndexOf('+');
        var minus = s.IndexOf('-');
        if (plus >= 0) { reference = s[..plus]; offset = s[plus..]; }
        else if (minus >= 0) { reference = s[..minus]; offset = s[minus..]; }
        else { reference = s; offset = ""; }
        return ParseReference(reference, now) + ParseOffset(offset);
    }

    public static long ParseReference(string reference, long now)
    {
        var nowDt = DateTime.UnixEpoch.AddSeconds(now);
        if (reference.Length == 0 || reference == "now") return now;
        var raw = reference;
        var r = reference;
        int hour = 0, minute = 0;
        var i = r.IndexOf(':');
        if (i > 0 && i < 3)
        {
            hour = Int(r[..i], raw);
            minute = Int(r.Substring(i + 1, Math.Min(2, r.Length - i - 1)), raw);
            r = r.Length > i + 3 ? r[(i + 3)..] : "";
            if (r.StartsWith("am", StringComparison.Ordinal)) r = r[2..];
            else if (r.StartsWith("pm", StringComparison.Ordinal)) { hour = (hour + 12) % 24; r = r[2..]; }
        }
        i = r.IndexOf("am", StringComparison.Ordinal);
        if (i > 0 && i < 3) { hour = Int(r[..i], raw); r = r[(i + 2)..]; }
        i = r.IndexOf("pm", StringComparison.Ordinal);
        if (i > 0 && i < 3) { hour = (Int(r[..i], raw) + 12) % 24; r = r[(i + 2)..]; }
        if (r.StartsWith("noon", StringComparison.Ordinal)) { hour = 12; minute = 0; r = r[4..]; }
        else if (r.StartsWith("midnight", StringComparison.Ordinal)) { hour = 0; minute = 0; r = r[8..]; }
        else if (r.StartsWith("teatime", StringComparison.Ordinal)) { hour = 16; minute = 0; r = r[7..]; }

        DateTime refDate;
        try { refDate = new DateTime(nowDt.Year, nowDt.Month, nowDt.Day, hour, minute, 0, DateTimeKind.Utc); }
        catch (ArgumentOutOfRangeException) { throw new GraphiteInputException($"Invalid time reference: {raw}"); }

        if (r is "yesterday" or "today" or "tomorrow")
        {
            if (r == "yesterday") refDate = refDate.AddDays(-1);
            else if (r == "tomorrow") refDate = refDate.AddDays(1);
        }
        else if (r.Count(c => c == '/') == 2)
        {
            var parts = r.Split('/');
            int m = Int(parts[0], raw), d = Int(parts[1], raw), y = Int(parts[2], raw);
            if (y < 1900) y += 1900;
            if (y < 1970) y += 100;
            refDate = Date(y, m, d, hour, minute, raw);
        }
        else if (r.Length == 8 && r.All(char.IsAsciiDigit))
        {
            refDate = Date(Int(r[..4], raw), Int(r.Substring(4, 2), raw), Int(r.Substring(6, 2), raw), hour, minute, raw);
        }
        else if (r.Length >= 3 && Array.IndexOf(Months, r[..3]) >= 0)
        {
            int d;
            if (r.Length >= 2 && char.IsAsciiDigit(r[^1]) && char.IsAsciiDigit(r[^2])) d = Int(r[^2..], raw);
            else if (r.Length >= 1 && char.IsAsciiDigit(r[^1])) d = Int(r[^1..], raw);
            else throw new GraphiteInputException("Day of month required after month name");
            refDate = Date(refDate.Year, Array.IndexOf(Months, r[..3]) + 1, d, hour, minute, raw);
        }
        else if (r.Length >= 3 && Array.IndexOf(Weekdays, r[..3]) >= 0)
        {
            var today = (int)refDate.DayOfWeek; // Sunday = 0 as in the weekdays list
            var dayOffset = today - Array.IndexOf(Weekdays, r[..3]);
            if (dayOffset < 0) dayOffset += 7;
            refDate = refDate.AddDays(-dayOffset);
        }
        else if (r.Length > 0)
            throw new GraphiteInputException($"Unknown day reference: {raw}");

        return (long)(refDate - DateTime.UnixEpoch).TotalSeconds;
    }

    /// <summary>parseTimeOffset: <c>-1h</c>, <c>+10min</c>, <c>1d2h</c>; months are 30 days, years 365. Result in seconds.</summary>
    public static long ParseOffset(string offset)
    {
        if (string.IsNullOrEmpty(offset)) return 0;
        var sign = 1;
        var o = offset;
        if (!char.IsAsciiDigit(o[0]))
        {
            sign = o[0] switch { '+' => 1, '-' => -1, _ => throw new GraphiteInputException($"Invalid offset: {offset}") };
            o = o[1..];
        }
        long total = 0;
        while (o.Length > 0)
        {
            var i = 0;
            while (i < o.Length && char.IsAsciiDigit(o[i])) i++;
            if (i == 0) throw new GraphiteInputException($"Invalid offset: {offset}");
            var num = long.Parse(o[..i], CultureInfo.InvariantCulture);
            o = o[i..];
            i = 0;
            while (i < o.Length && char.IsAsciiLetter(o[i])) i++;
            var unit = o[..i];
            o = o[i..];
            total += sign * num * UnitSeconds(unit);
        }
        return total;
    }

    public static long UnitSeconds(string unit)
    {
        if (unit.StartsWith('s')) return 1;
        if (unit.StartsWith("min", StringComparison.Ordinal)) return 60;
        if (unit.StartsWith('h')) return 3600;
        if (unit.StartsWith('d')) return 86400;
        if (unit.StartsWith('w')) return 7 * 86400;
        if (unit.StartsWith("mon", StringComparison.Ordinal)) return 30 * 86400;
        if (unit.StartsWith('y')) return 365 * 86400;
        throw new GraphiteInputException($"Invalid offset unit '{unit}'");
    }

    private static int Int(string s, string raw) =>
        int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : throw new GraphiteInputException($"Invalid time reference: {raw}");

    private static DateTime Date(int y, int m, int d, int h, int min, string raw)
    {
        try { return new DateTime(y, m, d, h, min, 0, DateTimeKind.Utc); }
        catch (ArgumentOutOfRangeException) { throw new GraphiteInputException($"Invalid date: {raw}"); }
    }
}
