using static Observe.Common.BinaryCodec;

namespace Observe.Storage.Tsdb;

/// <summary>
/// Where <see cref="Gorilla.DecodeInto"/> decodes a chunk: buffers reused from chunk to chunk (one set per fetching
/// thread), so decoding allocates nothing once they have grown to the largest chunk.
/// </summary>
internal sealed class ChunkScratch
{
    /// <summary>Points decoded.</summary>
    public int Count;
    /// <summary>The first timestamp. With <see cref="Step"/> &gt; 0 point i is at <c>Ts0 + i·Step</c> and <see cref="Ts"/> is not filled.</summary>
    public long Ts0, Step;
    public long[] Ts = [];
    public double[] Values = [];
    internal byte[] Blob = [], Kinds = [];
    internal long[] A = [], B = [], C = [];
    /// <summary>Grow buffers to exactly what a chunk needs (<see cref="Gorilla.Decode"/>'s one-chunk scratch), not to a reusable size.</summary>
    internal bool Exact;

    /// <summary>Buffers kept past a fetch only up to this many points (a rare huge chunk is not pinned in a pooled buffer).</summary>
    private const int KeepPoints = 1 << 16;

    public long TsAt(int i) => Step > 0 ? unchecked(Ts0 + i * Step) : Ts[i];

    /// <summary>A copy of what was decoded, sized to it (for the decoded-chunk cache).</summary>
    public DecodedChunk ToChunk() => new(Ts0, Step, Step > 0 ? null : Ts.AsSpan(0, Count).ToArray(), Values.AsSpan(0, Count).ToArray());

    internal void Ensure(int count, int blobLength)
    {
        if (Blob.Length < blobLength + 8) Blob = new byte[Math.Max(blobLength + 8, 4096)];
        if (Ts.Length >= count) return;
        int n = Math.Max(count, 1024);
        Ts = new long[n]; Values = new double[n];
    }

    /// <summary>The per-point kinds (rational and square-root encodings), grown to <paramref name="count"/>.</summary>
    internal void EnsureKinds(int count)
    {
        if (Kinds.Length < count) Kinds = new byte[Size(count)];
    }

    /// <summary>The integer streams' buffers (rational: new q, S; square root: c, N, ulps), each grown to its stream.</summary>
    internal void EnsureInts(int a, int b, int c)
    {
        if (A.Length < a) A = new long[Size(a)];
        if (B.Length < b) B = new long[Size(b)];
        if (C.Length < c) C = new long[Size(c)];
    }

    private int Size(int count) => Exact ? count : Math.Max(count, 1024);

    public void TrimExcess()
    {
        if (Ts.Length > KeepPoints) (Ts, Values, Kinds, A, B, C) = ([], [], [], [], [], []);
        if (Blob.Length > KeepPoints * 8) Blob = [];
    }
}

/// <summary>
/// The chunk decoder, every encoding (round trip of each, bit for bit: FsCheck, <c>GorillaDecodeTests</c>): the streams
/// are read by <see cref="FastBitReader"/> (one load per field), into <see cref="ChunkScratch"/>'s reused arrays, so the
/// fetch path allocates nothing, and timestamps that are all one step apart (a stepped stream whose packed deltas all
/// have width 0 — every regular series) are not decoded per point at all. <see cref="Decode"/> is the same decoder into
/// fresh arrays: there is one reader of each stream.
/// </summary>
internal static partial class Gorilla
{
    /// <summary>Decodes a blob into arrays of its own (import, rollups, tools). Throws <see cref="InvalidDataException"/> when corrupt.</summary>
    public static (long[] Ts, double[] Values) Decode(ReadOnlySpan<byte> blob)
    {
        if (!TryValidate(blob, out int count)) throw new InvalidDataException("corrupt chunk");
        // Buffers of exactly this chunk's size: the arrays decoded into are the ones returned.
        var c = new ChunkScratch { Exact = true, Ts = new long[count], Values = new double[count], Blob = new byte[blob.Length + 8] };
        DecodeValidated(blob, count, c);
        if (c.Step > 0) for (int i = 0; i < count; i++) c.Ts[i] = c.TsAt(i);
        return (c.Ts, c.Values);
    }

    /// <summary>Decodes a blob into <paramref name="c"/>. Throws <see cref="InvalidDataException"/> when corrupt.</summary>
    public static void DecodeInto(ReadOnlySpan<byte> blob, ChunkScratch c)
    {
        if (!TryValidate(blob, out int count)) throw new InvalidDataException("corrupt chunk");
        DecodeValidated(blob, count, c);
    }

    private static void DecodeValidated(ReadOnlySpan<byte> blob, int count, ChunkScratch c)
    {
        c.Ensure(count, blob.Length);
        blob.CopyTo(c.Blob);
        c.Blob.AsSpan(blob.Length, 8).Clear();
        var r = new FastBitReader(c.Blob, blob.Length, HeaderSize);
        ReadLong(ref r); // count
        (c.Count, c.Ts0, c.Step) = (count, 0, 0);
        if (count == 0) return;
        var ts = c.Ts;
        ts[0] = c.Ts0 = ReadLong(ref r);
        if ((blob[3] & TsStepped) != 0)
        {
            long g = ReadLong(ref r);
            if (count > 1)
            {
                var (bas, buckets, w1, w2, w3) = ReadPackedHead(ref r);
                long step = unchecked((bas + 1) * g);
                if (buckets == 1 && w1 == 0 && step > 0) c.Step = step; // every delta the same: nothing per point
                else
                {
                    ReadPackedBody(ref r, ts.AsSpan(1, count - 1), bas, buckets, w1, w2, w3);
                    for (int i = 1; i < count; i++) ts[i] = unchecked(ts[i - 1] + (ts[i] + 1) * g);
                }
            }
        }
        else
        {
            long prevDelta = 0;
            for (int i = 1; i < count; i++)
            {
                prevDelta = unchecked(prevDelta + ReadDod(ref r));
                ts[i] = unchecked(ts[i - 1] + prevDelta);
            }
        }
        if ((blob[3] & DecimalFlag) != 0) DecodeDecimalValues(ref r, blob[3] & 3, c);
        else DecodeValues(ref r, blob[3] & 3, c);
    }

    private static void DecodeValues(ref FastBitReader r, int enc, ChunkScratch c)
    {
        int count = c.Count, lead = -1, trail = 0;
        var vals = c.Values.AsSpan(0, count);
        if (enc == EncXor)
        {
            ulong prevBits = r.ReadLong(64);
            vals[0] = BitConverter.Int64BitsToDouble((long)prevBits);
            for (int i = 1; i < vals.Length; i++)
            {
                if (r.ReadBit()) prevBits ^= ReadXor(ref r, ref lead, ref trail);
                vals[i] = BitConverter.Int64BitsToDouble((long)prevBits);
            }
            return;
        }
        c.EnsureKinds(count);
        var kinds = c.Kinds.AsSpan(0, count);
        Span<int> perKind = stackalloc int[4];
        perKind.Clear();
        ReadKinds(ref r, kinds, perKind);
        if (enc == EncSqrt) c.EnsureInts(perKind[SqKindRoot], perKind[SqKindRoot], perKind[SqKindRoot]);
        else c.EnsureInts(perKind[KindNewQ], perKind[KindNewQ] + perKind[KindSameQ], 0);
        if (enc == EncSqrt) { DecodeSqrt(ref r, kinds, perKind[SqKindRoot], c); return; }
        var qs = c.A.AsSpan(0, perKind[KindNewQ]);
        var ss = c.B.AsSpan(0, perKind[KindNewQ] + perKind[KindSameQ]);
        ReadPacked(ref r, qs);
        ReadPacked(ref r, ss);
        bool delta = enc == EncRationalDelta;
        var divisors = Divisors;
        ulong bits = 0;
        long prevS = 0;
        int q = 0, qi = 0, si = 0;
        for (int i = 0; i < kinds.Length; i++)
        {
            byte k = kinds[i];
            if (k == KindXor) bits ^= ReadXor(ref r, ref lead, ref trail);
            else if (k != KindSame)
            {
                if (k == KindNewQ)
                {
                    long nq = qs[qi++];
                    if ((ulong)nq >= (ulong)divisors.Length) throw new InvalidDataException("corrupt chunk");
                    q = (int)nq;
                }
                long s = delta ? unchecked(prevS + ss[si]) : ss[si];
                si++;
                prevS = s;
                bits = (ulong)BitConverter.DoubleToInt64Bits(s / divisors[q]);
            }
            vals[i] = BitConverter.Int64BitsToDouble((long)bits);
        }
    }

    private static void DecodeSqrt(ref FastBitReader r, ReadOnlySpan<byte> kinds, int roots, ChunkScratch ch)
    {
        var c = ch.A.AsSpan(0, roots); var nn = ch.B.AsSpan(0, roots); var ulps = ch.C.AsSpan(0, roots);
        ReadPacked(ref r, c); ReadPacked(ref r, nn); ReadPacked(ref r, ulps);
        var vals = ch.Values;
        ulong bits = 0;
        int lead = -1, trail = 0, ri = 0;
        for (int i = 0; i < kinds.Length; i++)
        {
            if (kinds[i] == SqKindXor) bits ^= ReadXor(ref r, ref lead, ref trail);
            else if (kinds[i] == SqKindRoot)
            {
                if ((ulong)(c[ri] - 1) >= 64 || (ulong)nn[ri] >= (ulong)MaxExact) throw new InvalidDataException("corrupt chunk");
                double q = (double)c[ri] * c[ri];
                bits = unchecked((ulong)(BitConverter.DoubleToInt64Bits(Math.Sqrt(nn[ri] / q)) + ulps[ri]));
                ri++;
            }
            else if (kinds[i] != SqKindSame) throw new InvalidDataException("corrupt chunk");
            vals[i] = BitConverter.Int64BitsToDouble((long)bits);
        }
    }

    /// <summary>The kind table and one prefix code per point (<see cref="WriteKinds"/>), counting the points of each kind.</summary>
    private static void ReadKinds(ref FastBitReader r, scoped Span<byte> kinds, scoped Span<int> perKind)
    {
        int used = (int)r.Read(2) + 1;
        Span<byte> kindOf = stackalloc byte[4];
        for (int i = 0; i < used; i++) kindOf[i] = (byte)r.Read(2);
        if (used == 1) kinds.Fill(kindOf[0]);
        else if (used == 2)
        {
            // One bit a point: 56 points per load.
            int i = 0;
            for (; i + 56 <= kinds.Length; i += 56)
            {
                ulong w = r.Read(56);
                for (int b = 0; b < 56; b++) kinds[i + b] = kindOf[(int)(w >> (55 - b)) & 1];
            }
            for (; i < kinds.Length; i++) kinds[i] = kindOf[(int)r.Read(1)];
        }
        else
            for (int i = 0; i < kinds.Length; i++)
                kinds[i] = kindOf[!r.ReadBit() ? 0 : !r.ReadBit() ? 1 : used == 3 ? 2 : r.ReadBit() ? 3 : 2];
        if (used == 1) perKind[kindOf[0]] = kinds.Length;
        else foreach (var k in kinds) perKind[k]++;
    }

    private static long ReadLong(ref FastBitReader r)
    {
        int len = (int)r.Read(7);
        if (len > 64) throw new InvalidDataException("corrupt chunk");
        return UnZigZag(r.ReadLong(len));
    }

    private static long ReadDod(ref FastBitReader r)
    {
        if (!r.ReadBit()) return 0;
        if (!r.ReadBit()) return SignExtend(r.Read(7), 7);
        if (!r.ReadBit()) return SignExtend(r.Read(9), 9);
        if (!r.ReadBit()) return SignExtend(r.Read(12), 12);
        return (long)r.ReadLong(64);
    }

    private static ulong ReadXor(ref FastBitReader r, ref int lead, ref int trail)
    {
        if (r.ReadBit())
        {
            lead = (int)r.Read(5);
            int len = (int)r.Read(6);
            if (len == 0) len = 64;
            trail = 64 - lead - len;
            if (trail < 0) throw new InvalidDataException("corrupt chunk");
        }
        else if (lead < 0) throw new InvalidDataException("corrupt chunk");
        return r.ReadLong(64 - lead - trail) << trail;
    }

    private static (long Base, int Buckets, int W1, int W2, int W3) ReadPackedHead(ref FastBitReader r)
    {
        long bas = ReadLong(ref r);
        int buckets = (int)r.Read(2);
        if (buckets == 0) throw new InvalidDataException("corrupt chunk");
        int w1 = (int)r.Read(7), w2 = buckets >= 2 ? (int)r.Read(7) : 0, w3 = buckets == 3 ? (int)r.Read(7) : 0;
        if (w1 > 64 || w2 > 64 || w3 > 64) throw new InvalidDataException("corrupt chunk");
        return (bas, buckets, w1, w2, w3);
    }

    private static void ReadPacked(ref FastBitReader r, Span<long> dst)
    {
        if (dst.Length == 0) return;
        var (bas, buckets, w1, w2, w3) = ReadPackedHead(ref r);
        ReadPackedBody(ref r, dst, bas, buckets, w1, w2, w3);
    }

    private static void ReadPackedBody(ref FastBitReader r, Span<long> dst, long bas, int buckets, int w1, int w2, int w3)
    {
        if (buckets == 1 && w1 <= 28)
        {
            if (w1 == 0) { dst.Fill(bas); return; }
            // One width: as many values per load as fit in 57 bits.
            int per = 57 / w1, i = 0;
            ulong mask = (1UL << w1) - 1;
            for (; i + per <= dst.Length; i += per)
            {
                ulong w = r.Read(per * w1);
                for (int k = 0; k < per; k++) dst[i + k] = unchecked(bas + (long)((w >> ((per - 1 - k) * w1)) & mask));
            }
            for (; i < dst.Length; i++) dst[i] = unchecked(bas + (long)r.Read(w1));
            return;
        }
        for (int i = 0; i < dst.Length; i++)
        {
            int width = buckets == 1 || !r.ReadBit() ? w1 : buckets == 2 || !r.ReadBit() ? w2 : w3;
            dst[i] = unchecked(bas + (long)r.ReadLong(width));
        }
    }
}
