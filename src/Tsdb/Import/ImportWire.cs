using System.Buffers.Binary;
using System.Text;
using Observe.Storage.Tsdb;

namespace Observe.Storage.Import;

/// <summary>
/// The body of <c>POST /api/import/whisper</c> (little-endian): <c>"OWI1"</c>, then per series
/// <c>u16 name length | name (UTF-8) | u8 n | n × u32 step of every archive of the file | u8 m | m × (u32 step | u32 count | count × (u32 ts | f64 value))</c>.
/// Twelve bytes a point as in the whisper file, empty slots left out. The client may split one file over several
/// requests (whole archives, or an archive in day-aligned slices).
/// </summary>
internal static class ImportWire
{
    public static ReadOnlySpan<byte> Magic => "OWI1"u8;
    public const int MaxNameBytes = 1024;
    /// <summary>Series one request may carry (each costs a few SQLite reads in the request's transaction).</summary>
    public const int MaxSeriesPerRequest = 10_000;

    public static int SizeOf(string name, int fileArchives, IReadOnlyList<(long Step, int Count)> parts) =>
        2 + Encoding.UTF8.GetByteCount(name) + 1 + 4 * fileArchives + 1 + parts.Sum(p => 8 + 12 * p.Count);

    /// <summary>Appends one series record.</summary>
    public static void Write(Stream body, string name, ReadOnlySpan<long> fileSteps, IReadOnlyList<(long Step, ReadOnlyMemory<long> Ts, ReadOnlyMemory<double> Values)> archives)
    {
        Span<byte> b = stackalloc byte[12];
        var nameBytes = Encoding.UTF8.GetBytes(name);
        BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)nameBytes.Length);
        body.Write(b[..2]);
        body.Write(nameBytes);
        body.WriteByte((byte)fileSteps.Length);
        foreach (var s in fileSteps) { BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)s); body.Write(b[..4]); }
        body.WriteByte((byte)archives.Count);
        foreach (var (step, ts, values) in archives)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)step);
            BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)ts.Length);
            body.Write(b[..8]);
            for (int i = 0; i < ts.Length; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)ts.Span[i]);
                BinaryPrimitives.WriteDoubleLittleEndian(b[4..], values.Span[i]);
                body.Write(b);
            }
        }
    }

    /// <summary>Parses a request body; <see cref="FormatException"/> names the first problem (nothing is imported then).</summary>
    public static List<ImportSeries> Read(ReadOnlySpan<byte> body)
    {
        if (!body.StartsWith(Magic)) throw new FormatException("not an import body (it starts with \"OWI1\")");
        var list = new List<ImportSeries>();
        int p = Magic.Length;
        ReadOnlySpan<byte> Take(ReadOnlySpan<byte> src, ref int at, int n)
        {
            if (n < 0 || at + n > src.Length) throw new FormatException($"series {list.Count + 1}: truncated at byte {at}");
            var s = src.Slice(at, n);
            at += n;
            return s;
        }
        while (p < body.Length)
        {
            if (list.Count >= MaxSeriesPerRequest) throw new ImportLimitException($"more than {MaxSeriesPerRequest} series in one request");
            int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(Take(body, ref p, 2));
            if (nameLen is 0 or > MaxNameBytes) throw new FormatException($"series {list.Count + 1}: name of {nameLen} bytes (1 to {MaxNameBytes})");
            string name;
            try { name = new UTF8Encoding(false, true).GetString(Take(body, ref p, nameLen)); }
            catch (DecoderFallbackException) { throw new FormatException($"series {list.Count + 1}: name is not UTF-8"); }
            foreach (var c in name)
                if (char.IsWhiteSpace(c) || char.IsControl(c)) throw new FormatException($"series '{name}': whitespace or control character in the name");
            int n = Take(body, ref p, 1)[0];
            if (n is 0 or > WhisperHeader.MaxArchives) throw new FormatException($"series '{name}': {n} archives (1 to {WhisperHeader.MaxArchives})");
            var steps = new long[n];
            for (int i = 0; i < n; i++)
                if ((steps[i] = BinaryPrimitives.ReadUInt32LittleEndian(Take(body, ref p, 4))) == 0) throw new FormatException($"series '{name}': step 0");
            int m = Take(body, ref p, 1)[0];
            if (m > n) throw new FormatException($"series '{name}': {m} archive parts for a file of {n}");
            var archives = new ImportArchive[m];
            for (int j = 0; j < m; j++)
            {
                var h = Take(body, ref p, 8);
                long step = BinaryPrimitives.ReadUInt32LittleEndian(h);
                long count = BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
                if (Array.IndexOf(steps, step) < 0) throw new FormatException($"series '{name}': part of step {step} that the file does not have");
                if (count > (body.Length - p) / 12) throw new FormatException($"series '{name}': {count} points but only {body.Length - p} bytes left");
                var pts = Take(body, ref p, (int)count * 12);
                var ts = new long[count];
                var vs = new double[count];
                for (int i = 0; i < count; i++)
                {
                    ts[i] = BinaryPrimitives.ReadUInt32LittleEndian(pts[(i * 12)..]);
                    vs[i] = BinaryPrimitives.ReadDoubleLittleEndian(pts[(i * 12 + 4)..]);
                }
                archives[j] = new ImportArchive(step, ts, vs);
            }
            list.Add(new ImportSeries(name, steps, archives));
        }
        return list;
    }
}

/// <summary>A request beyond one of the import's own bounds (counted under its key).</summary>
internal sealed class ImportLimitException(string message) : FormatException(message);
