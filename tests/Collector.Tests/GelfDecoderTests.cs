using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Observe.Collector.Logs;
using Observe.TestSupport;

namespace Observe.Collector.Tests;

public class GelfDecoderTests
{
    private sealed class Recorder : IDisposable
    {
        public readonly List<string> Payloads = [];
        public readonly List<LogRejectReason> Rejects = [];
        public readonly ManualTimeProvider Clock = new();
        public readonly GelfDecoder Decoder;

        public Recorder(int maxMessageBytes = 1 << 20, int maxPending = 100) =>
            Decoder = new GelfDecoder(maxMessageBytes, 5000, maxPending, Clock, json => Payloads.Add(Encoding.UTF8.GetString(json)), Rejects.Add);

        public void Dispose() => Decoder.Dispose();
    }

    private static string Message(int size, int seed) =>
        $$"""{"version":"1.1","host":"h","short_message":"m{{seed}}","_pad":"{{new string((char)('a' + seed % 26), size)}}"}""";

    /// <summary>Any order of a message's chunks, with any of them repeated, reassembles to exactly the message, once.</summary>
    [Property(MaxTest = 300)]
    public Property ChunksInAnyOrderReassemble() =>
        Prop.ForAll(
            (from size in Gen.Choose(1, 40_000)
             from compression in Gen.Elements("gzip", "zlib", "none")
             from chunkSize in Gen.Choose(20, 1420)
             from shuffle in ArbMap.Default.GeneratorFor<int[]>()
             select (size, compression, chunkSize, shuffle)).ToArbitrary(),
            c =>
            {
                var (size, compression, chunkSize, shuffle) = c;
                using var r = new Recorder();
                var json = Message(size, size);
                var payload = GelfWire.Compress(Encoding.UTF8.GetBytes(json), compression);
                if ((payload.Length + chunkSize - 13) / (chunkSize - 12) > GelfDecoder.MaxChunks) return true; // not sendable: senders refuse
                var datagrams = GelfWire.Datagrams(payload, chunkSize);
                // Shuffle by the random keys; repeat a few chunks (UDP may duplicate).
                var order = datagrams.Select((d, i) => (d, key: shuffle.Length > 0 ? shuffle[i % shuffle.Length] ^ i * 7919 : i)).OrderBy(x => x.key).Select(x => x.d).ToList();
                if (shuffle.Length > 0 && order.Count > 1) order.Insert(Math.Abs(shuffle[0] % order.Count), order[^1]);
                foreach (var d in order) r.Decoder.HandleDatagram(d);
                var ok = r.Payloads.Count == 1 && r.Payloads[0] == json && r.Rejects.Count == 0 && r.Decoder.PendingMessages == 0;
                if (!ok) throw new Xunit.Sdk.XunitException($"size {size} {compression} chunk {chunkSize} ({datagrams.Count} datagrams): " +
                    $"{r.Payloads.Count} payloads, rejects [{string.Join(",", r.Rejects)}], {r.Decoder.PendingMessages} pending");
                return ok;
            });

    [Fact]
    public void Interleaved_messages_are_kept_apart_by_their_id()
    {
        using var r = new Recorder();
        var a = GelfWire.Datagrams(GelfWire.Compress(Encoding.UTF8.GetBytes(Message(5000, 1)), "gzip"), 500);
        var b = GelfWire.Datagrams(GelfWire.Compress(Encoding.UTF8.GetBytes(Message(5000, 2)), "zlib"), 500);
        for (var i = 0; i < Math.Max(a.Count, b.Count); i++)
        {
            if (i < b.Count) r.Decoder.HandleDatagram(b[b.Count - 1 - i]);
            if (i < a.Count) r.Decoder.HandleDatagram(a[i]);
        }
        Assert.Equal(new[] { Message(5000, 1), Message(5000, 2) }.Order(), r.Payloads.Order());
    }

    [Fact]
    public void A_message_with_a_missing_chunk_is_dropped_and_counted_after_the_timeout()
    {
        using var r = new Recorder();
        var datagrams = GelfWire.Datagrams(Encoding.UTF8.GetBytes(Message(5000, 3)), 1000);
        foreach (var d in datagrams.Where((_, i) => i != 2)) r.Decoder.HandleDatagram(d);
        r.Clock.Advance(TimeSpan.FromSeconds(4.5));
        Assert.Empty(r.Rejects);
        Assert.Equal(1, r.Decoder.PendingMessages);
        r.Clock.Advance(TimeSpan.FromSeconds(1.5));
        Assert.Equal([LogRejectReason.ChunkTimeout], r.Rejects);
        Assert.Equal(0, r.Decoder.PendingMessages);
        // The missing chunk arriving late starts a new message that will itself time out: nothing is delivered.
        r.Decoder.HandleDatagram(datagrams[2]);
        Assert.Empty(r.Payloads);
    }

    [Fact]
    public void Bad_chunks_are_counted()
    {
        using var r = new Recorder();
        byte[] Chunk(byte seq, byte count) => [0x1e, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8, seq, count, (byte)'{'];
        r.Decoder.HandleDatagram(Chunk(0, 129)); // more than 128 chunks
        r.Decoder.HandleDatagram(Chunk(0, 0));
        r.Decoder.HandleDatagram(Chunk(3, 3));   // sequence number beyond the count
        r.Decoder.HandleDatagram([0x1e, 0x0f, 1, 2]); // truncated header
        Assert.Equal(4, r.Rejects.Count(x => x == LogRejectReason.BadChunk));
        Assert.Empty(r.Payloads);
    }

    [Fact]
    public void Corrupt_compression_and_oversized_messages_are_counted()
    {
        using var r = new Recorder(maxMessageBytes: 10_000);
        var gz = GelfWire.Compress(Encoding.UTF8.GetBytes(Message(100, 4)), "gzip");
        gz[gz.Length / 2] ^= 0xff;
        gz[gz.Length / 2 + 1] ^= 0xff;
        r.Decoder.HandleDatagram(gz);
        r.Decoder.HandleDatagram(GelfWire.Compress(Encoding.UTF8.GetBytes(Message(50_000, 5)), "zlib")); // a small bomb: 50 kB from a few hundred bytes
        Assert.Equal([LogRejectReason.BadCompression, LogRejectReason.TooLarge], r.Rejects);
        Assert.Empty(r.Payloads);
    }

    /// <summary>
    /// A zlib header asking for a preset dictionary (FDICT, <c>0x78 0xbb</c>): zlib answers Z_NEED_DICT, which .NET
    /// throws as a ZLibException, not an InvalidDataException; the soak met it in random bytes over GELF TCP, where it
    /// escaped the decoder as an ERR with a stack instead of a counted reject.
    /// </summary>
    [Fact]
    public void A_zlib_stream_asking_for_a_dictionary_is_bad_compression()
    {
        using var r = new Recorder();
        r.Decoder.HandleDatagram([0x78, 0xbb, 0x12, 0x34, 0x56, 0x78, 0x01, 0x02, 0x03]);
        Assert.Equal([LogRejectReason.BadCompression], r.Rejects);
        Assert.Empty(r.Payloads);
    }

    [Fact]
    public void Too_many_pending_messages_drop_the_oldest()
    {
        using var r = new Recorder(maxPending: 2);
        var messages = Enumerable.Range(0, 3).Select(i => GelfWire.Datagrams(Encoding.UTF8.GetBytes(Message(3000, i)), 1000)).ToList();
        foreach (var m in messages) r.Decoder.HandleDatagram(m[0]);
        Assert.Equal([LogRejectReason.ChunkOverflow], r.Rejects);
        foreach (var m in messages.Skip(1)) foreach (var d in m.Skip(1)) r.Decoder.HandleDatagram(d);
        Assert.Equal(new[] { Message(3000, 1), Message(3000, 2) }, r.Payloads);
    }
}
