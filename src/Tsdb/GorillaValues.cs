namespace Observe.Storage.Tsdb;

/// <summary>Chunk codec, value streams (XOR, rational, square root): split from Gorilla.cs along its seam.</summary>
internal static partial class Gorilla
{
    // ---- values ----

    /// <summary>XOR of a value with the previous one (x != 0): '0' reuse window, '1' lead(5) len(6) new window.</summary>
    private static void WriteXor(ref BitWriter w, ulong x, ref int prevLead, ref int prevTrail)
    {
        int lead = Math.Min(System.Numerics.BitOperations.LeadingZeroCount(x), 31);
        int trail = System.Numerics.BitOperations.TrailingZeroCount(x);
        if (prevLead >= 0 && lead >= prevLead && trail >= prevTrail)
        {
            w.WriteBit(false);
            w.Write(x >> prevTrail, 64 - prevLead - prevTrail);
        }
        else
        {
            int len = 64 - lead - trail;
            w.WriteBit(true);
            w.Write((ulong)lead, 5);
            w.Write((ulong)(len & 63), 6); // 64 encoded as 0
            w.Write(x >> trail, len);
            prevLead = lead; prevTrail = trail;
        }
    }

    /// <summary>Encoding 0: first value raw, then '0' (same bits) or '1' + XOR with the previous value.</summary>
    private static void WriteXorValues(ref BitWriter w, ReadOnlySpan<double> values)
    {
        if (values.Length == 0) return;
        ulong prevBits = (ulong)BitConverter.DoubleToInt64Bits(values[0]);
        w.Write(prevBits, 64);
        int prevLead = -1, prevTrail = 0;
        for (int i = 1; i < values.Length; i++)
        {
            ulong bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            ulong x = bits ^ prevBits;
            prevBits = bits;
            if (x == 0) { w.WriteBit(false); continue; }
            w.WriteBit(true);
            WriteXor(ref w, x, ref prevLead, ref prevTrail);
        }
    }

    private const byte KindSame = 0, KindSameQ = 1, KindNewQ = 2, KindXor = 3;

    /// <summary>Per value: its kind, divisor index and S (for the rational encodings), and the sizes of both S streams.</summary>
    private sealed class RationalAnalysis
    {
        public required byte[] Kind;
        public required long[] NewQ;
        public required long[] S;
        public required long[] SDelta;
        public required int[] KindCounts;
        public int Rational;
        public long RawCost, DeltaCost;

        public static RationalAnalysis Of(ReadOnlySpan<double> values)
        {
            int n = values.Length;
            var kind = new byte[n];
            var counts = new int[4];
            var newQ = new List<long>();
            var s = new List<long>(n);
            ulong prevBits = 0;
            int prevQ = 0;
            for (int i = 0; i < n; i++)
            {
                ulong bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
                byte k;
                if (bits == prevBits) k = KindSame;
                else
                {
                    // Prefer the current divisor (rates stay /10 even when a value is also /2).
                    int q = -1;
                    long sv;
                    if (TryRational(values[i], Divisors[prevQ], out sv)) q = prevQ;
                    else
                        for (int j = 0; j < Divisors.Length; j++)
                            if (j != prevQ && TryRational(values[i], Divisors[j], out sv)) { q = j; break; }
                    if (q < 0) k = KindXor;
                    else
                    {
                        k = q == prevQ ? KindSameQ : KindNewQ;
                        if (k == KindNewQ) { newQ.Add(q); prevQ = q; }
                        s.Add(sv);
                    }
                    prevBits = bits;
                }
                kind[i] = k;
                counts[k]++;
            }
            var sArr = s.ToArray();
            var dArr = new long[sArr.Length];
            for (int i = 0; i < sArr.Length; i++) dArr[i] = sArr[i] - (i > 0 ? sArr[i - 1] : 0);
            return new RationalAnalysis
            {
                Kind = kind, NewQ = [.. newQ], S = sArr, SDelta = dArr, KindCounts = counts, Rational = sArr.Length,
                RawCost = PlanFor(sArr).CostBits, DeltaCost = PlanFor(dArr).CostBits,
            };
        }
    }

    /// <summary>
    /// Kind table (used kinds − 1 in 2 bits, then each used kind in 2 bits, most frequent first), one prefix code per
    /// point ('' for one kind; '0'/'1' for two; '0','10','11' for three; '0','10','110','111' for four), the packed
    /// new-q indexes, the packed S stream, then the XOR stream.
    /// </summary>
    private static void WriteRationalValues(ref BitWriter w, ReadOnlySpan<double> values, RationalAnalysis a, bool delta)
    {
        if (values.Length == 0) return;
        WriteKinds(ref w, a.Kind, a.KindCounts);
        WritePacked(ref w, a.NewQ);
        WritePacked(ref w, delta ? a.SDelta : a.S);
        WriteXorStream(ref w, values, a.Kind, KindSame, KindXor);
    }

    /// <summary>
    /// The XOR stream shared by the per-value encodings: values of kind <paramref name="xor"/> XORed against the last
    /// value not of kind <paramref name="same"/> (other kinds are carried by their own streams but still move the base).
    /// </summary>
    private static void WriteXorStream(ref BitWriter w, ReadOnlySpan<double> values, byte[] kinds, byte same, byte xor)
    {
        ulong prevBits = 0;
        int prevLead = -1, prevTrail = 0;
        for (int i = 0; i < values.Length; i++)
        {
            if (kinds[i] == same) continue;
            ulong bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            if (kinds[i] == xor) WriteXor(ref w, bits ^ prevBits, ref prevLead, ref prevTrail);
            prevBits = bits;
        }
    }

    private static void WriteRank(ref BitWriter w, int rank, int used)
    {
        if (used == 1) return;
        if (used == 2) { w.WriteBit(rank == 1); return; }
        if (rank == 0) w.WriteBit(false);
        else if (used == 3) w.Write(rank == 1 ? 0b10UL : 0b11UL, 2);
        else if (rank == 1) w.Write(0b10, 2);
        else w.Write(rank == 2 ? 0b110UL : 0b111UL, 3);
    }

    private const byte SqKindSame = 0, SqKindRoot = 1, SqKindXor = 2;

    /// <summary>
    /// Encoding 3, for statsd's timer <c>std = sqrt(Σ(x − mean)² / n)</c>: mathematically <c>sqrt(N / c²)</c> with
    /// integers N = c·Σx² − (Σx)² and c = n, but computed in floating point, so a few ulps off. A value is stored as c,
    /// N and the difference in ulps from <c>Math.Sqrt((double)N / (c·c))</c> (IEEE-exact on every platform), so it
    /// is lossless.
    /// </summary>
    private sealed class SqrtAnalysis
    {
        public required byte[] Kind;
        public required long[] C, N, Ulps;
        public required int[] KindCounts;

        public static SqrtAnalysis? Of(ReadOnlySpan<double> values, bool always)
        {
            int n = values.Length, roots = 0;
            var kind = new byte[n];
            var counts = new int[3];
            var c = new List<long>(); var nn = new List<long>(); var ulps = new List<long>();
            ulong prevBits = 0;
            int prevC = 1;
            for (int i = 0; i < n; i++)
            {
                ulong bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
                byte k = SqKindXor;
                if (bits == prevBits) k = SqKindSame;
                else if (values[i] >= 0 && TryRoot(values[i], prevC, out long N, out long u) is var cc && cc > 0)
                {
                    k = SqKindRoot; c.Add(cc); nn.Add(N); ulps.Add(u); prevC = cc; roots++;
                }
                if (k != SqKindSame) prevBits = bits;
                kind[i] = k; counts[k]++;
            }
            if (roots < n / 4 && !always) return null;
            return new SqrtAnalysis { Kind = kind, C = [.. c], N = [.. nn], Ulps = [.. ulps], KindCounts = counts };
        }

        /// <summary>The smallest c in 1..64 (the previous one first) with v = sqrt(N/c²) ± 64 ulps; 0 if none.</summary>
        private static int TryRoot(double v, int hint, out long N, out long ulps)
        {
            if (TryC(v, hint, out N, out ulps)) return hint;
            for (int c = 1; c <= 64; c++) if (c != hint && TryC(v, c, out N, out ulps)) return c;
            return 0;
        }

        private static bool TryC(double v, int c, out long N, out long ulps)
        {
            N = 0; ulps = 0;
            double q = (double)c * c, x = v * v * q;
            if (!(x < MaxExact)) return false;
            double r = Math.Round(x);
            if (Math.Abs(x - r) > 1e-6 + x * 1e-12) return false; // not an integer over c²: skip the square root
            N = (long)r;
            ulps = BitConverter.DoubleToInt64Bits(v) - BitConverter.DoubleToInt64Bits(Math.Sqrt(N / q));
            return ulps is >= -64 and <= 64;
        }
    }

    /// <summary>Kind table and per-point codes as in <see cref="WriteRationalValues"/>, then packed c, N, ulps, then the XOR stream.</summary>
    private static void WriteSqrtValues(ref BitWriter w, ReadOnlySpan<double> values, SqrtAnalysis a)
    {
        WriteKinds(ref w, a.Kind, a.KindCounts);
        WritePacked(ref w, a.C);
        WritePacked(ref w, a.N);
        WritePacked(ref w, a.Ulps);
        WriteXorStream(ref w, values, a.Kind, SqKindSame, SqKindXor);
    }

    /// <summary>Used kinds − 1 (2 bits), each used kind (2 bits, most frequent first), then one prefix code per point.</summary>
    private static void WriteKinds(ref BitWriter w, byte[] kinds, int[] kindCounts)
    {
        Span<int> ranked = stackalloc int[4];
        int used = 0;
        for (int k = 0; k < kindCounts.Length; k++) if (kindCounts[k] > 0) ranked[used++] = k;
        for (int i = 1; i < used; i++)
            for (int j = i; j > 0 && kindCounts[ranked[j]] > kindCounts[ranked[j - 1]]; j--) (ranked[j], ranked[j - 1]) = (ranked[j - 1], ranked[j]);
        Span<int> rank = stackalloc int[4];
        w.Write((ulong)(used - 1), 2);
        for (int i = 0; i < used; i++) { w.Write((ulong)ranked[i], 2); rank[ranked[i]] = i; }
        foreach (var k in kinds) WriteRank(ref w, rank[k], used);
    }
}
