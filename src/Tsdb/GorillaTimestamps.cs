namespace Observe.Storage.Tsdb;

/// <summary>Chunk codec, timestamp streams (stepped or delta-of-delta): split from Gorilla.cs along its seam.</summary>
internal static partial class Gorilla
{
    // ---- timestamps ----

    /// <summary>delta/g − 1 per point after the first when every delta is positive (no overflow); else null.</summary>
    private static long[]? SteppedTimestamps(ReadOnlySpan<long> ts, out long g)
    {
        g = 0;
        if (ts.Length < 2) return null;
        var d = new long[ts.Length - 1];
        for (int i = 1; i < ts.Length; i++)
        {
            long delta = unchecked(ts[i] - ts[i - 1]);
            if (ts[i] <= ts[i - 1] || delta <= 0) return null;
            d[i - 1] = delta;
            g = Gcd(g, delta);
        }
        for (int i = 0; i < d.Length; i++) d[i] = d[i] / g - 1;
        // Keep delta-of-delta when it is smaller (irregular timestamps).
        long dod = 0, prev = 0;
        for (int i = 1; i < ts.Length; i++) { long delta = ts[i] - ts[i - 1]; dod += DodBits(delta - prev); prev = delta; }
        return LongBits(g) + PlanFor(d).CostBits <= dod ? d : null;
    }

    private static long Gcd(long a, long b) { while (b != 0) (a, b) = (b, a % b); return a; }

    private static int DodBits(long dod) => dod == 0 ? 1 : dod >= -64 && dod <= 63 ? 9 : dod >= -256 && dod <= 255 ? 12 : dod >= -2048 && dod <= 2047 ? 16 : 68;

    private static void WriteTimestamps(ref BitWriter w, ReadOnlySpan<long> ts, long[]? steps, long g)
    {
        WriteLong(ref w, ts.Length);
        if (ts.Length == 0) return;
        WriteLong(ref w, ts[0]);
        if (steps != null)
        {
            WriteLong(ref w, g);
            WritePacked(ref w, steps);
            return;
        }
        long prevTs = ts[0], prevDelta = 0;
        for (int i = 1; i < ts.Length; i++)
        {
            long delta = unchecked(ts[i] - prevTs);
            WriteDod(ref w, unchecked(delta - prevDelta));
            prevDelta = delta; prevTs = ts[i];
        }
    }

    private static void WriteDod(ref BitWriter w, long dod)
    {
        if (dod == 0) w.WriteBit(false);
        else if (dod >= -64 && dod <= 63) { w.Write(0b10, 2); w.Write((ulong)dod & 0x7F, 7); }
        else if (dod >= -256 && dod <= 255) { w.Write(0b110, 3); w.Write((ulong)dod & 0x1FF, 9); }
        else if (dod >= -2048 && dod <= 2047) { w.Write(0b1110, 4); w.Write((ulong)dod & 0xFFF, 12); }
        else { w.Write(0b1111, 4); w.Write((ulong)dod, 64); }
    }
}
