using System.Buffers.Binary;
using System.Text;
using Observe.Common;
using static Observe.Common.BinaryCodec;

namespace Observe.Storage.Tsdb;

/// <summary>
/// Many series' names as one checksummed blob (a row of <c>series_block</c>, docs/storage.md): consecutive ids from the row's
/// <c>first_id</c>, each name front-coded against the one before (a write's new names come in the collector's order, so a
/// timer's fourteen share all but their last segment).
/// <c>"SB" 1 0 | count u32 | payloadLen u32 | crc32 u32 | payload</c>: per name <c>varint shared | varint rest | rest bytes</c>
/// (UTF-8; a lone surrogate is stored as U+FFFD, as binding it as text did).
/// </summary>
internal static class SeriesNameBlock
{
    private const byte Version = 1;
    private const int HeaderBytes = 16;

    /// <summary>
    /// The block of up to <paramref name="maxCount"/> series' names from <paramref name="start"/> (<paramref name="count"/> of
    /// them: it ends once its payload passes <paramref name="maxBytes"/>), built in <paramref name="scratch"/> (grown as needed
    /// and kept by the caller, as <paramref name="names"/>, which holds the UTF-8 of two names). Their ids must be consecutive.
    /// </summary>
    public static ReadOnlySpan<byte> Encode(List<TimeSeriesStore.SeriesState> series, int start, int maxCount, int maxBytes, ref byte[] scratch, ref byte[] names, out int count)
    {
        int p = HeaderBytes, prevLen = 0;
        bool curFirst = true; // which half of `names` holds the current name (the other the previous)
        int firstId = series[start].Id;
        count = 0;
        for (int i = start; i < start + maxCount && p - HeaderBytes < maxBytes; i++, count++)
        {
            // The row names only the first id: the others follow from it.
            if (series[i].Id != firstId + (i - start)) throw new InvalidOperationException($"series {series[i].Name}: id {series[i].Id} does not follow {firstId} + {i - start}");
            var name = series[i].Name;
            int max = Encoding.UTF8.GetMaxByteCount(name.Length);
            if (names.Length < 2 * max)
            {
                var bigger = new byte[Math.Max(2 * max, names.Length * 2)];
                // The previous name moves along into the new half that is not the current one.
                names.AsSpan(curFirst ? names.Length / 2 : 0, prevLen).CopyTo(bigger.AsSpan(curFirst ? bigger.Length / 2 : 0));
                names = bigger;
            }
            int half = names.Length / 2;
            var cur = names.AsSpan(curFirst ? 0 : half, half);
            var prev = names.AsSpan(curFirst ? half : 0, prevLen);
            int len = Encoding.UTF8.GetBytes(name, cur);
            int shared = cur[..Math.Min(len, prevLen)].CommonPrefixLength(prev);
            if (scratch.Length - p < 20 + len - shared) Array.Resize(ref scratch, Math.Max(scratch.Length * 2, p + 20 + len - shared));
            p += WriteVarint(scratch.AsSpan(p), (ulong)shared);
            p += WriteVarint(scratch.AsSpan(p), (ulong)(len - shared));
            cur[shared..len].CopyTo(scratch.AsSpan(p));
            p += len - shared;
            prevLen = len;
            curFirst = !curFirst;
        }
        var s = scratch.AsSpan();
        s[0] = (byte)'S'; s[1] = (byte)'B'; s[2] = Version; s[3] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], (uint)count);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], (uint)(p - HeaderBytes));
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], Crc32.Compute(s[HeaderBytes..p]));
        return s[..p];
    }

    /// <summary>Each name of a block with its place in it (id − first id); its count. <see cref="InvalidDataException"/> when it does not verify.</summary>
    public static int Decode(byte[] data, Action<int, string> each)
    {
        if (data.Length < HeaderBytes || data[0] != 'S' || data[1] != 'B' || data[2] != Version)
            throw new InvalidDataException("series block: bad header");
        int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(4));
        int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(8));
        if (len != data.Length - HeaderBytes || BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(12)) != Crc32.Compute(data.AsSpan(HeaderBytes, len)))
            throw new InvalidDataException("series block: length or checksum does not verify");
        var name = new byte[256];
        int p = HeaderBytes, nameLen = 0;
        for (int i = 0; i < count; i++)
        {
            ulong shared = ReadVarint(data, ref p), rest = ReadVarint(data, ref p);
            if (shared > (ulong)nameLen || rest > (ulong)(data.Length - p)) throw new InvalidDataException("series block: a name runs past its block");
            int n = (int)shared + (int)rest;
            if (name.Length < n) Array.Resize(ref name, Math.Max(n, name.Length * 2));
            data.AsSpan(p, (int)rest).CopyTo(name.AsSpan((int)shared));
            p += (int)rest;
            nameLen = n;
            each(i, Encoding.UTF8.GetString(name, 0, n));
        }
        if (p != data.Length) throw new InvalidDataException("series block: bytes after its last name");
        return count;
    }
}
