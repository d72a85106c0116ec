using System.Numerics;
using System.Runtime.CompilerServices;

namespace Observe.Storage.Graphite;

/// <summary>
/// Python's <c>repr(float)</c> written straight into UTF-8: the shortest digits that round-trip (Ryu, Ulf Adams 2018,
/// as Python's dtoa mode 0 picks them: closest to the exact value, ties to even) laid out as Python does —
/// fixed notation for decimal exponents −4 … 15 with ".0" on integers, otherwise <c>d.ddde±XX</c>.
/// Why our own: graphite-web answers are mostly such numbers and .NET's "R" formatting (≈ 130 ns for a 17-digit
/// mean) was most of /render's time; this is ≈ 4× faster and needs no string.
/// </summary>
internal static class PyFloat
{
    private const int MantissaBits = 52;
    private const int Bias = 1023;
    private const int Pow5InvBitCount = 125;
    private const int Pow5BitCount = 125;

    // 128-bit tables of Ryu (floor(2^k / 5^q) + 1 and 5^i normalised to 125 bits), computed once from BigInteger.
    private static readonly ulong[] Pow5InvSplit = BuildInv(342);
    private static readonly ulong[] Pow5Split = BuildPow(326);

    /// <summary>Longest output: sign, 17 digits, "0." and 4 zeros or a dot and "e-324".</summary>
    public const int MaxLength = 32;

    private static ulong[] BuildInv(int n)
    {
        var t = new ulong[2 * n];
        for (int q = 0; q < n; q++)
        {
            var pow = BigInteger.Pow(5, q);
            int j = Pow5Bits(q) - 1 + Pow5InvBitCount;
            var inv = (BigInteger.One << j) / pow + 1;
            t[2 * q] = (ulong)(inv & ulong.MaxValue);
            t[2 * q + 1] = (ulong)(inv >> 64);
        }
        return t;
    }

    private static ulong[] BuildPow(int n)
    {
        var t = new ulong[2 * n];
        for (int i = 0; i < n; i++)
        {
            var pow = BigInteger.Pow(5, i);
            int shift = Pow5Bits(i) - Pow5BitCount;
            var v = shift >= 0 ? pow >> shift : pow << -shift;
            t[2 * i] = (ulong)(v & ulong.MaxValue);
            t[2 * i + 1] = (ulong)(v >> 64);
        }
        return t;
    }

    private static int Pow5Bits(int e) => (int)(((uint)e * 1217359) >> 19) + 1;
    private static int Log10Pow2(int e) => (int)(((uint)e * 78913) >> 18);
    private static int Log10Pow5(int e) => (int)(((uint)e * 732923) >> 20);

    private static int Pow5Factor(ulong value)
    {
        int count = 0;
        while (value % 5 == 0) { value /= 5; count++; }
        return count;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong MulShift64(ulong m, ulong mulLo, ulong mulHi, int j)
    {
        ulong high1 = Math.BigMul(m, mulHi, out ulong low1);
        ulong high0 = Math.BigMul(m, mulLo, out _);
        ulong sum = high0 + low1;
        if (sum < high0) high1++;
        int dist = j - 64;
        return (high1 << (64 - dist)) | (sum >> dist);
    }

    /// <summary>Shortest round-trip decimal of a finite, non-zero |v|: <c>mantissa × 10^exponent</c>.</summary>
    private static (ulong Mantissa, int Exponent) Shortest(ulong ieeeMantissa, int ieeeExponent)
    {
        int e2;
        ulong m2;
        if (ieeeExponent == 0) { e2 = 1 - Bias - MantissaBits - 2; m2 = ieeeMantissa; }
        else { e2 = ieeeExponent - Bias - MantissaBits - 2; m2 = (1UL << MantissaBits) | ieeeMantissa; }
        bool acceptBounds = (m2 & 1) == 0;
        ulong mv = 4 * m2;
        uint mmShift = ieeeMantissa != 0 || ieeeExponent <= 1 ? 1u : 0u;

        ulong vr, vp, vm;
        int e10;
        bool vmIsTrailingZeros = false, vrIsTrailingZeros = false;
        if (e2 >= 0)
        {
            int q = Log10Pow2(e2) - (e2 > 3 ? 1 : 0);
            e10 = q;
            int k = Pow5InvBitCount + Pow5Bits(q) - 1;
            int i = -e2 + q + k;
            ulong lo = Pow5InvSplit[2 * q], hi = Pow5InvSplit[2 * q + 1];
            vr = MulShift64(4 * m2, lo, hi, i);
            vp = MulShift64(4 * m2 + 2, lo, hi, i);
            vm = MulShift64(4 * m2 - 1 - mmShift, lo, hi, i);
            if (q <= 21)
            {
                if (mv % 5 == 0) vrIsTrailingZeros = Pow5Factor(mv) >= q;
                else if (acceptBounds) vmIsTrailingZeros = Pow5Factor(mv - 1 - mmShift) >= q;
                else vp -= Pow5Factor(mv + 2) >= q ? 1UL : 0UL;
            }
        }
        else
        {
            int q = Log10Pow5(-e2) - (-e2 > 1 ? 1 : 0);
            e10 = q + e2;
            int i = -e2 - q;
            int k = Pow5Bits(i) - Pow5BitCount;
            int j = q - k;
            ulong lo = Pow5Split[2 * i], hi = Pow5Split[2 * i + 1];
            vr = MulShift64(4 * m2, lo, hi, j);
            vp = MulShift64(4 * m2 + 2, lo, hi, j);
            vm = MulShift64(4 * m2 - 1 - mmShift, lo, hi, j);
            if (q <= 1)
            {
                vrIsTrailingZeros = true;
                if (acceptBounds) vmIsTrailingZeros = mmShift == 1;
                else vp--;
            }
            else if (q < 63)
            {
                vrIsTrailingZeros = (mv & ((1UL << q) - 1)) == 0;
            }
        }

        int removed = 0;
        ulong output;
        if (vmIsTrailingZeros || vrIsTrailingZeros)
        {
            // Rare general case (~0.7 %): track trailing zeros for exact ties.
            uint lastRemovedDigit = 0;
            while (true)
            {
                ulong vpDiv10 = vp / 10, vmDiv10 = vm / 10;
                if (vpDiv10 <= vmDiv10) break;
                ulong vrDiv10 = vr / 10;
                vmIsTrailingZeros &= vm - vmDiv10 * 10 == 0;
                vrIsTrailingZeros &= lastRemovedDigit == 0;
                lastRemovedDigit = (uint)(vr - vrDiv10 * 10);
                vr = vrDiv10; vp = vpDiv10; vm = vmDiv10;
                removed++;
            }
            if (vmIsTrailingZeros)
            {
                while (true)
                {
                    ulong vmDiv10 = vm / 10;
                    if (vm - vmDiv10 * 10 != 0) break;
                    ulong vrDiv10 = vr / 10;
                    vrIsTrailingZeros &= lastRemovedDigit == 0;
                    lastRemovedDigit = (uint)(vr - vrDiv10 * 10);
                    vr = vrDiv10; vp /= 10; vm = vmDiv10;
                    removed++;
                }
            }
            if (vrIsTrailingZeros && lastRemovedDigit == 5 && vr % 2 == 0) lastRemovedDigit = 4; // round half to even
            output = vr + ((vr == vm && (!acceptBounds || !vmIsTrailingZeros)) || lastRemovedDigit >= 5 ? 1UL : 0UL);
        }
        else
        {
            bool roundUp = false;
            ulong vpDiv100 = vp / 100, vmDiv100 = vm / 100;
            if (vpDiv100 > vmDiv100)
            {
                ulong vrDiv100 = vr / 100;
                roundUp = vr - vrDiv100 * 100 >= 50;
                vr = vrDiv100; vp = vpDiv100; vm = vmDiv100;
                removed += 2;
            }
            while (true)
            {
                ulong vpDiv10 = vp / 10, vmDiv10 = vm / 10;
                if (vpDiv10 <= vmDiv10) break;
                ulong vrDiv10 = vr / 10;
                roundUp = vr - vrDiv10 * 10 >= 5;
                vr = vrDiv10; vp = vpDiv10; vm = vmDiv10;
                removed++;
            }
            output = vr + (vr == vm || roundUp ? 1UL : 0UL);
        }
        return (output, e10 + removed);
    }

    /// <summary>
    /// Writes <c>repr(v)</c> as Python 3 prints it (<c>nan</c>, <c>inf</c>, <c>-0.0</c>, <c>1e+16</c>, <c>0.0001</c>,
    /// <c>1e-05</c>, <c>3.0</c>) and returns the number of bytes; <paramref name="dst"/> needs <see cref="MaxLength"/>.
    /// </summary>
    public static int WriteRepr(double v, Span<byte> dst)
    {
        ulong bits = BitConverter.DoubleToUInt64Bits(v);
        bool negative = (bits >> 63) != 0;
        ulong ieeeMantissa = bits & ((1UL << MantissaBits) - 1);
        int ieeeExponent = (int)((bits >> MantissaBits) & 0x7FF);
        if (ieeeExponent == 0x7FF)
        {
            if (ieeeMantissa != 0) { "nan"u8.CopyTo(dst); return 3; }
            if (negative) { "-inf"u8.CopyTo(dst); return 4; }
            "inf"u8.CopyTo(dst); return 3;
        }
        int p = 0;
        if (negative) dst[p++] = (byte)'-';
        if (ieeeExponent == 0 && ieeeMantissa == 0) { "0.0"u8.CopyTo(dst[p..]); return p + 3; }

        var (mantissa, exponent) = Shortest(ieeeMantissa, ieeeExponent);
        Span<byte> digits = stackalloc byte[24];
        int n = WriteDigits(mantissa, digits);
        int decpt = n + exponent; // the decimal point sits after this many digits
        int sciExp = decpt - 1;
        if (sciExp < -4 || sciExp >= 16)
        {
            dst[p++] = digits[0];
            if (n > 1)
            {
                dst[p++] = (byte)'.';
                digits[1..n].CopyTo(dst[p..]);
                p += n - 1;
            }
            dst[p++] = (byte)'e';
            dst[p++] = sciExp < 0 ? (byte)'-' : (byte)'+';
            int a = Math.Abs(sciExp);
            if (a >= 100) { dst[p++] = (byte)('0' + a / 100); a %= 100; dst[p++] = (byte)('0' + a / 10); dst[p++] = (byte)('0' + a % 10); }
            else { dst[p++] = (byte)('0' + a / 10); dst[p++] = (byte)('0' + a % 10); }
            return p;
        }
        if (decpt <= 0)
        {
            dst[p++] = (byte)'0'; dst[p++] = (byte)'.';
            for (int i = 0; i < -decpt; i++) dst[p++] = (byte)'0';
            digits[..n].CopyTo(dst[p..]);
            return p + n;
        }
        if (decpt >= n)
        {
            digits[..n].CopyTo(dst[p..]);
            p += n;
            for (int i = n; i < decpt; i++) dst[p++] = (byte)'0';
            dst[p++] = (byte)'.'; dst[p++] = (byte)'0';
            return p;
        }
        digits[..decpt].CopyTo(dst[p..]);
        p += decpt;
        dst[p++] = (byte)'.';
        digits[decpt..n].CopyTo(dst[p..]);
        return p + n - decpt;
    }

    // "00".."99": two digits per division.
    private static ReadOnlySpan<byte> DigitPairs => "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"u8;

    /// <summary>The decimal digits of <paramref name="v"/> (at most 17 of them) at the start of <paramref name="dst"/>.</summary>
    private static int WriteDigits(ulong v, Span<byte> dst)
    {
        int len = CountDigits(v);
        int at = len;
        var pairs = DigitPairs;
        // Peel 8 digits at a time in 32-bit arithmetic: ulong division is the slow part.
        while (v >= 100_000_000)
        {
            ulong q = v / 100_000_000;
            uint low = (uint)(v - q * 100_000_000);
            v = q;
            for (int k = 0; k < 4; k++)
            {
                uint q2 = low / 100;
                int r = (int)(low - q2 * 100) * 2;
                low = q2;
                dst[--at] = pairs[r + 1];
                dst[--at] = pairs[r];
            }
        }
        uint u = (uint)v;
        while (u >= 100)
        {
            uint q2 = u / 100;
            int r = (int)(u - q2 * 100) * 2;
            u = q2;
            dst[--at] = pairs[r + 1];
            dst[--at] = pairs[r];
        }
        if (u >= 10) { dst[--at] = pairs[(int)u * 2 + 1]; dst[--at] = pairs[(int)u * 2]; }
        else dst[--at] = (byte)('0' + u);
        return len;
    }

    private static int CountDigits(ulong v)
    {
        // v < 10^17 here (Ryu's shortest output of a double has at most 17 digits).
        int n = 1;
        if (v >= 100_000_000) { n += 8; v /= 100_000_000; }
        if (v >= 100_000_000) { n += 8; v /= 100_000_000; }
        uint u = (uint)v;
        if (u >= 10_000) { n += 4; u /= 10_000; }
        if (u >= 100) { n += 2; u /= 100; }
        if (u >= 10) n += 1;
        return n;
    }

    /// <summary><see cref="WriteRepr"/> as a string.</summary>
    public static string Repr(double v)
    {
        Span<byte> buf = stackalloc byte[MaxLength];
        int n = WriteRepr(v, buf);
        return System.Text.Encoding.ASCII.GetString(buf[..n]);
    }
}

/// <summary>
/// Strings and string dictionaries as Python's <c>json.dumps</c> writes them (graphite-web's /render): separators
/// <c>", "</c> and <c>": "</c>, non-ASCII as <c>\uXXXX</c> (ensure_ascii), and no escaping of <c>&lt; &gt; &amp; '</c>
/// (System.Text.Json escapes those by default, so its bytes differed from graphite-web's).
/// </summary>
internal static class PyJson
{
    public static string String(string s)
    {
        var sb = new System.Text.StringBuilder(s.Length + 2);
        Append(sb, s);
        return sb.ToString();
    }

    public static string Object(IReadOnlyDictionary<string, string> d)
    {
        var sb = new System.Text.StringBuilder(16 + d.Count * 32);
        AppendObject(sb, d);
        return sb.ToString();
    }

    /// <summary><see cref="Object"/> appended to <paramref name="sb"/> (a /render head without a string per series).</summary>
    internal static void AppendObject(System.Text.StringBuilder sb, IReadOnlyDictionary<string, string> d)
    {
        sb.Append('{');
        var first = true;
        foreach (var (k, v) in d)
        {
            if (!first) sb.Append(", ");
            first = false;
            Append(sb, k);
            sb.Append(": ");
            Append(sb, v);
        }
        sb.Append('}');
    }

    /// <summary>
    /// <c>json.dumps(value, indent=2 if pretty, sort_keys=pretty)</c> of dictionaries (in their order), lists, strings, numbers,
    /// booleans and None. Infinity is written <c>1e9999</c>, as graphite-web's encoder means to (it misses one at an object's end).
    /// </summary>
    public static void Write(System.Text.StringBuilder sb, object? value, bool pretty = false, int depth = 0)
    {
        void Newline(int d) { if (pretty) sb.Append('\n').Append(' ', 2 * d); }
        switch (value)
        {
            case null: sb.Append("null"); break;
            case string s: Append(sb, s); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long or int: sb.Append(System.Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)); break;
            case double d: sb.Append(double.IsPositiveInfinity(d) ? "1e9999" : double.IsNegativeInfinity(d) ? "-1e9999" : double.IsNaN(d) ? "NaN" : PyFloat.Repr(d)); break;
            case IEnumerable<KeyValuePair<string, object?>> dict:
                var entries = pretty ? dict.OrderBy(e => e.Key, StringComparer.Ordinal).ToList() : dict.ToList();
                if (entries.Count == 0) { sb.Append("{}"); break; }
                sb.Append('{');
                for (var i = 0; i < entries.Count; i++)
                {
                    if (i > 0) sb.Append(pretty ? "," : ", ");
                    Newline(depth + 1);
                    Append(sb, entries[i].Key);
                    sb.Append(": ");
                    Write(sb, entries[i].Value, pretty, depth + 1);
                }
                Newline(depth);
                sb.Append('}');
                break;
            case System.Collections.IEnumerable list:
                var first = true;
                sb.Append('[');
                foreach (var item in list)
                {
                    if (!first) sb.Append(pretty ? "," : ", ");
                    first = false;
                    Newline(depth + 1);
                    Write(sb, item, pretty, depth + 1);
                }
                if (!first) Newline(depth);
                sb.Append(']');
                break;
            default: throw new ArgumentException($"no JSON form for {value.GetType().Name}", nameof(value));
        }
    }

    internal static void Append(System.Text.StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e) sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
