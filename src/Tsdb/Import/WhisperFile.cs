using System.Buffers.Binary;

namespace Observe.Storage.Import;

/// <summary>One archive's header: where its ring of points starts, its step and its slot count.</summary>
internal readonly record struct WhisperArchiveInfo(long Offset, long SecondsPerPoint, long Points)
{
    public long Retention => SecondsPerPoint * Points;
}

/// <summary>
/// A whisper file's header (graphite-project/whisper whisper.py): metadata <c>!2LfL</c> (aggregation type, max retention,
/// xFilesFactor, archive count), then per archive <c>!3L</c> (offset, seconds per point, points); the archives hold
/// <c>!Ld</c> points (big-endian u32 timestamp, f64 value) as ring buffers.
/// </summary>
internal sealed record WhisperHeader(int AggregationType, long MaxRetention, float XFilesFactor, WhisperArchiveInfo[] Archives)
{
    public const int MetadataSize = 16, ArchiveInfoSize = 12, PointSize = 12;
    /// <summary>More archives than the store has levels cannot be kept apart anyway (whisper itself has no limit).</summary>
    public const int MaxArchives = 16;

    /// <summary>The header, checked against the file's length; <see cref="InvalidDataException"/> says what is wrong.</summary>
    public static WhisperHeader Read(ReadOnlySpan<byte> file)
    {
        if (file.Length < MetadataSize) throw new InvalidDataException($"{file.Length} bytes: shorter than a whisper header");
        int agg = (int)BinaryPrimitives.ReadUInt32BigEndian(file);
        long maxRetention = BinaryPrimitives.ReadUInt32BigEndian(file[4..]);
        float xff = BinaryPrimitives.ReadSingleBigEndian(file[8..]);
        long count = BinaryPrimitives.ReadUInt32BigEndian(file[12..]);
        if (count is < 1 or > MaxArchives) throw new InvalidDataException($"{count} archives (1 to {MaxArchives} are read)");
        if (file.Length < MetadataSize + count * ArchiveInfoSize) throw new InvalidDataException("truncated archive list");
        var archives = new WhisperArchiveInfo[count];
        for (int i = 0; i < count; i++)
        {
            var at = file[(MetadataSize + i * ArchiveInfoSize)..];
            var a = new WhisperArchiveInfo(BinaryPrimitives.ReadUInt32BigEndian(at), BinaryPrimitives.ReadUInt32BigEndian(at[4..]), BinaryPrimitives.ReadUInt32BigEndian(at[8..]));
            if (a.SecondsPerPoint < 1 || a.Points < 1) throw new InvalidDataException($"archive {i}: {a.SecondsPerPoint} s per point, {a.Points} points");
            if (a.Offset < MetadataSize + count * ArchiveInfoSize || a.Offset + a.Points * PointSize > file.Length)
                throw new InvalidDataException($"archive {i}: points at {a.Offset}..{a.Offset + a.Points * PointSize} outside the file's {file.Length} bytes");
            archives[i] = a;
        }
        return new WhisperHeader(agg, maxRetention, xff, archives);
    }

    /// <summary>
    /// The archive's live points into <paramref name="ts"/>/<paramref name="values"/> (each at least <c>Points</c> long);
    /// returns how many. Empty slots (timestamp 0), unaligned ones, and stale ones left from an earlier turn of the ring
    /// (older than the newest point minus the archive's span: whisper's fetch never returns them) are left out.
    /// </summary>
    public static int ReadPoints(ReadOnlySpan<byte> file, WhisperArchiveInfo a, Span<long> ts, Span<double> values)
    {
        var ring = file.Slice((int)a.Offset, (int)(a.Points * PointSize));
        long newest = 0;
        for (int i = 0; i < ring.Length; i += PointSize) newest = Math.Max(newest, BinaryPrimitives.ReadUInt32BigEndian(ring[i..]));
        long oldest = newest - a.Retention;
        int n = 0;
        for (int i = 0; i < ring.Length; i += PointSize)
        {
            long t = BinaryPrimitives.ReadUInt32BigEndian(ring[i..]);
            if (t == 0 || t <= oldest || t % a.SecondsPerPoint != 0) continue;
            ts[n] = t;
            values[n] = BinaryPrimitives.ReadDoubleBigEndian(ring[(i + 4)..]);
            n++;
        }
        return n;
    }

    /// <summary>whisper's aggregationTypeToMethod (6–8 are newer whisper methods Observe has no rollup for).</summary>
    public string AggregationMethod => AggregationType switch
    {
        1 => "average",
        2 => "sum",
        3 => "last",
        4 => "max",
        5 => "min",
        6 => "avg_zero",
        7 => "absmax",
        8 => "absmin",
        _ => $"unknown ({AggregationType})",
    };
}
