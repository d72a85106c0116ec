using System.Runtime.InteropServices;
using static Observe.Common.BinaryCodec;

namespace Observe.Storage.Tsdb;

/// <summary>
/// Chunk codec, value encodings 4/5 "decimal" (issue 21): every value of the chunk is <c>m · 10^e</c> for an integer
/// mantissa <c>|m| &lt; 2^53</c> and one exponent <c>e</c> (−22..22) for the whole chunk, reproducing the value's bits
/// (<c>m / 10^−e</c> or <c>m · 10^e</c>, IEEE-exact, so decoding is exact everywhere). Stored as the exponent and one
/// packed stream of the mantissas (4: raw, 5: deltas, 6: zigzag deltas — whichever is smallest), with no per-point kind
/// codes: counts, rates and integer timer statistics cost only their mantissa bits, and decoding is one packed read and a
/// multiply or divide per point. A chunk holding any other value (a mean, NaN, −0, infinities, subnormals) uses the
/// other encodings.
/// </summary>
internal static partial class Gorilla
{
    /// <summary>Header flag (byte 3, bit 3): decimal values; bits 0–1 then say raw (0), delta (1) or zigzag-delta (2) mantissas.</summary>
    private const byte DecimalFlag = 8;
    public const byte EncDecimalRaw = 4, EncDecimalDelta = 5, EncDecimalZigzag = 6;
    private const int MaxExponent = 22; // 10^22 is the largest exact power of ten in a double

    private static readonly double[] Pow10 = BuildPow10();
    private static double[] BuildPow10()
    {
        var p = new double[MaxExponent + 1];
        p[0] = 1;
        for (int i = 1; i <= MaxExponent; i++) p[i] = p[i - 1] * 10; // exact up to 10^22
        return p;
    }

    /// <summary>The chunk's exponent and mantissas (raw, deltas, zigzag deltas) and which is smallest; null when a value is not decimal.</summary>
    private sealed class DecimalAnalysis
    {
        public required int Exponent;
        public required long[] M, D, Z;
        public long RawCost, DeltaCost, ZigzagCost;

        /// <summary>The smallest of the three streams (0 raw, 1 delta, 2 zigzag delta); ties go to the cheaper decode.</summary>
        public int Smallest => RawCost <= DeltaCost && RawCost <= ZigzagCost ? 0 : DeltaCost <= ZigzagCost ? 1 : 2;
        public long[] Stream(int mode) => mode switch { 0 => M, 1 => D, _ => Z };

        public static DecimalAnalysis? Of(ReadOnlySpan<double> values)
        {
            if (values.Length == 0) return null;
            // The chunk's exponent is the smallest of its values' own (shortest) exponents.
            int e = MaxExponent;
            foreach (var v in values)
            {
                if (!TryExponent(v, out int ev)) return null;
                if (ev < e) e = ev;
            }
            var m = new long[values.Length];
            var d = new long[values.Length];
            var z = new long[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                if (!TryMantissa(values[i], e, out m[i])) return null;
                d[i] = m[i] - (i > 0 ? m[i - 1] : 0);
                z[i] = (long)ZigZag(d[i]); // |d| < 2^54: no overflow
            }
            return new DecimalAnalysis
            {
                Exponent = e, M = m, D = d, Z = z,
                RawCost = PlanFor(m).CostBits, DeltaCost = PlanFor(d).CostBits, ZigzagCost = PlanFor(z).CostBits,
            };
        }

        /// <summary>The largest e with v = m·10^e exactly (shortest mantissa); false when there is none (+0 has every e).</summary>
        private static bool TryExponent(double v, out int e)
        {
            e = MaxExponent;
            long bits = BitConverter.DoubleToInt64Bits(v);
            if (bits == 0) return true;
            if (!double.IsFinite(v) || Math.Abs(v) >= MaxExact) return false; // also −0 below: it is no mantissa's value
            if (v == Math.Floor(v))
            {
                if (v == 0) return false; // −0
                long m = (long)v;
                e = 0;
                while (e < MaxExponent && m % 10 == 0) { m /= 10; e++; }
                return true;
            }
            for (int k = 1; k <= MaxExponent; k++)
            {
                double x = v * Pow10[k];
                if (!(Math.Abs(x) < MaxExact)) return false;
                double r = Math.Round(x);
                // A value m/10^k times 10^k lands within an ulp or so of m: skip the division for everything else.
                if (Math.Abs(x - r) > Math.Abs(x) * 1e-12) continue;
                if (BitConverter.DoubleToInt64Bits(r / Pow10[k]) == bits) { e = -k; return true; }
            }
            return false;
        }

        /// <summary>v as a mantissa with exponent e, checked to reproduce v's bits as the decoder computes it.</summary>
        private static bool TryMantissa(double v, int e, out long m)
        {
            double x = e < 0 ? Math.Round(v * Pow10[-e]) : Math.Round(v / Pow10[e]);
            m = 0;
            if (!(Math.Abs(x) < MaxExact)) return false;
            m = (long)x;
            return BitConverter.DoubleToInt64Bits(Scale(m, e)) == BitConverter.DoubleToInt64Bits(v);
        }
    }

    private static double Scale(long m, int e) => e < 0 ? m / Pow10[-e] : m * Pow10[e];

    /// <summary>Exponent (7-bit length + zigzag), then the packed mantissas (raw, deltas or zigzag deltas).</summary>
    private static void WriteDecimalValues(ref BitWriter w, DecimalAnalysis a, int mode)
    {
        WriteLong(ref w, a.Exponent);
        WritePacked(ref w, a.Stream(mode));
    }

    /// <summary>
    /// Decodes the decimal value streams into <paramref name="c"/>'s values: the packed mantissas land in the values' own
    /// storage, then one pass sums the deltas (modes 1, 2) and scales each by 10^e, as <see cref="Scale"/> does.
    /// </summary>
    private static void DecodeDecimalValues(ref FastBitReader r, int mode, ChunkScratch c)
    {
        long e = ReadLong(ref r);
        if (e < -MaxExponent || e > MaxExponent) throw new InvalidDataException("corrupt chunk");
        var vals = c.Values.AsSpan(0, c.Count);
        var m = MemoryMarshal.Cast<double, long>(vals);
        ReadPacked(ref r, m);
        double p = Pow10[Math.Abs(e)];
        if (mode == 0)
        {
            if (e < 0) for (int i = 0; i < m.Length; i++) vals[i] = m[i] / p;
            else for (int i = 0; i < m.Length; i++) vals[i] = m[i] * p;
            return;
        }
        long acc = 0;
        bool zigzag = mode == 2;
        for (int i = 0; i < m.Length; i++)
        {
            acc = unchecked(acc + (zigzag ? UnZigZag((ulong)m[i]) : m[i]));
            vals[i] = e < 0 ? acc / p : acc * p;
        }
    }
}
