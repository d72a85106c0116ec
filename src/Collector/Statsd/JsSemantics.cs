using System.Globalization;
using System.Runtime.CompilerServices;

namespace Observe.Collector.Statsd;

/// <summary>
/// The bits of JavaScript semantics Etsy statsd relies on: <c>Number(str)</c>, <c>isNaN</c>,
/// <c>String.prototype.trim</c>, the regex class <c>\s</c>, and number-to-string.
/// </summary>
internal static class JsSemantics
{
    /// <summary>JS WhiteSpace + LineTerminator (what <c>\s</c>, <c>trim()</c> and <c>Number()</c> skip).</summary>
    public static bool IsJsWhiteSpace(char c) => c switch
    {
        '\t' or '\n' or '\v' or '\f' or '\r' or ' ' or '\u00a0' or '\u1680' or '\u2028' or '\u2029'
            or '\u202f' or '\u205f' or '\u3000' or '\ufeff' => true,
        >= '\u2000' and <= '\u200a' => true,
        _ => false,
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ReadOnlySpan<char> Trim(ReadOnlySpan<char> s)
    {
        var start = 0;
        var end = s.Length;
        while (start < end && IsJsWhiteSpace(s[start])) start++;
        while (end > start && IsJsWhiteSpace(s[end - 1])) end--;
        return s[start..end];
    }

    /// <summary>helpers.isNumber: <c>Boolean(str &amp;&amp; !isNaN(str))</c>.</summary>
    public static bool IsNumber(ReadOnlySpan<char> s) => s.Length > 0 && !double.IsNaN(ToNumber(s));

    /// <summary>JavaScript <c>Number(str)</c> (StringToNumber); NaN when not a numeric literal.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double ToNumber(ReadOnlySpan<char> s)
    {
        s = Trim(s);
        if (s.Length == 0) return 0;
        if (s.Length > 2 && s[0] == '0')
        {
            var radix = s[1] switch { 'x' or 'X' => 16, 'o' or 'O' => 8, 'b' or 'B' => 2, _ => 0 };
            if (radix != 0) return ParseRadix(s[2..], radix);
        }
        var i = 0;
        if (s[0] is '+' or '-') i = 1;
        var rest = s[i..];
        if (rest.SequenceEqual("Infinity")) return s[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
        // StrUnsignedDecimalLiteral: digits [. digits?] | . digits, then optional exponent.
        var intDigits = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i])) { i++; intDigits++; }
        var fracDigits = 0;
        if (i < s.Length && s[i] == '.')
        {
            i++;
            while (i < s.Length && char.IsAsciiDigit(s[i])) { i++; fracDigits++; }
        }
        if (intDigits + fracDigits == 0) return double.NaN;
        if (i < s.Length && s[i] is 'e' or 'E')
        {
            i++;
            if (i < s.Length && s[i] is '+' or '-') i++;
            var expDigits = 0;
            while (i < s.Length && char.IsAsciiDigit(s[i])) { i++; expDigits++; }
            if (expDigits == 0) return double.NaN;
        }
        if (i != s.Length) return double.NaN;
        // The grammar is checked; .NET's parser is correctly rounded, like V8's.
        return double.Parse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
            CultureInfo.InvariantCulture);
    }

    private static double ParseRadix(ReadOnlySpan<char> digits, int radix)
    {
        double value = 0;
        foreach (var c in digits)
        {
            var d = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                >= 'A' and <= 'F' => c - 'A' + 10,
                _ => 99,
            };
            if (d >= radix) return double.NaN;
            value = value * radix + d;
        }
        return value;
    }

    /// <summary>JavaScript's <c>'' + number</c> for finite numbers (shortest round-trip form).</summary>
    public static string ToJsString(double d)
    {
        if (double.IsNaN(d)) return "NaN";
        if (double.IsPositiveInfinity(d)) return "Infinity";
        if (double.IsNegativeInfinity(d)) return "-Infinity";
        if (d == 0) return "0";
        // Use the shortest round-trip digits.
        var shortest = d.ToString("R", CultureInfo.InvariantCulture);
        var neg = shortest.StartsWith('-');
        if (neg) shortest = shortest[1..];
        string mantissa;
        int exp;
        var ePos = shortest.IndexOf('E');
        if (ePos >= 0)
        {
            mantissa = shortest[..ePos];
            exp = int.Parse(shortest[(ePos + 1)..], CultureInfo.InvariantCulture);
        }
        else { mantissa = shortest; exp = 0; }
        // digits and decimal point position (number = 0.digits * 10^pointPos)
        var dot = mantissa.IndexOf('.');
        var intPart = dot >= 0 ? mantissa[..dot] : mantissa;
        var fracPart = dot >= 0 ? mantissa[(dot + 1)..] : "";
        var digits = (intPart + fracPart).TrimStart('0');
        var leadingZeros = (intPart + fracPart).Length - digits.Length;
        var pointPos = intPart.Length + exp - leadingZeros;
        digits = digits.TrimEnd('0');
        string body;
        if (pointPos is >= -5 and <= 21)
        {
            if (pointPos <= 0) body = "0." + new string('0', -pointPos) + digits;
            else if (pointPos >= digits.Length) body = digits + new string('0', pointPos - digits.Length);
            else body = digits[..pointPos] + "." + digits[pointPos..];
        }
        else
        {
            var e = pointPos - 1;
            body = digits[..1] + (digits.Length > 1 ? "." + digits[1..] : "") + "e" + (e >= 0 ? "+" : "-") + Math.Abs(e);
        }
        return neg ? "-" + body : body;
    }

    /// <summary>JavaScript Math.round.</summary>
    public static double Round(double x) => Math.Floor(x + 0.5);
}
