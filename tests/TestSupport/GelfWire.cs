using System.IO.Compression;
using System.Security.Cryptography;

namespace Observe.TestSupport;

/// <summary>
/// GELF datagrams as Docker's gelf log driver (Graylog2/go-gelf) writes them: the JSON compressed with gzip (its default,
/// level 1), zlib or not at all; messages longer than one datagram of 1420 bytes split into chunks of 1408 data bytes
/// behind a 12-byte header (<c>0x1e 0x0f</c>, 8 random id bytes, sequence number, count), at most 128.
/// </summary>
public static class GelfWire
{
    public const int DockerChunkSize = 1420;
    private const int HeaderBytes = 12;

    public static byte[] Compress(byte[] json, string compression)
    {
        if (compression == "none") return json;
        using var output = new MemoryStream();
        using (Stream z = compression == "gzip" ? new GZipStream(output, CompressionLevel.Fastest) : new ZLibStream(output, CompressionLevel.Fastest))
            z.Write(json);
        return output.ToArray();
    }

    /// <summary>The datagrams for one message: the payload itself when it fits, else its chunks in order.</summary>
    public static List<byte[]> Datagrams(byte[] payload, int chunkSize = DockerChunkSize, byte[]? id = null)
    {
        if (payload.Length <= chunkSize) return [payload];
        id ??= RandomNumberGenerator.GetBytes(8);
        var dataLength = chunkSize - HeaderBytes;
        var count = (payload.Length + dataLength - 1) / dataLength;
        if (count > 128) throw new ArgumentException($"{count} chunks: GELF allows 128");
        var result = new List<byte[]>(count);
        for (var i = 0; i < count; i++)
        {
            var data = payload.AsSpan(i * dataLength, Math.Min(dataLength, payload.Length - i * dataLength));
            var d = new byte[HeaderBytes + data.Length];
            d[0] = 0x1e; d[1] = 0x0f;
            id.CopyTo(d, 2);
            d[10] = (byte)i; d[11] = (byte)count;
            data.CopyTo(d.AsSpan(HeaderBytes));
            result.Add(d);
        }
        return result;
    }
}
